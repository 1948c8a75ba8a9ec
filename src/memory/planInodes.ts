/**
 * What a plan links, read from its records: each group's target (a store entry, or the keeper
 * with --no-store) and each link operation's file as planned. The inode a target has after
 * apply is read from the filesystem, not from the plan: plan version 2 copies a new store
 * entry into a new inode at apply time (its identity is only journaled), while version 1 and
 * `--adopt` link the keeper's own inode in. A file the plan replaced is one whose path is now
 * its target's inode.
 */
import type { OpenPlan } from '../planfile/readPlan.js';
import { decodePath } from '../pathBytes.js';

/** A group's target as planned (several groups may name one target). */
export interface PlannedTarget {
  path: Buffer;
  /** The identity the plan recorded (the keeper's before a copy-in). */
  dev: bigint;
  ino: bigint;
  nlink: number;
  integrity: string;
}

/** A file the plan replaces by a link: its old inode, one path it had, and the target that path links to. */
export interface ReplacedInode {
  dev: bigint;
  ino: bigint;
  path: Buffer;
  target: PlannedTarget;
}

export interface PlanInodes {
  /** By target path (latin1 of its bytes). */
  targets: Map<string, PlannedTarget>;
  /** By the old inode's `dev:ino`. */
  replaced: Map<string, ReplacedInode>;
}

/** `dev:ino` as decimal strings: the key every lookup here uses. */
export const inodeKey = (dev: bigint | string, ino: bigint | string): string => `${dev}:${ino}`;

export function planInodes(plan: OpenPlan): PlanInodes {
  const targets = new Map<string, PlannedTarget>();
  const replaced = new Map<string, ReplacedInode>();
  for (const rec of plan.records()) {
    if (rec.type !== 'link') continue;
    const tpath = decodePath(rec.target);
    const tkey = tpath.toString('latin1');
    let target = targets.get(tkey);
    if (!target) {
      const t = rec.target.stat;
      target = { path: tpath, dev: BigInt(t.dev), ino: BigInt(t.ino), nlink: t.nlink, integrity: rec.integrity };
      targets.set(tkey, target);
    }
    const key = inodeKey(rec.stat.dev, rec.stat.ino);
    if (!replaced.has(key)) replaced.set(key, { dev: BigInt(rec.stat.dev), ino: BigInt(rec.stat.ino), path: decodePath(rec), target });
  }
  return { targets, replaced };
}
