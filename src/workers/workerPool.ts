/**
 * The two jobs that need every core: walking subtrees (scan: one worker thread per core,
 * synchronous I/O inside, handing back FileTables in shared memory, two requests queued so
 * it never waits for the main thread) and reading and hashing files (hash: batches of rows
 * run by the addon on libuv's pool, `threads` at a time, reading the table's columns in
 * place; no thread of ours to start). `threads: 0` runs everything inline (tests).
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { hashRows, hashRowsAsync, type BatchResult, type HashKind } from '../hash/hashRows.js';
import { FileTable, type TableShare } from '../scan/fileTable.js';
import { newCounts, walk, type DirTask, type ScanCounts, type WalkContext } from '../scan/walk.js';
import type { ToWorker } from './worker.js';

/** Rows to hash in one request; for 'compare', candidate groups ending at `ends` (see hashRows). */
export interface HashBatch {
  rows: Int32Array;
  ends?: Int32Array;
}

// libuv's pool (hashing) has 4 threads unless told before its first use: one a core, if more.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism()));

/** Subtree runs per scanning thread: enough to even out uneven subtrees. */
const SCAN_RUNS_PER_THREAD = 8;

const BATCH_ROWS = 256;
const BATCH_BYTES = 16n << 20n;
/** Requests queued per worker; a scanning worker reuses as many tables in turn (worker.ts). */
const IN_FLIGHT = 2;

function workerPath(): string {
  const here = fileURLToPath(new URL('./worker.js', import.meta.url));
  if (existsSync(here)) return here;
  // Running from src/ under jest: the compiled worker of `make build`.
  return fileURLToPath(new URL('../../dist/workers/worker.js', import.meta.url));
}

/** Sends requests to one worker, keeping up to IN_FLIGHT queued, until `next` has no more. */
function drive<T>(worker: Worker, next: () => ToWorker | undefined, onReply: (msg: T) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending = 0;
    const send = () => {
      const msg = next();
      if (!msg) return;
      pending++;
      worker.postMessage(msg);
    };
    let done = false;
    const finish = () => {
      done = true;
      worker.off('message', onMessage);
      worker.off('error', reject);
      resolve();
    };
    const onMessage = (msg: T) => {
      pending--;
      try {
        onReply(msg);
      } catch (err) {
        worker.off('message', onMessage);
        reject(err);
        return;
      }
      send();
      if (pending === 0) finish();
    };
    worker.on('message', onMessage);
    worker.on('error', reject);
    // One request now; the rest once every worker has had its first, so that a few large
    // requests are spread over the workers instead of queueing on the first one.
    send();
    if (pending === 0) return finish();
    setImmediate(() => {
      for (let k = 1; k < IN_FLIGHT && !done; k++) send();
    });
  });
}

export class WorkerPool {
  private started: Worker[] = [];

  constructor(readonly threads: number) {}

  /**
   * The threads, started at the first request: a pool with nothing to do (a re-plan whose
   * every digest is cached) costs no thread start-up (~50 ms of CPU each).
   */
  private get workers(): Worker[] {
    this.start();
    return this.started;
  }

  /** Starts the threads now (the scan: they come up while the top levels are read). */
  start(): void {
    if (this.started.length === 0) for (let i = 0; i < this.threads; i++) this.started.push(new Worker(workerPath()));
  }

  /**
   * Walks the subtrees, sharing them out; `onSubtree` gets each subtree's rows (a table to
   * copy from, then drop) and counts as it finishes.
   */
  async scan(
    tasks: DirTask[],
    ctx: WalkContext,
    patterns: string[],
    onSubtree: (table: FileTable, counts: ScanCounts) => void,
    onWarning: (m: string) => void,
  ): Promise<void> {
    if (this.threads === 0) {
      const table = new FileTable();
      const counts = newCounts();
      walk(tasks, { ...ctx, warn: onWarning }, table, counts);
      onSubtree(table, counts);
      return;
    }
    const init: ToWorker = {
      scanInit: { roots: ctx.roots, rootFds: ctx.rootFds, skip: ctx.skip, minSize: ctx.minSize, exclude: patterns },
    };
    for (const w of this.workers) w.postMessage(init);
    // Runs of consecutive subtrees, a few per thread: each run costs one table and one
    // message each way, whatever its number of directories.
    const runLength = Math.ceil(tasks.length / (this.threads * SCAN_RUNS_PER_THREAD));
    let next = 0;
    const nextRun = (): ToWorker | undefined => {
      if (next >= tasks.length) return undefined;
      const run = tasks.slice(next, (next += runLength));
      return { scanDir: { id: next, dirs: run.map((t) => t.dir), roots: run.map((t) => t.root) } };
    };
    await Promise.all(
      this.workers.map((w) =>
        drive<{ table: TableShare; counts: ScanCounts; warnings: string[] }>(
          w,
          nextRun,
          (msg) => {
            msg.warnings.forEach(onWarning);
            onSubtree(FileTable.fromShare(msg.table), msg.counts);
          },
        ),
      ),
    );
  }

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
  async hashBatches(table: FileTable, batches: HashBatch[], kind: HashKind, algorithm: string, onBatch: (rows: Int32Array, result: BatchResult) => void): Promise<void> {
    let next = 0;
    await this.run(table, () => batches[next++], kind, algorithm, onBatch);
  }

  /** Threads running now. */
  get running(): number {
    return this.started.length;
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
    await new Promise<void>((resolve, reject) => {
      let pending = 0;
      let failure: { err: unknown } | undefined;
      const settle = () => {
        if (pending > 0) return;
        if (failure) reject(failure.err);
        else resolve();
      };
      const fail = (err: unknown) => {
        failure ??= { err };
      };
      const send = () => {
        const b = failure ? undefined : take();
        if (!b) return;
        pending++;
        hashRowsAsync(table, b.rows, kind, algorithm, b.ends).then(
          (r) => {
            pending--;
            send();
            try {
              if (!failure) onBatch(b.rows, r);
            } catch (err) {
              fail(err);
            }
            settle();
          },
          (err) => {
            pending--;
            fail(err);
            settle();
          },
        );
      };
      for (let k = 0; k < this.threads; k++) send();
      settle();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.started.map((w) => w.terminate()));
    this.started = [];
  }
}
