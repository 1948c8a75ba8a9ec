/**
 * Runs hash tasks on all cores: one worker thread per core reads and hashes with
 * synchronous I/O into a reused buffer (measured faster than the libuv pool with async
 * reads for the many small files of OS trees). `threads: 0` runs them inline (tests).
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runHashTask, type HashResult, type HashTask } from './hashTask.js';

const BATCH_FILES = 64;
const BATCH_BYTES = 8n << 20n;

function workerPath(): string {
  const here = fileURLToPath(new URL('./hashWorker.js', import.meta.url));
  if (existsSync(here)) return here;
  // Running from src/ under jest: the compiled worker of `make build`.
  return fileURLToPath(new URL('../../dist/hash/hashWorker.js', import.meta.url));
}

export class HashPool {
  private workers: Worker[] = [];

  constructor(readonly threads: number) {
    for (let i = 0; i < threads; i++) this.workers.push(new Worker(workerPath()));
  }

  /** Runs the tasks; `onResult` is called once per task, in no particular order. */
  async run(tasks: HashTask[], onResult: (index: number, result: HashResult) => void): Promise<void> {
    if (this.threads === 0) {
      tasks.forEach((t, i) => onResult(i, runHashTask(t)));
      return;
    }
    let next = 0;
    const takeBatch = (): number[] => {
      const batch: number[] = [];
      let bytes = 0n;
      while (next < tasks.length && batch.length < BATCH_FILES && bytes < BATCH_BYTES) {
        bytes += tasks[next].kind === 'full' ? tasks[next].size : 8192n;
        batch.push(next++);
      }
      return batch;
    };
    await Promise.all(
      this.workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            let current: number[] = [];
            const send = () => {
              current = takeBatch();
              if (current.length === 0) {
                worker.off('message', onMessage);
                worker.off('error', reject);
                resolve();
                return;
              }
              worker.postMessage({ id: 0, tasks: current.map((i) => tasks[i]) });
            };
            const onMessage = (msg: { results: HashResult[] }) => {
              msg.results.forEach((r, k) => onResult(current[k], r));
              send();
            };
            worker.on('message', onMessage);
            worker.on('error', reject);
            send();
          }),
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
