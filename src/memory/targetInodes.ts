/**
 * The inode each planned target has now, read once per target through a descriptor opened
 * beneath its root or store, and whether a path is linked to it.
 */
import { closeSync, fstatSync, type BigIntStats } from 'node:fs';
import type { PlanFiles } from './planFiles.js';
import type { PlannedTarget } from './planInodes.js';

export interface InodeNow {
  dev: bigint;
  ino: bigint;
  nlink: number;
}

/** The stat of the regular file at `path` (opened beneath its root), or undefined. */
export function statBeneath(files: PlanFiles, path: Buffer): BigIntStats | undefined {
  let fd: number;
  try {
    fd = files.open(path);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.isFile() ? st : undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Does the inode now at a target's path share anything? A store entry does once a second name
 * links it; the keeper of --no-store (or an adopted keeper) once it has more names than the
 * plan saw; a copied-in entry (a new inode) once anything links it.
 */
export function isShared(files: PlanFiles, t: PlannedTarget, st: { dev: bigint; ino: bigint; nlink: bigint | number }): boolean {
  const nlink = Number(st.nlink);
  if (st.dev === t.dev && st.ino === t.ino && !files.inStore(t.path)) return nlink > t.nlink;
  return nlink >= 2;
}

export class TargetInodes {
  private now = new Map<PlannedTarget, InodeNow | null>();

  constructor(private files: PlanFiles) {}

  /** Records what the caller found at a target's path (it had it open anyway). */
  remember(t: PlannedTarget, st: BigIntStats | undefined): void {
    this.now.set(t, st ? { dev: st.dev, ino: st.ino, nlink: Number(st.nlink) } : null);
  }

  /** The inode at the target's path now, or undefined when there is no regular file. */
  inodeOf(t: PlannedTarget): InodeNow | undefined {
    if (!this.now.has(t)) this.remember(t, statBeneath(this.files, t.path));
    return this.now.get(t) ?? undefined;
  }

  /** Is the file at `path` now one more name of the target's inode (its operation done)? */
  isLinked(path: Buffer, t: PlannedTarget): boolean {
    const target = this.inodeOf(t);
    if (!target) return false;
    const st = statBeneath(this.files, path);
    return st !== undefined && st.dev === target.dev && st.ino === target.ino;
  }
}
