/**
 * `memory`'s result: the SPEC's JSON keys from a measurement, and the text report for people
 * (the files whose sharing saves the most page cache, the totals, and who must restart).
 * Pure: no I/O.
 */
import { formatBytes } from '../cli/output.js';
import type { Measurement, SharedUse } from './measureMemory.js';
import type { StaleProcess } from './stale.js';

export interface MemoryResult {
  digest: string;
  sharedInodes: number;
  residentBytes: number | null;
  mappings: number;
  processes: number;
  roots: number;
  bytesSaved: number | null;
  stale: StaleProcess[];
  /** Shared inodes of the plan not found as planned (not applied, or undone). */
  missing: number;
  prelinked: string[];
  unreadableProcesses: number;
  top: Array<{ path: string; mappedAs?: string; size: number; resident: number | null; processes: number; roots: string[]; bytesSaved: number | null }>;
  note?: string;
}

const TOP = 10;

/** Page cache that separate copies would take in the further roots; null when unknown. */
function saved(u: SharedUse): number | null {
  if (u.roots.size < 2) return 0;
  return u.resident === null ? null : u.resident * (u.roots.size - 1);
}

/** A sum that is null as soon as one term is unknown: a partial sum would be a guess. */
function sum(values: Array<number | null>): number | null {
  let total = 0;
  for (const v of values) {
    if (v === null) return null;
    total += v;
  }
  return total;
}

export function memoryResult(digest: string, m: Measurement): MemoryResult {
  const pids = new Set<number>();
  const roots = new Set<string>();
  for (const u of m.shared) {
    for (const p of u.pids) pids.add(p);
    for (const r of u.roots) roots.add(r);
  }
  const ranked = [...m.shared].sort((a, b) => (saved(b) ?? 0) - (saved(a) ?? 0) || (b.resident ?? 0) - (a.resident ?? 0) || b.pids.size - a.pids.size);
  const result: MemoryResult = {
    digest,
    sharedInodes: m.shared.length,
    residentBytes: sum(m.shared.map((u) => u.resident)),
    mappings: m.shared.reduce((n, u) => n + u.pids.size, 0),
    processes: pids.size,
    roots: roots.size,
    bytesSaved: sum(m.shared.map(saved)),
    stale: m.stale,
    missing: m.missing,
    prelinked: m.shared.filter((u) => u.prelinked).map((u) => u.mappedAs ?? u.path),
    unreadableProcesses: m.unreadable,
    top: ranked.slice(0, TOP).map((u) => ({
      path: u.path,
      ...(u.mappedAs ? { mappedAs: u.mappedAs } : {}),
      size: u.size,
      resident: u.resident,
      processes: u.pids.size,
      roots: [...u.roots].sort(),
      bytesSaved: saved(u),
    })),
  };
  if (m.link === 'reflink') result.note = 'a reflink plan shares no inode: each copy has its own page cache, so there is no memory to share';
  else if (m.shared.length === 0 && m.missing > 0) result.note = 'none of the shared inodes is in place: has the plan been applied?';
  return result;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;
const size = (n: number | null): string => (n === null ? 'unknown' : formatBytes(n));

/** The text report. */
export function memoryText(r: MemoryResult): string[] {
  const out: string[] = [];
  if (r.note) out.push(`Note: ${r.note}.`);
  out.push(`Plan ${r.digest}`);
  out.push(`${plural(r.sharedInodes, 'shared inode')} hold ${size(r.residentBytes)} in the page cache${r.missing ? ` (${r.missing} more are not in place)` : ''}.`);
  out.push(`${plural(r.processes, 'process')} in ${plural(r.roots, 'root')} ${r.processes === 1 ? 'maps' : 'map'} them (${plural(r.mappings, 'process-file mapping')}): sharing saves ${size(r.bytesSaved)} of page cache.`);
  if (r.residentBytes === null) out.push('  (the kernel does not report page-cache residency here: cachestat(2) needs Linux 6.5)');
  const useful = r.top.filter((t) => t.processes > 0);
  if (useful.length) {
    out.push('', 'Shared files saving the most memory:');
    out.push(`  ${'saved'.padStart(10)} ${'resident'.padStart(10)} roots procs  file`);
    for (const t of useful) {
      out.push(`  ${size(t.bytesSaved).padStart(10)} ${size(t.resident).padStart(10)} ${String(t.roots.length).padStart(5)} ${String(t.processes).padStart(5)}  ${JSON.stringify(t.mappedAs ?? t.path)}`);
    }
  }
  if (r.prelinked.length) {
    out.push('', `Prelinked ELF files (prelink rewrites them per system, so they will not stay shared): ${r.prelinked.length}`);
    for (const p of r.prelinked.slice(0, TOP)) out.push(`  ${JSON.stringify(p)}`);
  }
  out.push('', ...restartList(r.stale));
  if (r.unreadableProcesses) out.push(`(${plural(r.unreadableProcesses, 'process')} could not be read: the kernel hides ${r.unreadableProcesses === 1 ? 'it' : 'them'} from this user)`);
  return out;
}

/** Who must restart to share, by root and then by systemd unit or cgroup: services, not pids. */
function restartList(stale: StaleProcess[]): string[] {
  if (!stale.length) return ['No process keeps a replaced copy: nothing needs a restart.'];
  const held = sum(stale.map((s) => s.bytes));
  const n = new Set(stale.map((s) => s.pid)).size;
  const out = [`Restart to share: ${plural(n, 'process')} still ${n === 1 ? 'maps or holds' : 'map or hold'} a replaced copy (${size(held)} of page cache):`];
  const byRoot = new Map<string, Map<string, StaleProcess[]>>();
  for (const s of stale) {
    const group = s.unit ? `unit ${s.unit}` : s.cgroup !== undefined ? `cgroup ${s.cgroup}` : '(no cgroup)';
    const units = byRoot.get(s.root) ?? byRoot.set(s.root, new Map()).get(s.root)!;
    (units.get(group) ?? units.set(group, []).get(group)!).push(s);
  }
  for (const [root, units] of [...byRoot].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    out.push(`  root ${JSON.stringify(root)}:`);
    for (const [unit, list] of units) {
      out.push(`    ${unit}:`);
      for (const s of list) out.push(`      pid ${s.pid} ${JSON.stringify(s.command)} ${s.via === 'fd' ? 'holds open' : 'maps'} ${JSON.stringify(s.path)} (${size(s.bytes)})`);
    }
  }
  return out;
}
