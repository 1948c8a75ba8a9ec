/**
 * Runs hashing on all cores: one worker thread per core reads with synchronous I/O into a
 * reused buffer. The workers see the scanned FileTable through shared memory; a batch is a
 * list of row numbers and its result a few flat arrays, and each worker keeps two batches
 * queued so it never waits for the main thread. `threads: 0` runs inline (tests).
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hashRows, type BatchResult, type HashKind } from './hashTask.js';
import type { FileTable } from '../scan/fileTable.js';

const BATCH_ROWS = 256;
const BATCH_BYTES = 16n << 20n;
const IN_FLIGHT = 2;

function workerPath(): string {
  const here = fileURLToPath(new URL('./hashWorker.js', import.meta.url));
  if (existsSync(here)) return here;
  // Running from src/ under jest: the compiled worker of `make build`.
  return fileURLToPath(new URL('../../dist/hash/hashWorker.js', import.meta.url));
}

export class HashPool {
  private workers: Worker[] = [];
  private shared?: FileTable;

  constructor(readonly threads: number) {
    for (let i = 0; i < threads; i++) this.workers.push(new Worker(workerPath()));
  }

  /**
   * Runs `kind` on every row; `onBatch` gets each batch's rows and result, in no particular
   * order. The table must not grow while this runs.
   */
  async run(table: FileTable, rows: number[], kind: HashKind, algorithm: string, onBatch: (rows: Int32Array, result: BatchResult) => void): Promise<void> {
    if (rows.length === 0) return;
    let next = 0;
    const take = (): Int32Array | undefined => {
      if (next >= rows.length) return undefined;
      let bytes = 0n;
      const start = next;
      while (next < rows.length && next - start < BATCH_ROWS && bytes < BATCH_BYTES) {
        bytes += kind === 'full' ? table.size[rows[next]] + 4096n : 8192n;
        next++;
      }
      return Int32Array.from(rows.slice(start, next));
    };
    if (this.threads === 0) {
      for (let b = take(); b; b = take()) onBatch(b, hashRows(table, b, kind, algorithm));
      return;
    }
    if (this.shared !== table) {
      for (const w of this.workers) w.postMessage({ table: table.share() });
      this.shared = table;
    }
    let id = 0;
    await Promise.all(
      this.workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const pending = new Map<number, Int32Array>();
            const send = () => {
              const batch = take();
              if (!batch) return;
              const n = id++;
              pending.set(n, batch);
              worker.postMessage({ batch: n, rows: batch, kind, algorithm });
            };
            const onMessage = (msg: { batch: number; result: BatchResult }) => {
              const batch = pending.get(msg.batch)!;
              pending.delete(msg.batch);
              onBatch(batch, msg.result);
              send();
              if (pending.size === 0) finish();
            };
            const finish = () => {
              worker.off('message', onMessage);
              worker.off('error', reject);
              resolve();
            };
            worker.on('message', onMessage);
            worker.on('error', reject);
            for (let k = 0; k < IN_FLIGHT; k++) send();
            if (pending.size === 0) finish();
          }),
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
