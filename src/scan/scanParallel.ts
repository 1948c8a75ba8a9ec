/**
 * Scans with every core: the top levels of the roots are read here until there are enough
 * subtrees to share out, then worker threads walk whole subtrees, each handing back its
 * rows in a FileTable in shared memory that is appended to this one and dropped. Row order does
 * not matter: everything after the scan sorts by path. The roots are opened once, here; the
 * table keeps their descriptors (`table.roots`) so that hashing opens each file beneath its
 * root too, and `findDuplicates` closes them when it is done.
 */
import { FileTable } from './fileTable.js';
import { addCounts, newCounts, readDirectory, walkContext, type DirTask, type ScanOptions, type ScanResult } from './walk.js';
import type { WorkerPool } from '../workers/workerPool.js';

/** Enough subtrees to keep the threads evenly busy. */
const SPLIT_AT = 64;
const MAX_SPLIT_DEPTH = 4;

export async function scanParallel(opts: ScanOptions, patterns: string[], pool: WorkerPool): Promise<ScanResult> {
  pool.start(); // the threads come up while the top levels are read here
  const ctx = walkContext(opts);
  const table = new FileTable();
  table.roots = ctx.rootFds;
  const counts = newCounts();
  let frontier: DirTask[] = opts.roots.map((dir, root) => ({ dir, root }));
  for (let depth = 0; depth < MAX_SPLIT_DEPTH && frontier.length > 0 && frontier.length < SPLIT_AT; depth++) {
    const next: DirTask[] = [];
    for (const task of frontier) for (const sub of readDirectory(task, ctx, table, counts)) next.push(sub);
    frontier = next;
  }
  if (frontier.length) {
    const progress = opts.onProgress ?? (() => {});
    await pool.scan(
      frontier,
      ctx,
      patterns,
      (rows, c) => {
        table.append(rows);
        addCounts(counts, c);
        progress(counts.files);
      },
      opts.onWarning ?? (() => {}),
    );
  }
  opts.onProgress?.(counts.files);
  return { table, ...counts };
}
