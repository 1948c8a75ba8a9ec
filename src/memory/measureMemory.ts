/**
 * `memory`'s measurement, read-only: the page cache each shared inode holds, the processes
 * (in which roots) that map it, and the processes that still keep a replaced copy. It reads
 * the plan, opens each shared inode by descriptor beneath its root or store, and walks /proc
 * once.
 */
import { closeSync, fstatSync } from 'node:fs';
import type { OpenPlan } from '../planfile/readPlan.js';
import { planInodes, inodeKey, type ReplacedInode, type SharedInode } from './planInodes.js';
import { PlanFiles } from './planFiles.js';
import { residentBytes } from './residency.js';
import { isPrelinked } from './prelink.js';
import { listPids, mappedFiles, openFiles, processInfo, unitOf, type ProcInfo } from './procMaps.js';
import { PlanRoots } from './processRoot.js';
import { encodePath } from '../pathBytes.js';
import { isStale, staleBytes, type StaleProcess } from './stale.js';

/** One shared inode as measured now. */
export interface SharedUse {
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
  /** Shared inodes of the plan not found at their path (the plan is not applied, or was undone). */
  missing: number;
  stale: StaleProcess[];
  /** Processes whose maps the kernel would not show us. */
  unreadable: number;
}

/** Measures what the plan's sharing holds and who uses it, now. */
export function measureMemory(plan: OpenPlan): Measurement {
  const link = plan.header.link;
  if (link === 'reflink') return { link, shared: [], missing: 0, stale: [], unreadable: 0 };
  const { shared, replaced } = planInodes(plan);
  const files = new PlanFiles(plan.header);
  try {
    const uses = new Map<string, SharedUse>();
    for (const [key, s] of shared) {
      const use = openShared(files, s);
      if (use) uses.set(key, use);
    }
    const { stale, unreadable } = scanProcesses(plan, files, uses, shared, replaced);
    return { link, shared: [...uses.values()], missing: shared.size - uses.size, stale, unreadable };
  } finally {
    files.close();
  }
}

/** One walk over /proc: who maps each shared inode (and from which root), who keeps a replaced copy. */
function scanProcesses(plan: OpenPlan, files: PlanFiles, uses: Map<string, SharedUse>, shared: Map<string, SharedInode>, replaced: Map<string, ReplacedInode>) {
  const stale: StaleProcess[] = [];
  let unreadable = 0;
  const replacedInos = new Set([...replaced.values()].map((r) => r.ino.toString()));
  const candidates = new Set([...[...uses.keys()].map((k) => shared.get(k)!.ino.toString()), ...replacedInos]);
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
    const info: ProcInfo = processInfo(pid);
    const staleKeys = new Set<string>();
    for (const f of [...maps, ...fds]) {
      const key = inodeKey(f.dev, f.ino);
      const use = f.via === 'map' ? uses.get(key) : undefined;
      if (use) {
        use.pids.add(pid);
        use.roots.add(roots.rootOf(info, f.path));
        use.mappedAs ??= f.path.toString();
      } else if (!staleKeys.has(key) && isStale(f, replaced, files, done)) {
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

/** Opens a shared inode beneath its root or store; undefined when it is not there as planned. */
function openShared(files: PlanFiles, s: SharedInode): SharedUse | undefined {
  let fd: number;
  try {
    fd = files.open(s.path);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile() || st.dev !== s.dev || st.ino !== s.ino) return undefined;
    return {
      path: s.path.toString(),
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
