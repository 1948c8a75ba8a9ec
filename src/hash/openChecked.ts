/**
 * Opens a scanned file for reading without following a symlink, blocking on a FIFO or
 * changing its atime, and checks that the descriptor is the inode that was scanned. A
 * scanned file is opened beneath its root's descriptor (openat2: no symlink anywhere on the
 * way, never outside the root); a bare path is for callers outside the scan.
 */
import { closeSync, constants, fstatSync, openSync, type BigIntStats } from 'node:fs';
import { errnoCode } from '../errors.js';
import { linux } from '../native/addon.js';

/** Where a file is: a path relative to a root's descriptor, or (outside the scan) a path. */
export type Where = Buffer | { fd: number; rel: Buffer };

const BASE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
let noatime = constants.O_NOATIME ?? 0;

/** What the scan saw; the open file must still match it. */
export interface Expected {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtime: bigint;
  ctime: bigint;
}

export type OpenResult = { fd: number; st: BigIntStats } | { changed: string } | { error: string };

export function sameAsScanned(st: BigIntStats, e: Expected): boolean {
  return st.isFile() && st.dev === e.dev && st.ino === e.ino && st.size === e.size && st.mtimeNs === e.mtime && st.ctimeNs === e.ctime;
}

/** Descriptors opened by the addon: closed by it too (fs.closeSync warns about them in a worker). */
const nativeFds = new Set<number>();

/** Closes a descriptor `openChecked` returned. */
export function closeOpened(fd: number): void {
  if (nativeFds.delete(fd)) linux().close(fd);
  else closeSync(fd);
}

export function openChecked(path: Where, expected: Expected): OpenResult {
  let fd: number;
  try {
    if (Buffer.isBuffer(path)) fd = openSync(path, BASE | noatime);
    else nativeFds.add((fd = linux().openBeneath(path.fd, path.rel, BASE | noatime)));
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EPERM' && noatime) {
      noatime = 0; // O_NOATIME needs ownership or CAP_FOWNER: read with atime updates instead
      return openChecked(path, expected);
    }
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR' || code === 'EXDEV') return { changed: code };
    return { error: code ?? String(err) };
  }
  const st = fstatSync(fd, { bigint: true });
  if (!sameAsScanned(st, expected)) {
    closeOpened(fd);
    return { changed: 'changed since it was scanned' };
  }
  return { fd, st };
}
