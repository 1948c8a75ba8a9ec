/**
 * Walks the roots and records every regular file of at least `minSize` bytes in a
 * FileTable. Never follows a symlink, never enters another filesystem than the root's,
 * the store, an excluded path or hashify's own temp files; anything that is not a regular
 * file (symlink, device, FIFO, socket) is never recorded. Each directory is read by one
 * native call (readdir and an fstatat per entry, relative to the directory's descriptor,
 * into one buffer): no stats object and no path string per file. Synchronous on purpose;
 * to use every core, `scanParallel` (scanParallel.ts) hands whole subtrees to worker threads.
 */
import { lstatSync } from 'node:fs';
import { linux } from '../native/addon.js';
import { errnoCode } from '../errors.js';
import { isWithin, joinPath } from '../pathBytes.js';
import { FileTable } from './fileTable.js';
import type { ExcludeMatcher } from './excludeMatcher.js';

export interface ScanOptions {
  roots: Buffer[];
  /** Never entered (the store; also the plan's own output). */
  skip: Buffer[];
  minSize: bigint;
  exclude: ExcludeMatcher;
  onProgress?: (files: number) => void;
  onWarning?: (message: string) => void;
}

export interface ScanCounts {
  /** Regular files seen, of any size. */
  files: number;
  bytes: bigint;
  unreadable: number;
  otherDevice: number;
  vanished: number;
}

export interface ScanResult extends ScanCounts {
  table: FileTable;
}

/** A directory to read, and the root it lies under (for relative exclude patterns and the device). */
export interface DirTask {
  dir: Buffer;
  root: number;
}

export interface WalkContext {
  roots: Buffer[];
  rootTexts: string[];
  rootDevs: bigint[];
  skip: Buffer[];
  minSize: bigint;
  exclude: ExcludeMatcher;
  warn: (message: string) => void;
}

export function newCounts(): ScanCounts {
  return { files: 0, bytes: 0n, unreadable: 0, otherDevice: 0, vanished: 0 };
}

export function addCounts(to: ScanCounts, from: ScanCounts): void {
  to.files += from.files;
  to.bytes += from.bytes;
  to.unreadable += from.unreadable;
  to.otherDevice += from.otherDevice;
  to.vanished += from.vanished;
}

const TMP_PREFIX = Buffer.from('.hashify-tmp-');

/** Record layout of the native readDir (native/scan.c): offsets in bytes. */
const KIND_VANISHED = 0;
const KIND_FILE = 1;
const REC_HEAD = 72;

/** Reads one directory: its files go into `table`, its subdirectories are returned in name order. */
export function readDirectory(task: DirTask, ctx: WalkContext, table: FileTable, counts: ScanCounts): DirTask[] {
  const { dir, root } = task;
  let records: ArrayBuffer;
  try {
    records = linux().readDir(dir);
  } catch (err) {
    const code = errnoCode(err);
    // Vanished, or no longer a directory (a symlink now stands there: never followed).
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') counts.vanished++;
    else {
      counts.unreadable++;
      ctx.warn(`Cannot read directory ${JSON.stringify(dir.toString())}: ${code ?? (err as Error).message}; skipped`);
    }
    return [];
  }
  const u32 = new Uint32Array(records);
  const u64 = new BigUint64Array(records);
  const i64 = new BigInt64Array(records);
  const bytes = Buffer.from(records);
  let dirIndex = -1;
  const subdirs: DirTask[] = [];
  const rootText = ctx.rootTexts[root];
  const rootDev = ctx.rootDevs[root];
  for (let at = 0; at < bytes.length; ) {
    const kind = u32[at >> 2];
    const nameLength = u32[(at >> 2) + 1];
    const name = bytes.subarray(at + REC_HEAD, at + REC_HEAD + nameLength);
    const w = at >> 3; // the record in 8-byte words
    at += REC_HEAD + ((nameLength + 7) & ~7);
    if (kind === KIND_VANISHED) {
      counts.vanished++;
      continue;
    }
    if (name.length > TMP_PREFIX.length && name.subarray(0, TMP_PREFIX.length).equals(TMP_PREFIX)) continue;
    const path = joinPath(dir, name);
    if (ctx.skip.length && ctx.skip.some((s) => isWithin(path, s))) continue;
    if (!ctx.exclude.matchesNothing) {
      const abs = path.toString('utf8');
      if (ctx.exclude(abs, abs.slice(rootText.length + 1), name.toString('utf8'))) continue;
    }
    const dev = u64[w + 1];
    if (kind !== KIND_FILE) {
      if (dev !== rootDev) {
        counts.otherDevice++;
        ctx.warn(`Not crossing into another filesystem at ${JSON.stringify(path.toString())}`);
        continue;
      }
      subdirs.push({ dir: path, root });
      continue;
    }
    const size = u64[w + 3];
    counts.files++;
    counts.bytes += size;
    if (size === 0n || size < ctx.minSize) continue;
    if (dirIndex < 0) dirIndex = table.addDir(dir);
    table.addRecord(dirIndex, name, u64, i64, u32, w);
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

/** The context of a walk over `opts.roots`. */
export function walkContext(opts: ScanOptions): WalkContext {
  return {
    roots: opts.roots,
    rootTexts: opts.roots.map((r) => r.toString('utf8')),
    rootDevs: opts.roots.map((r) => lstatSync(r, { bigint: true }).dev),
    skip: opts.skip,
    minSize: opts.minSize,
    exclude: opts.exclude,
    warn: opts.onWarning ?? (() => {}),
  };
}

/** Scans on this thread only. */
export function scanTree(opts: ScanOptions): ScanResult {
  const table = new FileTable();
  const counts = newCounts();
  walk(opts.roots.map((dir, root) => ({ dir, root })), walkContext(opts), table, counts, opts.onProgress);
  opts.onProgress?.(counts.files);
  return { table, ...counts };
}
