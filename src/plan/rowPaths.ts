/**
 * A scanned row's path read in place from the scan table's directory and name bytes (its
 * directory's path, `/` unless that is the root `/` itself (FileTable.dirIsSlash), its
 * name): its length, its order against another row's, and its bytes copied into the plan
 * writer's buffer, with no Buffer per path.
 */
import type { FileTable } from '../scan/fileTable.js';

const SLASH = 0x2f;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The bytes of row i's path. */
export function rowPathLength(t: FileTable, i: number): number {
  const d = t.dir[i];
  return t.dirEnd[d] - t.dirStart[d] + (t.dirIsSlash(d) ? 0 : 1) + t.nameAt[i + 1] - t.nameAt[i];
}

/** Byte k of row i's path (k below its length). */
function byteAt(t: FileTable, i: number, k: number): number {
  const d = t.dir[i];
  const dlen = t.dirEnd[d] - t.dirStart[d];
  if (k < dlen) return t.dirBytes[t.dirStart[d] + k];
  const sep = t.dirIsSlash(d) ? 0 : 1;
  return k === dlen && sep ? SLASH : t.names[t.nameAt[i] + k - dlen - sep];
}

/**
 * For each root, how many leading bytes all its directories' paths have in common (the
 * root's own path, at least): two rows of one root compare from there.
 */
export function sharedPrefixes(t: FileTable): Uint32Array {
  let roots = 0;
  for (let d = 0; d < t.dirCount; d++) roots = Math.max(roots, t.dirRoot[d] + 1);
  const shared = new Uint32Array(roots);
  const first = new Int32Array(shared.length).fill(-1);
  const bytes = t.dirBytes;
  for (let d = 0; d < t.dirCount; d++) {
    const r = t.dirRoot[d];
    const f = first[r];
    if (f < 0) {
      first[r] = d;
      shared[r] = t.dirEnd[d] - t.dirStart[d];
      continue;
    }
    const fs = t.dirStart[f];
    const ds = t.dirStart[d];
    let k = 0;
    while (k < shared[r] && k < t.dirEnd[d] - ds && bytes[fs + k] === bytes[ds + k]) k++;
    shared[r] = k;
  }
  return shared;
}

/** Buffer.compare of the two rows' paths, read in place; `shared` (sharedPrefixes) lets it skip what a root's directories share. */
export function compareRowPaths(t: FileTable, a: number, b: number, shared?: Uint32Array): number {
  const da = t.dir[a];
  const db = t.dir[b];
  if (da !== db) {
    // The directories' bytes first, as far as both go: they decide nearly always.
    const bytes = t.dirBytes;
    const as = t.dirStart[da];
    const bs = t.dirStart[db];
    const al = t.dirEnd[da] - as;
    const bl = t.dirEnd[db] - bs;
    const r = t.dirRoot[da];
    const from = shared !== undefined && r === t.dirRoot[db] ? shared[r] : 0;
    for (let k = from; k < al && k < bl; k++) if (bytes[as + k] !== bytes[bs + k]) return bytes[as + k] - bytes[bs + k];
    // One directory's path is a prefix of the other's (or both are one path twice).
    if (al !== bl) return compareFrom(t, a, b, Math.min(al, bl));
  }
  const names = t.names;
  const as = t.nameAt[a];
  const bs = t.nameAt[b];
  const al = t.nameAt[a + 1] - as;
  const bl = t.nameAt[b + 1] - bs;
  for (let k = 0; k < al && k < bl; k++) if (names[as + k] !== names[bs + k]) return names[as + k] - names[bs + k];
  return al - bl;
}

/** Buffer.compare of the two rows' paths, known equal before byte `from`. */
function compareFrom(t: FileTable, a: number, b: number, from: number): number {
  const al = rowPathLength(t, a);
  const bl = rowPathLength(t, b);
  for (let k = from; k < al && k < bl; k++) {
    const x = byteAt(t, a, k);
    const y = byteAt(t, b, k);
    if (x !== y) return x - y;
  }
  return al - bl;
}

/**
 * Copies row i's path into `out` at `at` when it is its own JSON text (printable ASCII but
 * `"` and `\`); returns where it ends, or -1 when it is not (the caller escapes it). The
 * caller has made room for rowPathLength bytes.
 */
export function copyRowPath(t: FileTable, i: number, out: Buffer, at: number): number {
  const d = t.dir[i];
  let p = copyPlain(t.dirBytes, t.dirStart[d], t.dirEnd[d], out, at);
  if (p < 0) return -1;
  if (!t.dirIsSlash(d)) out[p++] = SLASH;
  return copyPlain(t.names, t.nameAt[i], t.nameAt[i + 1], out, p);
}

/** Copies src[start..end) to `out` at `at` if every byte is plain (see copyRowPath); -1 otherwise. */
export function copyPlain(src: Uint8Array, start: number, end: number, out: Buffer, at: number): number {
  let p = at;
  for (let k = start; k < end; k++) {
    const c = src[k];
    if (c < 0x20 || c >= 0x7f || c === QUOTE || c === BACKSLASH) return -1;
    out[p++] = c;
  }
  return p;
}
