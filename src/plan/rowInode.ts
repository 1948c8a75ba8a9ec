/**
 * A PlanInode read from the scan table's rows: links, size and metadata key straight from the
 * columns, the stat JSON written from them (rowStat.ts), the paths copied from the table's
 * directory and name bytes (rowPaths.ts); a StatRecord or a path's Buffer is made only when a
 * record needs one (a group's target or store entry, a path that needs escapes).
 */
import type { FileTable } from '../scan/fileTable.js';
import type { MatchOptions, StatRecord, XattrRecord } from '../planfile/records.js';
import type { PlanInode } from './planInode.js';
import { metadataKeyOf } from './metadataKey.js';
import type { RowStats } from './rowStat.js';
import { compareRowPaths, copyRowPath, rowPathLength } from './rowPaths.js';

export class RowInode implements PlanInode {
  private record?: StatRecord;

  constructor(
    private table: FileTable,
    private stats: RowStats,
    /** The row whose columns are the inode's (the one hashed). */
    private row: number,
    /** The inode's rows, one per path, in path order; undefined when its one path is `row`'s (most inodes: no array each). */
    private rows: number[] | undefined,
    readonly xattrs?: XattrRecord,
    readonly storeEntry?: { path: Buffer; suffix: number },
  ) {}

  /** The row of path k. */
  private rowOf(k: number): number {
    return this.rows === undefined ? this.row : this.rows[k];
  }

  get pathCount(): number {
    return this.rows === undefined ? 1 : this.rows.length;
  }

  path(k: number): Buffer {
    return this.table.path(this.rowOf(k));
  }

  pathLength(k: number): number {
    return rowPathLength(this.table, this.rowOf(k));
  }

  writePath(k: number, out: Buffer, at: number): number {
    return copyRowPath(this.table, this.rowOf(k), out, at);
  }

  comparePath(other: PlanInode): number {
    return compareRowPaths(this.table, this.rowOf(0), (other as RowInode).rowOf(0), this.stats.shared);
  }

  get nlink(): number {
    return this.table.nlink[this.row];
  }

  get size(): bigint {
    return this.table.size[this.row];
  }

  key(match: MatchOptions): string {
    const { table, row } = this;
    return metadataKeyOf(table.modeOf(row), table.uidOf(row), table.gidOf(row), this.stats.mtimeKey(row), this.xattrs, match);
  }

  sameKey(other: PlanInode, match: MatchOptions): boolean {
    const { table, row } = this;
    const o = (other as RowInode).row;
    if (this.xattrs !== undefined || other.xattrs !== undefined) return this.key(match) === other.key(match);
    // One (mode, uid, gid) number is one (mode, uid, gid).
    if (table.meta[row] !== table.meta[o]) {
      if (match.mode && (table.modeOf(row) & 0o7777) !== (table.modeOf(o) & 0o7777)) return false;
      if (match.owner && (table.uidOf(row) !== table.uidOf(o) || table.gidOf(row) !== table.gidOf(o))) return false;
    }
    return !match.mtime || this.stats.sameMtime(row, o);
  }

  stat(): StatRecord {
    return (this.record ??= this.table.stat(this.row));
  }

  writeStat(out: Buffer, at: number): number {
    return this.stats.write(this.row, out, at);
  }

  writeLink(k: number, op: number, group: number, tail: Buffer, out: Buffer, at: number): number {
    return this.stats.writeLink(this.row, this.rowOf(k), op, group, tail, out, at);
  }
}
