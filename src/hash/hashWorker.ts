/** Worker thread entry: hashes batches of rows of a shared FileTable and posts the results back. */
import { parentPort } from 'node:worker_threads';
import { FileTable, type TableShare } from '../scan/fileTable.js';
import { hashRows, type HashKind } from './hashTask.js';

let table: FileTable | undefined;

parentPort!.on('message', (msg: { table?: TableShare; batch?: number; rows?: Int32Array; kind?: HashKind; algorithm?: string }) => {
  if (msg.table) {
    table = FileTable.fromShare(msg.table);
    return;
  }
  const result = hashRows(table!, msg.rows!, msg.kind!, msg.algorithm!);
  parentPort!.postMessage({ batch: msg.batch, result }, [result.digests.buffer as ArrayBuffer, result.status.buffer as ArrayBuffer]);
});
