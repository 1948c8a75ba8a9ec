/**
 * The groups of identical content, as ranges of one Int32Array of rows: no array, string or
 * map entry per row or per group. Rows are grouped by (digest id, device) with a counting
 * sort; the groups are ordered by device, then by their integrity string (the order of the
 * base64 text, compared on the digest bytes), as plans always were.
 */
import type { FileTable } from '../scan/fileTable.js';
import { integrityOf, type Algorithm } from '../integrity.js';
import type { DigestSet } from './digestSet.js';
import { linkDomains } from './statGroups.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** The ASCII code of each base64 digit: the text's order. */
const ASCII = Uint8Array.from(B64, (c) => c.charCodeAt(0));

export class ContentGroups {
  /** Group g is rows[start[g]..end[g]), in row order. */
  private constructor(
    private readonly table: FileTable,
    private readonly set: DigestSet,
    /** The digest id of each group (not of each row: the rows' ids are dropped once grouped). */
    private digestOf: Int32Array,
    private readonly algorithm: Algorithm,
    readonly rows: Int32Array,
    private start: Int32Array,
    private end: Int32Array,
    public count: number,
  ) {}

  /**
   * The runs of two or more rows with one digest and one link domain (linkDomains), in the plan's order.
   * `ids[i]` is row i's digest id in `set`, or -1.
   */
  static of(table: FileTable, set: DigestSet, ids: Int32Array, algorithm: Algorithm, domains: Int32Array = linkDomains(table)): ContentGroups {
    const offset = new Int32Array(set.count + 1);
    for (let i = 0; i < ids.length; i++) if (ids[i] >= 0) offset[ids[i] + 1]++;
    for (let d = 0; d < set.count; d++) offset[d + 1] += offset[d];
    const rows = new Int32Array(offset[set.count]);
    const at = offset.slice(0, set.count);
    for (let i = 0; i < ids.length; i++) if (ids[i] >= 0) rows[at[ids[i]]++] = i;
    // Runs of one link domain (device, or filesystem for clones: linkDomains) within each
    // digest's rows (a bucket of several is sorted by domain first); counted once, then
    // recorded in arrays of the exact size.
    const dev = (i: number) => domains[table.dirRoot[table.dir[i]]];
    const runs = (record: (s: number, e: number) => void) => {
      for (let d = 0; d < set.count; d++) {
        const s = offset[d];
        const e = offset[d + 1];
        if (e - s < 2) continue;
        let mixed = false;
        for (let k = s + 1; k < e && !mixed; k++) mixed = dev(rows[k]) !== dev(rows[s]);
        if (mixed) rows.subarray(s, e).sort((a, b) => (dev(a) < dev(b) ? -1 : dev(a) > dev(b) ? 1 : a - b));
        for (let r = s; r < e; ) {
          let q = r + 1;
          while (q < e && dev(rows[q]) === dev(rows[r])) q++;
          if (q - r >= 2) record(r, q);
          r = q;
        }
      }
    };
    let count = 0;
    runs(() => count++);
    const start = new Int32Array(count);
    const end = new Int32Array(count);
    const digestOf = new Int32Array(count);
    count = 0;
    runs((s, e) => {
      digestOf[count] = ids[rows[s]];
      start[count] = s;
      end[count++] = e;
    });
    const groups = new ContentGroups(table, set, digestOf, algorithm, rows, start, end, count);
    groups.order();
    return groups;
  }

  /** The rows of group g (a view). */
  members(g: number): Int32Array {
    return this.rows.subarray(this.start[g], this.end[g]);
  }

  dev(g: number): bigint {
    return this.table.devOf(this.rows[this.start[g]]);
  }

  integrity(g: number): string {
    return integrityOf(this.algorithm, this.set.digest(this.digestOf[g]));
  }

  /** Leaves out the rows `drop` names; a group left with fewer than two rows goes. */
  without(drop: Set<number>): void {
    let n = 0;
    for (let g = 0; g < this.count; g++) {
      let e = this.start[g];
      for (let k = this.start[g]; k < this.end[g]; k++) if (!drop.has(this.rows[k])) this.rows[e++] = this.rows[k];
      if (e - this.start[g] < 2) continue;
      this.start[n] = this.start[g];
      this.digestOf[n] = this.digestOf[g];
      this.end[n++] = e;
    }
    this.count = n;
  }

  /** Sorts the groups by device, then integrity text. */
  private order(): void {
    const perm = new Int32Array(this.count);
    for (let g = 0; g < this.count; g++) perm[g] = g;
    const devs = new Set<bigint>();
    for (let g = 0; g < this.count && devs.size < 2; g++) devs.add(this.dev(g));
    perm.sort((a, b) => {
      if (devs.size > 1) {
        const da = this.dev(a);
        const db = this.dev(b);
        if (da !== db) return da < db ? -1 : 1;
      }
      return this.compareText(this.digestOf[a], this.digestOf[b]);
    });
    this.start = Int32Array.from(perm, (g) => this.start[g]);
    this.end = Int32Array.from(perm, (g) => this.end[g]);
    this.digestOf = Int32Array.from(perm, (g) => this.digestOf[g]);
  }

  /** The order of the base64 texts of two digests, from their bytes (no array per comparison). */
  private compareText(a: number, b: number): number {
    const set = this.set;
    const k = set.firstDiff(a, b);
    if (k === set.len) return 0;
    const c = k - (k % 3);
    for (let j = 0; j < 4; j++) {
      const d = ASCII[this.sextet(a, c, j)] - ASCII[this.sextet(b, c, j)];
      if (d !== 0) return d;
    }
    return 0;
  }

  /** Base64 digit j (0..3) of the 3-byte block of digest `id` that starts at byte c. */
  private sextet(id: number, c: number, j: number): number {
    const set = this.set;
    const x0 = set.byte(id, c);
    const x1 = c + 1 < set.len ? set.byte(id, c + 1) : 0;
    const x2 = c + 2 < set.len ? set.byte(id, c + 2) : 0;
    return j === 0 ? x0 >> 2 : j === 1 ? ((x0 & 3) << 4) | (x1 >> 4) : j === 2 ? ((x1 & 15) << 2) | (x2 >> 6) : x2 & 63;
  }
}
