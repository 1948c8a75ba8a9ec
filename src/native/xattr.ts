/**
 * Extended attributes and times through a file descriptor (native/xattr.c): the descriptor
 * was opened with O_NOFOLLOW and checked to be the scanned inode, so no name is resolved
 * twice.
 */
import { linux } from './addon.js';

/** Every extended attribute of the open file, sorted by name. */
export function readXattrs(fd: number): Array<[string, Buffer]> {
  const x = linux();
  const list = x.list(fd);
  const out: Array<[string, Buffer]> = [];
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    if (list[i] !== 0) continue;
    if (i > start) {
      const name = list.toString('utf8', start, i);
      const value = x.get(fd, name);
      if (value) out.push([name, value]);
    }
    start = i + 1;
  }
  out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return out;
}

/** Sets one attribute on the open file. */
export function writeXattr(fd: number, name: string, value: Buffer): void {
  linux().set(fd, name, value);
}

/** Removes one attribute from the open file (missing is fine). */
export function removeXattr(fd: number, name: string): void {
  linux().remove(fd, name);
}

/** Sets atime and mtime of the open file to the nanosecond. */
export function setTimesNs(fd: number, atimeNs: bigint, mtimeNs: bigint): void {
  linux().setTimes(fd, atimeNs, mtimeNs);
}
