/**
 * Step 2 of finding duplicates: the distinct inodes grouped by (device, size, and the stat
 * metadata that must match), with no string, array or map entry per row. Each key is read
 * as 32-bit halves straight from the table's columns; rows are bucketed by a hash of the key
 * with a counting sort (stable: ascending rows), and each bucket is ordered by the exact key,
 * so that a group is one run of one Int32Array.
 */
import type { FileTable } from '../scan/fileTable.js';
import { RowList, release } from './candidates.js';

export interface StatGroups {
  /** Group g is rows[start[g]..end[g]), ascending; only groups of two rows or more. */
  rows: Int32Array;
  start: Int32Array;
  end: Int32Array;
  count: number;
}

/**
 * The key's parts a row is compared on, as numbers read from the columns (no array per row:
 * at a million rows each would be 4 MB more until the next full collection).
 */
class KeyParts {
  /** What the files of each root must share to be linked, as a small number (linkDomains). */
  private rootDev: Int32Array;
  /** Per (mode, uid, gid) number: its class among the triples that agree on what must match. */
  private metaClass: Int32Array;
  readonly size: Uint32Array;
  readonly mtime: Uint32Array | null;

  constructor(
    private table: FileTable,
    match: { mode: boolean; owner: boolean; mtime: boolean },
    domains: Int32Array,
  ) {
    const n = table.length;
    this.rootDev = domains;
    const classes = new Map<string, number>();
    const classOf: number[] = [];
    for (let i = 0; i < n; i++) {
      const m = table.meta[i];
      if (classOf[m] !== undefined) continue;
      const k = `${match.mode ? table.modeOf(i) : ''}:${match.owner ? `${table.uidOf(i)}:${table.gidOf(i)}` : ''}`;
      classOf[m] = classes.get(k) ?? (classes.set(k, classes.size), classes.size - 1);
    }
    this.metaClass = Int32Array.from(classOf, (c) => c ?? -1);
    const halves = (c: BigUint64Array | BigInt64Array) => new Uint32Array(c.buffer, c.byteOffset, n * 2);
    this.size = halves(table.size);
    this.mtime = match.mtime ? halves(table.mtime) : null;
  }

  dev(i: number): number {
    return this.rootDev[this.table.dirRoot[this.table.dir[i]]];
  }

  meta(i: number): number {
    return this.metaClass[this.table.meta[i]];
  }

  /** A hash of row i's key. */
  hash(i: number): number {
    let h = Math.imul(this.size[2 * i] ^ 0x9e3779b9, 0x85ebca6b) ^ this.size[2 * i + 1];
    h = Math.imul(h ^ (h >>> 15) ^ this.dev(i), 0xc2b2ae35) ^ this.meta(i);
    if (this.mtime) h = Math.imul(h ^ (h >>> 13) ^ this.mtime[2 * i], 0x27d4eb2f) ^ this.mtime[2 * i + 1];
    return h ^ (h >>> 16);
  }
}

function sameKey(k: KeyParts, a: number, b: number): boolean {
  return (
    k.size[2 * a] === k.size[2 * b] &&
    k.size[2 * a + 1] === k.size[2 * b + 1] &&
    k.dev(a) === k.dev(b) &&
    k.meta(a) === k.meta(b) &&
    (!k.mtime || (k.mtime[2 * a] === k.mtime[2 * b] && k.mtime[2 * a + 1] === k.mtime[2 * b + 1]))
  );
}

/** Orders two rows by key, then row number. */
function compareKey(k: KeyParts, a: number, b: number): number {
  const d =
    k.size[2 * a + 1] - k.size[2 * b + 1] ||
    k.size[2 * a] - k.size[2 * b] ||
    k.dev(a) - k.dev(b) ||
    k.meta(a) - k.meta(b) ||
    (k.mtime ? k.mtime[2 * a + 1] - k.mtime[2 * b + 1] || k.mtime[2 * a] - k.mtime[2 * b] : 0);
  return d || a - b;
}

/**
 * Per root, a small number that the files of two roots must share to be linked: "the same
 * filesystem" of SPEC. Hard links need one device (st_dev: a btrfs subvolume is its own);
 * clones (`acrossDevices`) one filesystem, which all roots of a reflink plan are
 * (resolveRoots refuses others), so that btrfs subvolumes of it are mixed in one group.
 */
export function linkDomains(table: FileTable, acrossDevices = false): Int32Array {
  const devIds = new Map<bigint, number>();
  return Int32Array.from(table.roots.devs, (d) => (acrossDevices ? 0 : devIds.get(d) ?? (devIds.set(d, devIds.size), devIds.size - 1)));
}

/** The groups of two or more rows marked in `isPrimary` that share their key (`domains`: linkDomains). */
export function statGroups(
  table: FileTable,
  isPrimary: Uint8Array,
  match: { mode: boolean; owner: boolean; mtime: boolean },
  domains: Int32Array = linkDomains(table),
): StatGroups {
  const n = table.length;
  const k = new KeyParts(table, match, domains);
  // About two rows a bucket (the hash is computed again rather than kept: 4 bytes a row less).
  let buckets = 16;
  while (buckets * 2 < n) buckets *= 2;
  const mask = buckets - 1;
  const offset = new Int32Array(buckets + 1);
  for (let i = 0; i < n; i++) if (isPrimary[i]) offset[(k.hash(i) & mask) + 1]++;
  for (let b = 0; b < buckets; b++) offset[b + 1] += offset[b];
  const rows = new Int32Array(offset[buckets]);
  const at = offset.slice(0, buckets);
  for (let i = 0; i < n; i++) if (isPrimary[i]) rows[at[k.hash(i) & mask]++] = i;
  // Runs of one key: each bucket sorted by key (nearly always one key already: nothing moves).
  const start = new RowList();
  const end = new RowList();
  for (let b = 0; b < buckets; b++) {
    const s = offset[b];
    const e = offset[b + 1];
    if (e - s < 2) continue;
    let mixed = false;
    for (let r = s + 1; r < e && !mixed; r++) mixed = !sameKey(k, rows[s], rows[r]);
    if (mixed) rows.subarray(s, e).sort((x, y) => compareKey(k, x, y));
    for (let r = s; r < e; ) {
      let q = r + 1;
      while (q < e && sameKey(k, rows[r], rows[q])) q++;
      if (q - r >= 2) {
        start.push(r);
        end.push(q);
      }
      r = q;
    }
  }
  release(offset, at);
  return { rows, start: start.view(), end: end.view(), count: start.length };
}
