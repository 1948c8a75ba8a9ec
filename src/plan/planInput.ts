/**
 * From the hashing stage's result to the planner's input: one content group's rows of the
 * scan table become inodes with all their paths (sorted bytewise), their xattrs, and the
 * store entry each already is, with the suffixes the store already uses for that content.
 */
import type { FileTable } from '../scan/fileTable.js';
import type { DuplicateResult } from '../hash/findDuplicates.js';
import type { StoreEntry } from '../store/storeEntries.js';
import type { XattrRecord } from '../planfile/records.js';
import type { PlanContent, PlanInode } from './assemblePlan.js';
import { RowInode } from './rowInode.js';
import { compareRowPaths } from './rowPaths.js';
import type { RowStats } from './rowStat.js';

function xattrRecord(list: Array<[string, Uint8Array]> | undefined): XattrRecord | undefined {
  if (!list || list.length === 0) return undefined;
  const rec: XattrRecord = {};
  for (const [name, value] of list) rec[name] = Buffer.from(value).toString('base64');
  return rec;
}

/** The planner's input for group g of `dups`; `entries` are the store's entries of its content; `stats` reads `table`. */
export function planInput(g: number, integrity: string, table: FileTable, stats: RowStats, dups: DuplicateResult, entries: StoreEntry[]): PlanContent {
  const members = dups.groups.members(g);
  const inodes: PlanInode[] = [];
  for (let k = 0; k < members.length; k++) {
    const row = members[k];
    const aliases = dups.aliases.get(row);
    const rows = aliases ? [row, ...aliases].sort((x, y) => compareRowPaths(table, x, y, stats.shared)) : undefined;
    const entry = entries.length ? entries.find((e) => e.dev === table.devOf(row) && e.ino === table.ino[row]) : undefined;
    inodes.push(new RowInode(table, stats, row, rows, xattrRecord(dups.xattrs.get(row)), entry ? { path: entry.path, suffix: entry.suffix } : undefined));
  }
  return { integrity, storeSuffixes: entries.map((e) => e.suffix), inodes };
}
