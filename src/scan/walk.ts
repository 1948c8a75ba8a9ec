/**
 * Walks the roots and records every regular file of at least `minSize` bytes in a
 * FileTable. Never follows a symlink, never leaves a root, never enters another filesystem
 * than the root's, the store, an excluded path or hashify's own temp files; anything that is
 * not a regular file (symlink, device, FIFO, socket) is never recorded. Each directory is
 * opened by the kernel beneath its root's descriptor (openat2 RESOLVE_BENEATH |
 * NO_SYMLINKS | NO_XDEV: a directory swapped for a symlink mid-scan fails with ELOOP instead
 * of leading outside) and read by one native call (readdir and an fstatat per entry, relative
 * to the directory's descriptor, into one buffer): no stats object and no path string per
 * file. `scanParallel` reads the directories on libuv's pool instead and takes each listing in
 * with `takeListing`.
 */
import { fstatSync } from 'node:fs';
import { linux } from '../native/addon.js';
import { errnoCode } from '../errors.js';
import { PLAN_PATH_MAX, displayPath, isWithin, joinPath, textOfBytes } from '../pathBytes.js';
import { DirRecords, KIND_FILE, KIND_VANISHED } from './dirRecords.js';
import type { FileTable, RootFds } from './fileTable.js';
import type { ExcludeMatcher } from './excludeMatcher.js';

/** What to scan, what to leave out, and where progress and warnings go. */
export interface ScanOptions {
  roots: Buffer[];
  /** Never entered (the store; also the plan's own output). */
  skip: Buffer[];
  minSize: bigint;
  exclude: ExcludeMatcher;
  onProgress?: (files: number) => void;
  onWarning?: (message: string) => void;
}

/** What the scan saw besides the table's rows. */
export interface ScanCounts {
  /** Regular files seen, of any size. */
  files: number;
  bytes: bigint;
  unreadable: number;
  otherDevice: number;
  vanished: number;
}

/** The scanned rows and the counts. */
export interface ScanResult extends ScanCounts {
  table: FileTable;
}

/** A directory to read, and the root it lies under (for relative exclude patterns and the device). */
export interface DirTask {
  dir: Buffer;
  root: number;
}

/** Everything a walk needs. */
export interface WalkContext {
  roots: Buffer[];
  /** Each root's descriptor, and the bytes of a path below it that name the root. */
  rootFds: RootFds;
  rootTexts: string[];
  skip: Buffer[];
  minSize: bigint;
  exclude: ExcludeMatcher;
  warn: (message: string) => void;
}

/** Counts at zero. */
export function newCounts(): ScanCounts {
  return { files: 0, bytes: 0n, unreadable: 0, otherDevice: 0, vanished: 0 };
}

const TMP_PREFIX = Buffer.from('.hashify-tmp-');
const EMPTY = Buffer.alloc(0);
const DOT = 0x2e;
/** A file's path is its directory's, '/' and a name of at most 255 bytes. */
const DIR_PATH_MAX = PLAN_PATH_MAX - 256;

/** The path of `task`'s directory relative to its root ("" for the root itself). */
export function relativeDir(task: DirTask, ctx: WalkContext): Buffer {
  return task.dir.length <= ctx.roots[task.root].length ? EMPTY : task.dir.subarray(ctx.rootFds.skip[task.root]);
}

/** Reads one directory: its files go into `table`, its subdirectories are returned in name order. */
export function readDirectory(task: DirTask, ctx: WalkContext, table: FileTable, counts: ScanCounts): DirTask[] {
  let records: ArrayBuffer;
  try {
    records = linux().readDir(ctx.rootFds.fds[task.root], relativeDir(task, ctx));
  } catch (err) {
    unreadDirectory(task, ctx, counts, errnoCode(err) ?? (err as Error).message);
    return [];
  }
  const subdirs = takeListing(task, records, ctx, table, counts);
  linux().freeNow(records);
  return subdirs;
}

/** Counts (and warns about) a directory that could not be read: `code` is its error's. */
export function unreadDirectory(task: DirTask, ctx: WalkContext, counts: ScanCounts, code: string): void {
  const { dir } = task;
  // Vanished, or no longer a directory (a symlink now stands on the way: never followed).
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') counts.vanished++;
  else if (code === 'EXDEV') {
    counts.otherDevice++; // a mount point on the same device (a bind mount): not crossed
    ctx.warn(`Not crossing into another mount at ${JSON.stringify(dir.toString())}`);
  } else {
    counts.unreadable++;
    ctx.warn(`Cannot read directory ${JSON.stringify(dir.toString())}: ${code}; skipped`);
  }
}

/** A directory's listing (readDir's records): its files go into `table`, its subdirectories are returned in name order. */
export function takeListing(task: DirTask, records: ArrayBuffer, ctx: WalkContext, table: FileTable, counts: ScanCounts): DirTask[] {
  const { dir, root } = task;
  const rec = new DirRecords(records);
  let dirIndex = -1;
  const subdirs: DirTask[] = [];
  const rootText = ctx.rootTexts[root];
  const rootDev = ctx.rootFds.devs[root];
  // Only a skipped path below this directory (or around it) can match an entry: otherwise a
  // file costs no path of its own.
  const skipHere = ctx.skip.some((s) => isWithin(s, dir) || isWithin(dir, s));
  const excluding = !ctx.exclude.matchesNothing;
  while (rec.next()) {
    const kind = rec.kind;
    if (kind === KIND_VANISHED) {
      counts.vanished++;
      continue;
    }
    const name = rec.name;
    if (name[0] === DOT && name.length > TMP_PREFIX.length && name.compare(TMP_PREFIX, 0, TMP_PREFIX.length, 0, TMP_PREFIX.length) === 0) continue;
    const path = skipHere || excluding || kind !== KIND_FILE ? joinPath(dir, name) : EMPTY;
    if (skipHere && ctx.skip.some((s) => isWithin(path, s))) continue;
    if (excluding) {
      // In the lossless form the patterns came in (src/cli/rawArgv.ts): `\xfe*` is not `\xff*`.
      const abs = textOfBytes(path);
      if (ctx.exclude(abs, abs.slice(rootText.length + 1), textOfBytes(name))) continue;
    }
    if (kind !== KIND_FILE) {
      if (rec.dev !== rootDev) {
        counts.otherDevice++;
        ctx.warn(`Not crossing into another filesystem at ${JSON.stringify(path.toString())}`);
        continue;
      }
      if (path.length > DIR_PATH_MAX) {
        counts.unreadable++;
        ctx.warn(`Directory ${displayPath(path.subarray(0, 120))}… is ${path.length} bytes long: a path below it may be longer than a plan holds (${PLAN_PATH_MAX} bytes); skipped`);
        continue;
      }
      subdirs.push({ dir: path, root });
      continue;
    }
    if (rec.dev !== rootDev) {
      // A file mounted over a file (a bind mount) from another filesystem: never linked.
      counts.otherDevice++;
      ctx.warn(`Not crossing into another filesystem at ${JSON.stringify(joinPath(dir, name).toString())}`);
      continue;
    }
    const size = rec.size;
    counts.files++;
    counts.bytes += size;
    if (size === 0n || size < ctx.minSize) continue;
    if (dirIndex < 0) dirIndex = table.addDir(dir, root);
    table.addRecord(dirIndex, rec);
  }
  return subdirs;
}

/** Walks the subtrees below `tasks`, depth-first in name order. */
export function walk(tasks: DirTask[], ctx: WalkContext, table: FileTable, counts: ScanCounts, onProgress?: (files: number) => void): void {
  const stack = [...tasks].reverse();
  let seen = 0;
  while (stack.length) {
    const subdirs = readDirectory(stack.pop()!, ctx, table, counts);
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
    if (onProgress && counts.files - seen >= 1024) {
      seen = counts.files;
      onProgress(counts.files);
    }
  }
}

/**
 * The context of a walk over `opts.roots`: each root is opened here, once (the operator
 * named it; everything below it is resolved beneath this descriptor). `closeRoots` closes them.
 */
export function walkContext(opts: ScanOptions): WalkContext {
  const fds = opts.roots.map((r) => linux().openRoot(r));
  return {
    roots: opts.roots,
    rootFds: { fds, skip: opts.roots.map((r) => (r.length === 1 ? 1 : r.length + 1)), devs: fds.map((fd) => fstatSync(fd, { bigint: true }).dev) },
    rootTexts: opts.roots.map(textOfBytes),
    skip: opts.skip,
    minSize: opts.minSize,
    exclude: opts.exclude,
    warn: opts.onWarning ?? (() => {}),
  };
}

/** Closes the roots' descriptors once nothing reads beneath them any more. */
export function closeRoots(roots: RootFds): void {
  for (const fd of roots.fds.splice(0)) linux().close(fd);
}
