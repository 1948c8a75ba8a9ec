/**
 * Hashes every listed entry on every core: batches (at most 64 entries or 16 MiB each) go to
 * one worker thread per core, two in flight per worker, so a few large entries do not leave
 * a core idle behind many small ones. Workers open the entries through the store's root
 * descriptor, which they share with the main thread. `threads: 0` hashes inline (tests).
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hashEntry, type EntryOutcome, type EntryTask } from './hashEntry.js';
import type { EntryBatch } from './fsckWorker.js';
import type { ListedEntry } from '../store/listEntries.js';

const BATCH_ENTRIES = 64;
const BATCH_BYTES = 16n << 20n;
const IN_FLIGHT = 2;

function workerPath(): string {
  const here = fileURLToPath(new URL('./fsckWorker.js', import.meta.url));
  if (existsSync(here)) return here;
  // Running from src/ under jest: the compiled worker of `make build`.
  return fileURLToPath(new URL('../../dist/fsck/fsckWorker.js', import.meta.url));
}

const task = (e: ListedEntry): EntryTask => ({ rel: e.rel, algorithm: e.algorithm, ino: e.ino });

/** Batches of entry indexes, in order. */
function batches(entries: ListedEntry[]): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  let bytes = 0n;
  entries.forEach((e, i) => {
    cur.push(i);
    bytes += e.size;
    if (cur.length >= BATCH_ENTRIES || bytes >= BATCH_BYTES) {
      out.push(cur);
      cur = [];
      bytes = 0n;
    }
  });
  if (cur.length) out.push(cur);
  return out;
}

/** The outcome for each entry, in the order given; `onProgress` after each batch with the bytes read so far. */
export async function hashEntries(storeFd: number, entries: ListedEntry[], threads: number, onProgress: (bytes: number, done: number) => void): Promise<EntryOutcome[]> {
  const outcomes: EntryOutcome[] = new Array(entries.length);
  let bytes = 0;
  let done = 0;
  const record = (indexes: number[], results: EntryOutcome[]) => {
    indexes.forEach((i, k) => {
      outcomes[i] = results[k];
      bytes += results[k].bytes;
    });
    done += indexes.length;
    onProgress(bytes, done);
  };
  const queue = batches(entries);
  if (threads <= 0) {
    for (const b of queue) record(b, b.map((i) => hashEntry(storeFd, task(entries[i]))));
    return outcomes;
  }
  const workers = Array.from({ length: Math.min(threads, Math.max(1, queue.length)) }, () => new Worker(workerPath()));
  let next = 0;
  const pending = new Map<number, number[]>();
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            let inFlight = 0;
            const send = () => {
              if (next >= queue.length) {
                if (inFlight === 0) resolve();
                return;
              }
              const id = next++;
              pending.set(id, queue[id]);
              inFlight++;
              const msg: EntryBatch = { id, storeFd, tasks: queue[id].map((i) => task(entries[i])) };
              w.postMessage(msg);
            };
            w.on('message', (msg: { id: number; outcomes: EntryOutcome[] }) => {
              inFlight--;
              record(pending.get(msg.id)!, msg.outcomes);
              pending.delete(msg.id);
              send();
            });
            w.on('error', reject);
            for (let k = 0; k < IN_FLIGHT; k++) send();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return outcomes;
}
