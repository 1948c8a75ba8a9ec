/**
 * Opens a scanned file for reading without following a symlink, blocking on a FIFO or
 * changing its atime, and checks that the descriptor is the inode that was scanned.
 */
import { closeSync, constants, fstatSync, openSync, type BigIntStats } from 'node:fs';
import { errnoCode } from '../errors.js';

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

export function openChecked(path: Buffer, expected: Expected): OpenResult {
  let fd: number;
  try {
    fd = openSync(path, BASE | noatime);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EPERM' && noatime) {
      noatime = 0; // O_NOATIME needs ownership or CAP_FOWNER: read with atime updates instead
      return openChecked(path, expected);
    }
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return { changed: code };
    return { error: code ?? String(err) };
  }
  const st = fstatSync(fd, { bigint: true });
  if (!sameAsScanned(st, expected)) {
    closeSync(fd);
    return { changed: 'changed since it was scanned' };
  }
  return { fd, st };
}
