/**
 * Scans with every core: directories are read by the addon on libuv's pool (readDirsAsync:
 * open beneath the root, readdir, an fstatat per entry), a batch of directories per request
 * and `threads` requests at a time, while this thread takes each listing into the table
 * (walk.ts `takeListing`) and queues the subdirectories it names. No thread of ours to start,
 * no table to copy back. Row order does not matter: everything after the scan sorts by path.
 * The roots are opened once, here; the table keeps their descriptors (`table.roots`) so that
 * hashing opens each file beneath its root too, and `findDuplicates` closes them when it is done.
 */
import { getSystemErrorName } from 'node:util';
import { linux } from '../native/addon.js';
import { FileTable } from './fileTable.js';
import { newCounts, relativeDir, takeListing, unreadDirectory, walk, walkContext, type DirTask, type ScanCounts, type ScanOptions, type ScanResult, type WalkContext } from './walk.js';
import { runQueued, type WorkerPool } from '../workers/workerPool.js';

/** Directories per request at most: few enough that the threads share the tree evenly. */
const MAX_BATCH = 64;

export async function scanParallel(opts: ScanOptions, pool: WorkerPool): Promise<ScanResult> {
  const ctx = walkContext(opts);
  const table = new FileTable();
  table.roots = ctx.rootFds;
  const counts = newCounts();
  const tasks: DirTask[] = opts.roots.map((dir, root) => ({ dir, root }));
  if (pool.threads === 0) walk(tasks, ctx, table, counts, opts.onProgress);
  else await walkOnPool(tasks, ctx, table, counts, pool.threads, opts.onProgress);
  opts.onProgress?.(counts.files);
  return { table, ...counts };
}

/** Reads the subtrees below `tasks` on libuv's pool, `threads` requests at a time (runQueued). */
function walkOnPool(tasks: DirTask[], ctx: WalkContext, table: FileTable, counts: ScanCounts, threads: number, onProgress?: (files: number) => void): Promise<void> {
  const stack = [...tasks].reverse();
  const next = (): DirTask[] | undefined => {
    if (stack.length === 0) return undefined;
    const n = Math.min(MAX_BATCH, Math.max(1, Math.floor(stack.length / (threads * 2))));
    return stack.splice(stack.length - n, n).reverse();
  };
  const read = (batch: DirTask[]) => linux().readDirsAsync(Int32Array.from(batch, (t) => ctx.rootFds.fds[t.root]), batch.map((t) => relativeDir(t, ctx)));
  const take = (batch: DirTask[], listings: Array<ArrayBuffer | number>) => {
    for (let k = 0; k < batch.length; k++) {
      const listing = listings[k];
      let subdirs: DirTask[] = [];
      if (typeof listing === 'number') unreadDirectory(batch[k], ctx, counts, getSystemErrorName(-listing));
      else {
        subdirs = takeListing(batch[k], listing, ctx, table, counts);
        linux().freeNow(listing); // its memory now, not at some later collection
      }
      for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
    }
    onProgress?.(counts.files);
  };
  return runQueued(threads, next, read, take);
}
