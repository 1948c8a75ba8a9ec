/**
 * The reading work that needs every core, run by the addon on libuv's pool, `threads`
 * requests at a time: the scan's directory listings (src/scan/scanParallel.ts) and the
 * hashing of batches of rows (here), which read the scan table's columns in place. No thread
 * of ours to start (a Node worker cost ~55 ms of CPU to boot), no message per batch.
 * `threads: 0` runs everything inline (tests). The pool's size (one thread a core, at least 4)
 * is set by the installed command before node starts (the shell line at the top of src/cli.ts).
 */
import { hashRows, hashRowsAsync, type BatchResult, type HashKind } from '../hash/hashRows.js';
import type { FileTable } from '../scan/fileTable.js';

/** Rows to hash in one request; for 'compare', candidate groups ending at `ends` (see hashRows). */
export interface HashBatch {
  rows: Int32Array;
  ends?: Int32Array;
}

/** Requests queued per thread: a thread done with one finds the next already waiting while this one takes in the result. */
const IN_FLIGHT = 2;

const BATCH_ROWS = 256;
const BATCH_BYTES = 16n << 20n;

/**
 * Keeps up to `threads` jobs of `next` running (`start` hands one to libuv's pool) until
 * `next` has none while none runs: `onDone` may make more (the scan's subdirectories). A
 * job's successor is started before its result is taken in, so the pool does not wait for
 * this thread. Settles only once no job runs any more, also when a job or `onDone` fails
 * (with its error): the caller may close what the jobs read beneath right after.
 */
export function runQueued<J, R>(threads: number, next: () => J | undefined, start: (job: J) => Promise<R>, onDone: (job: J, result: R) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending = 0;
    let failure: { err: unknown } | undefined;
    const settle = () => {
      if (pending > 0) return;
      if (failure) reject(failure.err);
      else resolve();
    };
    const failed = (err: unknown) => {
      failure ??= { err };
    };
    const fill = () => {
      const full = () => failure !== undefined || pending >= threads * IN_FLIGHT;
      for (let job = full() ? undefined : next(); job !== undefined; job = full() ? undefined : next()) {
        const j = job;
        pending++;
        let run: Promise<R>;
        try {
          run = start(j);
        } catch (err) {
          run = Promise.reject(err);
        }
        run.then(
          (r) => {
            pending--;
            fill();
            try {
              if (!failure) onDone(j, r);
            } catch (err) {
              failed(err);
            }
            fill();
            settle();
          },
          (err) => {
            pending--;
            failed(err);
            settle();
          },
        );
      }
    };
    fill();
    settle();
  });
}

export class WorkerPool {
  constructor(readonly threads: number) {}

  /**
   * Runs `kind` on every row of `table`; `onBatch` gets each batch's rows and result, in no
   * particular order. The table must not grow while this runs.
   */
  async hash(table: FileTable, rows: ArrayLike<number> & { slice(s: number, e: number): ArrayLike<number> }, kind: HashKind, algorithm: string, onBatch: (rows: Int32Array, result: BatchResult) => void): Promise<void> {
    let next = 0;
    const take = (): HashBatch | undefined => {
      if (next >= rows.length) return undefined;
      let bytes = 0n;
      const start = next;
      while (next < rows.length && next - start < BATCH_ROWS && bytes < BATCH_BYTES) {
        bytes += kind === 'full' ? table.size[rows[next]] + 4096n : 8192n;
        next++;
      }
      return { rows: Int32Array.from(rows.slice(start, next)) };
    };
    await this.run(table, take, kind, algorithm, onBatch);
  }

  /** Runs `kind` on batches made by the caller (a 'compare' batch holds whole candidate groups). */
  async hashBatches(table: FileTable, batches: Iterator<HashBatch, void, undefined>, kind: HashKind, algorithm: string, onBatch: (rows: Int32Array, result: BatchResult) => void): Promise<void> {
    await this.run(table, () => batches.next().value ?? undefined, kind, algorithm, onBatch);
  }

  /**
   * Batches on libuv's pool (native/hash.c), `threads` at a time: no thread of ours to start,
   * no message per batch. A batch's successor is queued before its results are taken in, so
   * the pool's threads do not wait for this one. Settles only once no batch runs any more (the
   * caller closes the roots' descriptors next), also when `onBatch` throws.
   */
  private async run(table: FileTable, take: () => HashBatch | undefined, kind: HashKind, algorithm: string, onBatch: (rows: Int32Array, result: BatchResult) => void): Promise<void> {
    if (this.threads === 0) {
      for (let b = take(); b; b = take()) onBatch(b.rows, hashRows(table, b.rows, kind, algorithm, b.ends));
      return;
    }
    await runQueued(
      this.threads,
      take,
      (b) => hashRowsAsync(table, b.rows, kind, algorithm, b.ends),
      (b, r) => onBatch(b.rows, r),
    );
  }
}
