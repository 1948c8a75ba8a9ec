/**
 * A PlanInode read from the scan table's row: links, size and metadata key straight from the
 * columns, the stat JSON written from them (rowStat.ts); a StatRecord is made only when a
 * record needs one (a group's target or store entry).
 */
import type { FileTable } from '../scan/fileTable.js';
import type { MatchOptions, StatRecord, XattrRecord } from '../planfile/records.js';
import type { PlanInode } from './assemblePlan.js';
import { metadataKeyOf } from './metadataKey.js';
import type { RowStats } from './rowStat.js';

export class RowInode implements PlanInode {
  private record?: StatRecord;

  constructor(
    private table: FileTable,
    private stats: RowStats,
    private row: number,
    readonly paths: Buffer[],
    readonly xattrs?: XattrRecord,
    readonly storeEntry?: { path: Buffer; suffix: number },
  ) {}

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

  stat(): StatRecord {
    return (this.record ??= this.table.stat(this.row));
  }

  writeStat(out: Buffer, at: number): number {
    return this.stats.write(this.row, out, at);
  }
}
