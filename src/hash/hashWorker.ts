/** Worker thread entry: runs batches of hash tasks and posts their results back. */
import { parentPort } from 'node:worker_threads';
import { runHashTask, type HashTask } from './hashTask.js';

parentPort!.on('message', (batch: { id: number; tasks: HashTask[] }) => {
  parentPort!.postMessage({ id: batch.id, results: batch.tasks.map((t) => runHashTask(t)) });
});
