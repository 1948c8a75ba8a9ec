/**
 * `memory`'s measurement, read-only: the page cache each shared inode holds, the processes
 * (in which roots) that map it, and the processes that still keep a replaced copy. It reads
 * the plan, opens each target by descriptor beneath its root or store, and walks /proc once.
 */
import { closeSync, fstatSync } from 'node:fs';
import type { OpenPlan } from '../planfile/readPlan.js';
import { planInodes, inodeKey, type PlannedTarget, type ReplacedInode } from './planInodes.js';
import { PlanFiles } from './planFiles.js';
import { TargetInodes, isShared } from './targetInodes.js';
import { residentBytes } from './residency.js';
import { isPrelinked } from './prelink.js';
import { listPids, mappedFiles, openFiles, processInfo, unitOf } from './procMaps.js';
import { PlanRoots } from './processRoot.js';
import { isStale, staleBytes, type StaleProcess } from './stale.js';
import { encodePath } from '../pathBytes.js';

/** One shared inode as measured now. */
export interface SharedUse {
  dev: bigint;
  ino: bigint;
  path: string;
  /** A path a process mapped it by (more telling than a store entry's name). */
  mappedAs?: string;
  size: number;
  resident: number | null;
  pids: Set<number>;
  roots: Set<string>;
  prelinked: boolean;
}

export interface Measurement {
  link: 'hardlink' | 'reflink';
  shared: SharedUse[];
  /** Targets of the plan that share nothing now (the plan is not applied, or was undone). */
  missing: number;
  stale: StaleProcess[];
  /** Processes whose maps the kernel would not show us. */
  unreadable: number;
}

/** Measures what the plan's sharing holds and who uses it, now. */
export function measureMemory(plan: OpenPlan): Measurement {
  const link = plan.header.link;
  if (link === 'reflink') return { link, shared: [], missing: 0, stale: [], unreadable: 0 };
  const { targets, replaced } = planInodes(plan);
  const files = new PlanFiles(plan.header);
  try {
    const targetsNow = new TargetInodes(files);
    const uses = new Map<string, SharedUse>();
    let missing = 0;
    for (const t of targets.values()) {
      const use = openShared(files, t, targetsNow);
      if (!use) missing++;
      else if (!uses.has(inodeKey(use.dev, use.ino))) uses.set(inodeKey(use.dev, use.ino), use);
    }
    // A replaced file that is still the shared inode (the keeper that became it) is not replaced.
    for (const key of uses.keys()) replaced.delete(key);
    const { stale, unreadable } = scanProcesses(plan, uses, replaced, targetsNow);
    return { link, shared: [...uses.values()], missing, stale, unreadable };
  } finally {
    files.close();
  }
}

/** One walk over /proc: who maps each shared inode (and from which root), who keeps a replaced copy. */
function scanProcesses(plan: OpenPlan, uses: Map<string, SharedUse>, replaced: Map<string, ReplacedInode>, targetsNow: TargetInodes) {
  const stale: StaleProcess[] = [];
  let unreadable = 0;
  const replacedInos = new Set([...replaced.values()].map((r) => r.ino.toString()));
  const candidates = new Set([...[...uses.values()].map((u) => u.ino.toString()), ...replacedInos]);
  if (candidates.size === 0) return { stale, unreadable };
  const roots = new PlanRoots(plan.header);
  const done = new Map<string, boolean>();
  for (const pid of listPids()) {
    if (pid === process.pid) continue;
    const maps = mappedFiles(pid, candidates);
    if (!maps) {
      unreadable++;
      continue;
    }
    const fds = replacedInos.size ? openFiles(pid, replacedInos) : [];
    if (!maps.length && !fds.length) continue;
    const info = processInfo(pid);
    const staleKeys = new Set<string>();
    for (const f of [...maps, ...fds]) {
      const key = inodeKey(f.dev, f.ino);
      const use = f.via === 'map' ? uses.get(key) : undefined;
      if (use) {
        use.pids.add(pid);
        use.roots.add(roots.rootOf(info, f.path));
        use.mappedAs ??= f.path.toString();
      } else if (!staleKeys.has(key) && isStale(f, replaced, targetsNow, done)) {
        staleKeys.add(key);
        const unit = unitOf(info.cgroup);
        stale.push({
          pid,
          command: info.command,
          root: roots.rootOf(info, f.path),
          ...encodePath(f.path),
          bytes: staleBytes(f),
          size: Number(f.size),
          via: f.via,
          ...(info.cgroup !== undefined ? { cgroup: info.cgroup } : {}),
          ...(unit ? { unit } : {}),
        });
      }
    }
  }
  return { stale, unreadable };
}

/** Opens a target beneath its root or store; undefined when it shares nothing now. */
function openShared(files: PlanFiles, t: PlannedTarget, targetsNow: TargetInodes): SharedUse | undefined {
  let fd: number;
  try {
    fd = files.open(t.path);
  } catch {
    targetsNow.remember(t, undefined);
    return undefined;
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    targetsNow.remember(t, st.isFile() ? st : undefined);
    if (!st.isFile() || !isShared(files, t, st)) return undefined;
    return {
      dev: st.dev,
      ino: st.ino,
      path: t.path.toString(),
      size: Number(st.size),
      resident: residentBytes(fd),
      pids: new Set(),
      roots: new Set(),
      prelinked: isPrelinked(fd),
    };
  } finally {
    closeSync(fd);
  }
}
