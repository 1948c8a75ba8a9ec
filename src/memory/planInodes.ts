/**
 * The inodes a plan is about, read from its records: the ones it shares (each group's
 * target: a store entry, or the keeper with --no-store) and the ones it replaced (each
 * link operation's file as planned, whose device and inode the plan recorded).
 */
import type { OpenPlan } from '../planfile/readPlan.js';
import { decodePath } from '../pathBytes.js';

/** A shared inode: the target of one group (several groups may share one target). */
export interface SharedInode {
  dev: bigint;
  ino: bigint;
  size: bigint;
  /** Its path in the plan (store entry, or keeper). */
  path: Buffer;
  integrity: string;
  /** Paths the plan links to it, besides the target's own path. */
  links: number;
}

/** A file the plan replaces by a link: its old inode, one path it had, and the inode that path links to once done. */
export interface ReplacedInode {
  dev: bigint;
  ino: bigint;
  path: Buffer;
  target: { dev: bigint; ino: bigint };
}

export interface PlanInodes {
  shared: Map<string, SharedInode>;
  replaced: Map<string, ReplacedInode>;
}

/** `dev:ino` as decimal strings: the key every lookup here uses. */
export const inodeKey = (dev: bigint | string, ino: bigint | string): string => `${dev}:${ino}`;

export function planInodes(plan: OpenPlan): PlanInodes {
  const shared = new Map<string, SharedInode>();
  const replaced = new Map<string, ReplacedInode>();
  for (const rec of plan.records()) {
    if (rec.type !== 'link') continue;
    const t = rec.target.stat;
    const tkey = inodeKey(t.dev, t.ino);
    const s = shared.get(tkey);
    if (s) s.links++;
    else shared.set(tkey, { dev: BigInt(t.dev), ino: BigInt(t.ino), size: BigInt(t.size), path: decodePath(rec.target), integrity: rec.integrity, links: 1 });
    const key = inodeKey(rec.stat.dev, rec.stat.ino);
    if (key !== tkey && !replaced.has(key)) replaced.set(key, { dev: BigInt(rec.stat.dev), ino: BigInt(rec.stat.ino), path: decodePath(rec), target: { dev: BigInt(t.dev), ino: BigInt(t.ino) } });
  }
  return { shared, replaced };
}
