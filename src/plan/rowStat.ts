/**
 * A scanned row's stat JSON written straight from the scan table's columns into the plan
 * writer's buffer: exactly JSON.stringify(table.stat(row)), with no StatRecord, no string and
 * no BigInt per field. The 64-bit columns are read as two 32-bit halves and their decimal
 * digits made with float arithmetic that stays exact (below 2^53).
 */
import type { FileTable } from '../scan/fileTable.js';

const ascii = (s: string) => Buffer.from(s, 'latin1');
const SIZE = ascii('","size":"');
const MTIME = ascii(',"mtime":"');
const CTIME = ascii('","ctime":"');
const ATIME = ascii('","atime":"');
const END = ascii('"}');

/** The longest stat JSON: the keys and ten numbers of at most 20 digits and a sign. */
export const STAT_MOST = '{"dev":"","ino":"","size":"","mode":,"uid":,"gid":,"nlink":,"mtime":"","ctime":"","atime":""}'.length + 10 * 21;

const TWO32 = 4294967296;
const BILLION = 1e9;

export class RowStats {
  /** The 64-bit columns as 32-bit halves (little-endian: low half first). */
  private ino: Uint32Array;
  private size: Uint32Array;
  private mtime: Uint32Array;
  private ctime: Uint32Array;
  private atime: Uint32Array;
  /** `{"dev":"D","ino":"` for each root, and `","mode":M,"uid":U,"gid":G,"nlink":` for each (mode, uid, gid) number. */
  private heads: Buffer[] = [];
  private metas: Buffer[] = [];

  constructor(private table: FileTable) {
    const halves = (a: BigUint64Array | BigInt64Array) => new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
    this.ino = halves(table.ino);
    this.size = halves(table.size);
    this.mtime = halves(table.mtime);
    this.ctime = halves(table.ctime);
    this.atime = halves(table.atime);
  }

  /** The mtime as text that differs exactly when the mtime does (for metadata keys). */
  mtimeKey(i: number): string {
    return `${this.mtime[2 * i + 1]}.${this.mtime[2 * i]}`;
  }

  /** Writes row i's stat JSON into `out` at `at`; returns where it ends, or -1 when it might not fit. */
  write(i: number, out: Buffer, at: number): number {
    if (out.length - at < STAT_MOST) return -1;
    const t = this.table;
    const r = t.dirRoot[t.dir[i]];
    const m = t.meta[i];
    let p = put(out, at, (this.heads[r] ??= ascii(`{"dev":"${t.roots.devs[r]}","ino":"`)));
    p = u64(out, p, this.ino, i);
    p = put(out, p, SIZE);
    p = u64(out, p, this.size, i);
    p = put(out, p, (this.metas[m] ??= ascii(`","mode":${t.modeOf(i)},"uid":${t.uidOf(i)},"gid":${t.gidOf(i)},"nlink":`)));
    p = digits(out, p, t.nlink[i]);
    p = put(out, p, MTIME);
    p = i64(out, p, this.mtime, i, t.mtime);
    p = put(out, p, CTIME);
    p = i64(out, p, this.ctime, i, t.ctime);
    p = put(out, p, ATIME);
    p = i64(out, p, this.atime, i, t.atime);
    return put(out, p, END);
  }
}

function put(out: Buffer, at: number, b: Buffer): number {
  for (let k = 0; k < b.length; k++) out[at + k] = b[k];
  return at + b.length;
}

/** A signed 64-bit time: negative ones (before 1970) go through BigInt, the rare case. */
function i64(out: Buffer, at: number, halves: Uint32Array, i: number, column: BigInt64Array): number {
  if (halves[2 * i + 1] >= 0x80000000) return at + out.write(column[i].toString(), at, 'latin1');
  return u64(out, at, halves, i);
}

/** The decimal digits of the unsigned 64-bit value at row i. */
function u64(out: Buffer, at: number, halves: Uint32Array, i: number): number {
  const hi = halves[2 * i + 1];
  const lo = halves[2 * i];
  if (hi < 0x200000) return digits(out, at, hi * TWO32 + lo); // below 2^53: exact
  // Long division by 10^9 in 16-bit steps: every partial value stays below 10^9 * 2^16 < 2^53.
  let rem = hi >>> 16;
  let q = 0;
  for (let k = 0; k < 4; k++) {
    if (k > 0) rem = rem * 65536 + (k === 1 ? hi & 0xffff : k === 2 ? lo >>> 16 : lo & 0xffff);
    const d = Math.floor(rem / BILLION);
    rem -= d * BILLION;
    q = q * 65536 + d;
  }
  // q < 2^64 / 10^9 < 2^35, and q >= 2^53 / 10^9 > 0: nine digits of rem follow it.
  return nine(out, digits(out, at, q), rem);
}

/**
 * The decimal digits of a non-negative integer below 2^53, in parts below 10^9: integer
 * arithmetic on them stays in 32 bits (a float's % is a call into the runtime).
 */
export function digits(out: Buffer, at: number, n: number): number {
  if (n < BILLION) return int(out, at, n);
  const hi = Math.floor(n / BILLION);
  return nine(out, digits(out, at, hi), n - hi * BILLION);
}

/** The digits of a non-negative integer below 10^9. */
function int(out: Buffer, at: number, n: number): number {
  let len = 1;
  for (let x = n; x >= 10; x = (x / 10) | 0) len++;
  for (let k = len - 1, x = n | 0; k >= 0; k--) {
    const q = (x / 10) | 0;
    out[at + k] = 48 + x - q * 10;
    x = q;
  }
  return at + len;
}

/** Nine digits (zeros in front) of a non-negative integer below 10^9. */
function nine(out: Buffer, at: number, n: number): number {
  for (let k = 8, x = n | 0; k >= 0; k--) {
    const q = (x / 10) | 0;
    out[at + k] = 48 + x - q * 10;
    x = q;
  }
  return at + 9;
}
