/**
 * Worker thread entry: walking subtrees into a FileTable of its own (scan). Hashing runs on
 * libuv's pool instead (workerPool.ts).
 */
import { parentPort } from 'node:worker_threads';
import { FileTable, type RootFds } from '../scan/fileTable.js';
import { newCounts, walk, type WalkContext } from '../scan/walk.js';
import { excludeMatcher } from '../scan/excludeMatcher.js';

export type ToWorker =
  | { scanInit: { roots: Uint8Array[]; rootFds: RootFds; skip: Uint8Array[]; minSize: bigint; exclude: string[] } }
  | { scanDir: { id: number; dirs: Uint8Array[]; roots: number[] } };

const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

let scan: { ctx: WalkContext; warnings: string[] } | undefined;
/**
 * The scan's two tables, used in turn: the main thread has copied a run's rows before it
 * sends the request after next (it keeps two in flight), so the table of the run before last
 * is free again. No new shared buffers per run that wait for a collector.
 */
const scanTables: FileTable[] = [];
let scanRuns = 0;

parentPort!.on('message', (msg: ToWorker) => {
  if ('scanInit' in msg) {
    const init = msg.scanInit;
    const roots = init.roots.map(buf);
    const warnings: string[] = [];
    scan = {
      ctx: {
        roots,
        rootFds: init.rootFds,
        rootTexts: roots.map((r) => r.toString('utf8')),
        skip: init.skip.map(buf),
        minSize: init.minSize,
        exclude: excludeMatcher(init.exclude),
        warn: (m) => warnings.push(m),
      },
      warnings,
    };
  } else if ('scanDir' in msg) {
    // Each run of subtrees' rows goes back at once, in one of the two tables, which the main
    // thread copies: this thread never holds more than two runs.
    const s = scan!;
    const table = (scanTables[scanRuns++ % 2] ??= new FileTable());
    table.clear();
    const counts = newCounts();
    walk(msg.scanDir.dirs.map((d, k) => ({ dir: buf(d), root: msg.scanDir.roots[k] })), s.ctx, table, counts);
    parentPort!.postMessage({ scanned: msg.scanDir.id, table: table.share(), counts, warnings: s.warnings.splice(0) });
  }
});
