/**
 * The planner's view of an inode (PlanInode), and the one made from records (tests, and any
 * caller without a scan table); rowInode.ts makes them from the scan table's rows.
 */
import { metadataKey } from './metadataKey.js';
import { STAT_MOST } from './rowStat.js';
import { copyPlain } from './rowPaths.js';
import type { MatchOptions, StatRecord, XattrRecord } from '../planfile/records.js';

/**
 * One inode as the planner reads it: what it decides by (links, size, metadata key, paths),
 * and its identity as the plan records it, made only where a record needs it. Inodes from the
 * scan table (rowInode.ts) write their stat JSON from the table's columns; `recordInode` makes
 * one from a StatRecord.
 */
export interface PlanInode {
  /** How many paths this inode has inside the roots. */
  readonly pathCount: number;
  /** Path k of this inode (its paths sorted bytewise), as new bytes. */
  path(k: number): Buffer;
  pathLength(k: number): number;
  /** Copies path k into `out` at `at` (room for pathLength(k) is the caller's) when it is its own JSON text (rowPaths.ts copyPlain): where it ends, else -1. */
  writePath(k: number, out: Buffer, at: number): number;
  /** Buffer.compare of the first paths of this inode and `other` (an inode of the same kind). */
  comparePath(other: PlanInode): number;
  /** st_nlink: its links inside and outside the roots. */
  readonly nlink: number;
  readonly size: bigint;
  xattrs?: XattrRecord;
  /** Set when this inode is already an entry of the store. */
  storeEntry?: { path: Buffer; suffix: number };
  /** What must match besides content for two inodes to become one (metadataKey.ts). */
  key(match: MatchOptions): string;
  /** key(match) === other.key(match) (an inode of the same kind), without making either where it can. */
  sameKey(other: PlanInode, match: MatchOptions): boolean;
  /** The identity as scanned (a target's or a store entry's record: once a group). */
  stat(): StatRecord;
  /** Writes JSON.stringify(stat()) into `out` at `at`: where it ends, or -1 when it might not fit. */
  writeStat(out: Buffer, at: number): number;
  /**
   * Writes path k's link line up to its stat, then `tail` (the rest of the line), when the
   * inode can (rowInode.ts): where it ends, -1 when it might not fit, NOT_PLAIN (rowStat.ts)
   * when the path needs escapes.
   */
  writeLink?(k: number, op: number, group: number, tail: Buffer, out: Buffer, at: number): number;
}

/** A PlanInode made from records: its paths are Buffers. */
export interface RecordInode extends PlanInode {
  paths: Buffer[];
}

/** A PlanInode from its stat record and sorted paths (tests, and any caller without a scan table). */
export function recordInode(stat: StatRecord, paths: Buffer[], xattrs?: XattrRecord, storeEntry?: { path: Buffer; suffix: number }): RecordInode {
  let json: string | undefined;
  const key = (match: MatchOptions) => metadataKey(stat, xattrs, match);
  return {
    paths,
    pathCount: paths.length,
    path: (k) => paths[k],
    pathLength: (k) => paths[k].length,
    writePath: (k, out, at) => copyPlain(paths[k], 0, paths[k].length, out, at),
    comparePath: (other) => Buffer.compare(paths[0], other.path(0)),
    nlink: stat.nlink,
    size: BigInt(stat.size),
    xattrs,
    storeEntry,
    key,
    sameKey: (other, match) => key(match) === other.key(match),
    stat: () => stat,
    writeStat(out, at) {
      json ??= JSON.stringify(stat);
      const b = Buffer.byteLength(json);
      return b > out.length - at || b > STAT_MOST ? -1 : at + out.write(json, at);
    },
  };
}
