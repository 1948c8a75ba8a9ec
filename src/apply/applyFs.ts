/**
 * The filesystem calls apply and undo make, as an interface: tests wrap it to inject
 * EMLINK, ENOSPC, EROFS or a crash at any call.
 */
import * as fs from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { cloneFile } from './reflink.js';
import { linux } from '../native/addon.js';
import { errnoCode } from '../errors.js';
import { basenameBytes, dirnameBytes } from '../pathBytes.js';

const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

export interface ApplyFs {
  lstat(p: Buffer): BigIntStats | undefined;
  /** Opens a file for reading without following a final symlink or blocking. */
  openRead(p: Buffer): number;
  fstat(fd: number): BigIntStats;
  close(fd: number): void;
  /** link, rename and unlink fail with ELOOP when a directory of a path is no longer the one at that path. */
  link(existing: Buffer, newPath: Buffer): void;
  rename(from: Buffer, to: Buffer): void;
  unlink(p: Buffer): void;
  mkdirp(p: Buffer): void;
  realpath(p: Buffer): Buffer;
  /** Makes everything written on the filesystem holding directory `p` durable (syncfs). */
  syncFilesystem(p: Buffer): void;
  clone(src: Buffer, dst: Buffer): void;
}

/**
 * `mkdir -p` that reports the real error. Node's `mkdirSync(p, { recursive: true })` turns
 * EROFS (among others) on a directory that does not exist yet into ENOENT
 * (nodejs/node#47098), which hid a read-only store behind "no such file or directory".
 */
export function mkdirs(p: Buffer, mode = 0o755): void {
  const existingDir = (err: unknown) => errnoCode(err) === 'EEXIST' && fs.statSync(p).isDirectory();
  try {
    fs.mkdirSync(p, { mode });
  } catch (err) {
    if (existingDir(err)) return;
    const parent = dirnameBytes(p);
    if (errnoCode(err) !== 'ENOENT' || parent.equals(p)) throw err;
    mkdirs(parent, mode);
    try {
      fs.mkdirSync(p, { mode });
    } catch (again) {
      if (!existingDir(again)) throw again;
    }
  }
}

const PROC_FD = fs.existsSync('/proc/self/fd');

/**
 * Opens directory `dir` when it is the directory at that path: O_NOFOLLOW on its last
 * component, and the kernel's own name for the open directory (/proc/self/fd) equal to the
 * path, so no symlink anywhere in it. Undefined when a symlink stands in the way; other
 * errors (ENOENT, EACCES…) are thrown. Without /proc only the last component is checked.
 */
export function openProvenDir(dir: Buffer): number | undefined {
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    // A symlink as the last component gives ENOTDIR (with O_DIRECTORY), not ELOOP.
    if (errnoCode(err) === 'ENOTDIR' || errnoCode(err) === 'ELOOP') return undefined;
    throw err;
  }
  try {
    if (!PROC_FD || fs.readlinkSync(`/proc/self/fd/${fd}`, { encoding: 'buffer' }).equals(dir)) return fd;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  fs.closeSync(fd);
  return undefined;
}

/**
 * Runs `fn` with each of `paths` rewritten to `/proc/self/fd/N/NAME`, where N is its
 * directory, opened by `openProvenDir`. A directory swapped for a symlink after hashify
 * checked it can then not send a link, rename or unlink anywhere else: it fails with ELOOP.
 */
function inCheckedDirs<T>(paths: Buffer[], fn: (inDirs: Buffer[]) => T): T {
  if (!PROC_FD) return fn(paths);
  const fds: number[] = [];
  try {
    const inDirs = paths.map((p) => {
      const dir = dirnameBytes(p);
      const fd = openProvenDir(dir);
      if (fd === undefined) {
        throw Object.assign(new Error(`ELOOP: the directory ${JSON.stringify(dir.toString())} was replaced (a symlink in its path?)`), { code: 'ELOOP' });
      }
      fds.push(fd);
      return Buffer.concat([Buffer.from(`/proc/self/fd/${fd}/`), basenameBytes(p)]);
    });
    return fn(inDirs);
  } finally {
    for (const fd of fds) fs.closeSync(fd);
  }
}

export const realFs: ApplyFs = {
  lstat: (p) => fs.lstatSync(p, { bigint: true, throwIfNoEntry: false }),
  openRead: (p) => fs.openSync(p, READ_FLAGS),
  fstat: (fd) => fs.fstatSync(fd, { bigint: true }),
  close: (fd) => fs.closeSync(fd),
  link: (a, b) => inCheckedDirs([a, b], ([da, db]) => fs.linkSync(da, db)),
  rename: (a, b) => inCheckedDirs([a, b], ([da, db]) => fs.renameSync(da, db)),
  unlink: (p) => inCheckedDirs([p], ([dp]) => fs.unlinkSync(dp)),
  mkdirp: (p) => mkdirs(p),
  realpath: (p) => fs.realpathSync.native(p, { encoding: 'buffer' }),
  syncFilesystem: (p) => {
    const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      linux().syncfs(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  clone: (src, dst) => cloneFile(src, dst),
};
