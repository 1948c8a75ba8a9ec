/**
 * Extended attributes through a file descriptor (native/xattr.c): the descriptor was opened
 * with O_NOFOLLOW and checked to be the scanned inode, so no name is resolved twice.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface XattrAddon {
  list(fd: number): Buffer;
  get(fd: number, name: string): Buffer | null;
  set(fd: number, name: string, value: Buffer): void;
  remove(fd: number, name: string): void;
  setTimes(fd: number, atimeNs: bigint, mtimeNs: bigint): void;
}

let addon: XattrAddon | undefined;

function load(): XattrAddon {
  if (addon) return addon;
  // dist/native/xattr.node beside the compiled code; from src/ (tests) the built one in dist/.
  const candidates = ['./xattr.node', '../../dist/native/xattr.node'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the xattr addon is not built (looked for ${candidates.join(', ')}): run \`make build\``);
  addon = createRequire(import.meta.url)(found) as XattrAddon;
  return addon;
}

/** Every extended attribute of the open file, sorted by name. */
export function readXattrs(fd: number): Array<[string, Buffer]> {
  const x = load();
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
  load().set(fd, name, value);
}

/** Removes one attribute from the open file (missing is fine). */
export function removeXattr(fd: number, name: string): void {
  load().remove(fd, name);
}

/** Sets atime and mtime of the open file to the nanosecond. */
export function setTimesNs(fd: number, atimeNs: bigint, mtimeNs: bigint): void {
  load().setTimes(fd, atimeNs, mtimeNs);
}
