/** The store a clone links from when `--store` is not given: the one `plan` would use. */
import { dirnameBytes, joinPath } from '../pathBytes.js';

function isWithin(p: Buffer, dir: Buffer): boolean {
  if (dir.length === 1) return true;
  return p.equals(dir) || (p.length > dir.length && p.subarray(0, dir.length).equals(dir) && p[dir.length] === 0x2f);
}

/** `.hash` in the deepest common directory of the absolute, normal paths given (SRC and DST). */
export function defaultStore(paths: Buffer[]): Buffer {
  let common = dirnameBytes(paths[0]);
  for (const p of paths) while (!isWithin(p, common)) common = dirnameBytes(common);
  return joinPath(common, Buffer.from('.hash'));
}

export { isWithin };
