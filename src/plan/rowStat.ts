/**
 * A scanned row's stat JSON written straight from the scan table's columns into the plan
 * writer's buffer: exactly JSON.stringify(table.stat(row)), with no StatRecord, no string and
 * no BigInt per field. The numbers are written by the addon (native/planstat.c), which holds
 * the table's 64-bit columns; the keys with the root's dev and the (mode, uid, gid) between
 * them are made here once each.
 */
import type { FileTable } from '../scan/fileTable.js';
import { linux, type PlanStatHandle } from '../native/addon.js';
import { sharedPrefixes } from './rowPaths.js';

const ascii = (s: string) => Buffer.from(s, 'latin1');

/** The longest stat JSON: the keys and ten numbers of at most 20 digits and a sign. */
export const STAT_MOST = '{"dev":"","ino":"","size":"","mode":,"uid":,"gid":,"nlink":,"mtime":"","ctime":"","atime":""}'.length + 10 * 21;

/** writeLink's answer when the path needs escapes. */
export const NOT_PLAIN = -2;

export class RowStats {
  /** The mtime column as 32-bit halves (little-endian: low half first). */
  private mtime: Uint32Array;
  private handle: PlanStatHandle;
  /** `{"dev":"D","ino":"` for each root, and `","mode":M,"uid":U,"gid":G,"nlink":` for each (mode, uid, gid) number. */
  private heads: Buffer[] = [];
  private metas: Buffer[] = [];
  /** What each root's directories' paths share (rowPaths.ts sharedPrefixes), for the table's RowInodes to compare paths past. */
  readonly shared: Uint32Array;

  constructor(private table: FileTable) {
    const m = table.mtime;
    this.mtime = new Uint32Array(m.buffer, m.byteOffset, m.length * 2);
    this.shared = sharedPrefixes(table);
    const t = table;
    this.handle = linux().planStatOpen(t.ino, t.size, t.mtime, t.ctime, t.atime, t.nlink, t.dir, t.nameAt, t.names, t.dirStart, t.dirEnd, t.dirBytes);
  }

  /** The mtime as text that differs exactly when the mtime does (for metadata keys). */
  mtimeKey(i: number): string {
    return `${this.mtime[2 * i + 1]}.${this.mtime[2 * i]}`;
  }

  /** Whether rows i and j have one mtime (mtimeKey(i) === mtimeKey(j)). */
  sameMtime(i: number, j: number): boolean {
    const m = this.mtime;
    return m[2 * i] === m[2 * j] && m[2 * i + 1] === m[2 * j + 1];
  }

  /** Writes row i's stat JSON into `out` at `at`; returns where it ends, or -1 when it might not fit. */
  write(i: number, out: Buffer, at: number): number {
    if (out.length - at < STAT_MOST) return -1;
    return linux().planStatWrite(this.handle, i, out, at, this.head(i), this.meta(i));
  }

  /**
   * Writes the link line of row p's path with row i's stat (the row's inode's), up to the
   * stat, then `tail`: where it ends, -1 when it might not fit, NOT_PLAIN when the path needs
   * escapes (the caller writes that line another way).
   */
  writeLink(i: number, p: number, op: number, group: number, tail: Buffer, out: Buffer, at: number): number {
    return linux().planLinkWrite(this.handle, i, out, at, op, group, this.head(i), this.meta(i), tail, p);
  }

  /** `{"dev":"D","ino":"` of row i's root. */
  private head(i: number): Buffer {
    const t = this.table;
    const r = t.dirRoot[t.dir[i]];
    return (this.heads[r] ??= ascii(`{"dev":"${t.roots.devs[r]}","ino":"`));
  }

  /** `","mode":M,"uid":U,"gid":G,"nlink":` of row i's (mode, uid, gid). */
  private meta(i: number): Buffer {
    const t = this.table;
    const m = t.meta[i];
    return (this.metas[m] ??= ascii(`","mode":${t.modeOf(i)},"uid":${t.uidOf(i)},"gid":${t.gidOf(i)},"nlink":`));
  }
}
