/** fsck's worker thread: hashes batches of store entries (see hashEntries.ts). */
import { parentPort } from 'node:worker_threads';
import { hashEntry, type EntryTask } from './hashEntry.js';

export interface EntryBatch {
  id: number;
  storeFd: number;
  tasks: EntryTask[];
}

parentPort!.on('message', (msg: EntryBatch) => {
  parentPort!.postMessage({ id: msg.id, outcomes: msg.tasks.map((t) => hashEntry(msg.storeFd, t)) });
});
