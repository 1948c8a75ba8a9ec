/**
 * Stale processes: they still map or hold open a copy that the plan replaced by a link. Such
 * a process keeps its own copy in memory until it restarts (and then maps the shared inode).
 * Only a copy with no name left counts (link count 0): inode numbers are reused, so an inode
 * that still has a name may be another file by now, or a copy some other path still uses.
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { residentBytes } from './residency.js';
import { inodeKey, type ReplacedInode } from './planInodes.js';
import type { ProcFile } from './procMaps.js';
import type { TargetInodes } from './targetInodes.js';

/** One process that must restart to share, with the copy it keeps (SPEC `memory` result). */
export interface StaleProcess {
  pid: number;
  command: string;
  root: string;
  /** The replaced file's path as the process reached it. */
  path: string;
  /** The exact bytes of a path that is not UTF-8 (base64). */
  path64?: string;
  /** Page cache the old copy holds (cachestat), or null when the kernel will not tell. */
  bytes: number | null;
  size: number;
  via: 'map' | 'fd';
  cgroup?: string;
  unit?: string;
}

/**
 * Is this mapped or open file a copy that the plan replaced and that has no name left? The
 * plan must really have replaced it: its path is now its target's inode (an unapplied plan,
 * or an undone one, replaced nothing, and a restart would share nothing).
 */
export function isStale(f: ProcFile, replaced: Map<string, ReplacedInode>, targets: TargetInodes, done: Map<string, boolean>): boolean {
  if (f.nlink !== 0) return false;
  const key = inodeKey(f.dev, f.ino);
  const r = replaced.get(key);
  if (!r) return false;
  let isDone = done.get(key);
  if (isDone === undefined) done.set(key, (isDone = targets.isLinked(r.path, r.target)));
  return isDone;
}

/** The page cache an old copy holds, through the process's own handle on it. */
export function staleBytes(f: ProcFile): number | null {
  let fd: number;
  try {
    fd = openSync(f.handle, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    // The process may have remapped that range meanwhile: only the same inode counts.
    const st = fstatSync(fd, { bigint: true });
    if (st.dev !== f.dev || st.ino !== f.ino) return null;
    return residentBytes(fd);
  } finally {
    closeSync(fd);
  }
}
