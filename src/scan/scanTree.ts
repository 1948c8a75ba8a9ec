/**
 * Walks the roots and records every regular file of at least `minSize` bytes in a
 * FileTable. Never follows a symlink, never enters another filesystem than the root's,
 * the store, an excluded path or hashify's own temp files; anything that is not a regular
 * file (symlink, device, FIFO, socket) is never recorded. Synchronous on purpose: one
 * lstat here costs ~2 µs, the thread-pool round trip of an async one several times that.
 */
import { lstatSync, readdirSync, type Dirent } from 'node:fs';
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

export interface ScanResult {
  table: FileTable;
  /** Regular files seen, of any size. */
  files: number;
  bytes: bigint;
  unreadable: number;
  otherDevice: number;
  vanished: number;
}

const TMP_PREFIX = Buffer.from('.hashify-tmp-');

export function scanTree(opts: ScanOptions): ScanResult {
  const table = new FileTable();
  const result: ScanResult = { table, files: 0, bytes: 0n, unreadable: 0, otherDevice: 0, vanished: 0 };
  const warn = opts.onWarning ?? (() => {});
  for (const root of opts.roots) {
    const rootStat = lstatSync(root, { bigint: true });
    const rootText = root.toString('utf8');
    const stack: Buffer[] = [root];
    while (stack.length) {
      const dir = stack.pop()!;
      let entries: Dirent<Buffer>[];
      try {
        entries = readdirSync(dir, { withFileTypes: true, encoding: 'buffer' }) as Dirent<Buffer>[];
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOENT' || code === 'ENOTDIR') {
          result.vanished++;
          continue;
        }
        result.unreadable++;
        warn(`Cannot read directory ${JSON.stringify(dir.toString())}: ${code ?? (err as Error).message}; skipped`);
        continue;
      }
      entries.sort((a, b) => Buffer.compare(a.name, b.name));
      let dirIndex = -1;
      const subdirs: Buffer[] = [];
      for (const entry of entries) {
        const name = entry.name;
        if (name.length > TMP_PREFIX.length && name.subarray(0, TMP_PREFIX.length).equals(TMP_PREFIX)) continue;
        const isDir = entry.isDirectory();
        if (!isDir && !entry.isFile()) continue; // symlinks, devices, FIFOs, sockets: never touched
        const path = joinPath(dir, name);
        if (opts.skip.some((s) => isWithin(path, s))) continue;
        const abs = path.toString('utf8');
        if (opts.exclude(abs, abs.slice(rootText.length + 1), name.toString('utf8'))) continue;
        const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
        if (!st) {
          result.vanished++;
          continue;
        }
        if (isDir) {
          if (!st.isDirectory()) continue;
          if (st.dev !== rootStat.dev) {
            result.otherDevice++;
            warn(`Not crossing into another filesystem at ${JSON.stringify(abs)}`);
            continue;
          }
          subdirs.push(path);
          continue;
        }
        if (!st.isFile()) continue; // replaced since readdir
        result.files++;
        result.bytes += st.size;
        if (st.size === 0n || st.size < opts.minSize) continue;
        if (dirIndex < 0) dirIndex = table.addDir(dir);
        table.add(dirIndex, name, st);
        if (opts.onProgress && (result.files & 1023) === 0) opts.onProgress(result.files);
      }
      // Depth-first in name order: push in reverse so the first name is visited first.
      for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
    }
  }
  opts.onProgress?.(result.files);
  return result;
}

