/**
 * What /proc says about running processes: the files each maps (`maps`, confirmed through
 * `map_files`, because on btrfs the device in `maps` is the filesystem's, not the subvolume's
 * that stat reports), the files each holds open (`fd`), its root, command and cgroup.
 * Every read may fail because the process has just exited or hides from us: such a process is
 * simply not seen (counted apart by the caller), never an error.
 */
import { readdirSync, readFileSync, readlinkSync, statSync, type BigIntStats } from 'node:fs';
import { errnoCode } from '../errors.js';

/** One file a process maps or holds open, as the kernel's stat of it shows. */
export interface ProcFile {
  pid: number;
  via: 'map' | 'fd';
  /** /proc/PID/map_files/RANGE or /proc/PID/fd/N: opening it reaches the same inode. */
  handle: string;
  dev: bigint;
  ino: bigint;
  nlink: number;
  size: bigint;
  /** The path the process reached it by (as /proc shows it from here), without " (deleted)". */
  path: Buffer;
}

/** Every process id in /proc now. */
export function listPids(): number[] {
  return readdirSync('/proc')
    .filter((n) => /^[0-9]+$/.test(n))
    .map(Number);
}

function tryStat(p: string): BigIntStats | undefined {
  try {
    return statSync(p, { bigint: true, throwIfNoEntry: false }) ?? undefined;
  } catch {
    return undefined;
  }
}

const DELETED = Buffer.from(' (deleted)');

function stripDeleted(p: Buffer): Buffer {
  return p.length >= DELETED.length && p.subarray(p.length - DELETED.length).equals(DELETED) ? p.subarray(0, p.length - DELETED.length) : p;
}

/**
 * The regular files that `pid` maps whose inode number is in `inos`, one per inode (a library
 * is mapped in several pieces). Returns undefined when we may not read its maps.
 */
export function mappedFiles(pid: number, inos: Set<string>): ProcFile[] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/maps`, 'latin1');
  } catch (err) {
    // Gone meanwhile (ENOENT, ESRCH): nothing to see. Refused (EACCES, EPERM): hidden from us.
    const code = errnoCode(err);
    return code === 'ENOENT' || code === 'ESRCH' ? [] : undefined;
  }
  const seen = new Map<string, ProcFile>();
  for (const line of text.split('\n')) {
    // "start-end perms offset major:minor inode   path"; the path may hold spaces.
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ ([0-9]+) +(.*)$/.exec(line);
    if (!m || m[3] === '0' || !inos.has(m[3])) continue;
    const handle = `/proc/${pid}/map_files/${BigInt('0x' + m[1]).toString(16)}-${BigInt('0x' + m[2]).toString(16)}`;
    // The inode number alone is only a candidate: map_files's stat gives the true device.
    const st = tryStat(handle);
    if (!st || !st.isFile()) continue;
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) continue;
    seen.set(key, { pid, via: 'map', handle, dev: st.dev, ino: st.ino, nlink: Number(st.nlink), size: st.size, path: stripDeleted(Buffer.from(m[4], 'latin1')) });
  }
  return [...seen.values()];
}

/** The device and inode of a process's root directory (a stat that asks its filesystem). */
export function rootInode(pid: number): { dev: bigint; ino: bigint } | undefined {
  const st = tryStat(`/proc/${pid}/root`);
  return st && { dev: st.dev, ino: st.ino };
}

/** The regular files `pid` holds open whose inode number is in `inos`. */
export function openFiles(pid: number, inos: Set<string>): ProcFile[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const out: ProcFile[] = [];
  for (const fd of fds) {
    // fdinfo names the inode without asking its filesystem; a stat through the fd would ask
    // it, and a guest's FUSE daemon need never answer. Only candidates are stat'ed.
    const ino = fdInode(pid, fd);
    if (ino !== undefined && !inos.has(ino)) continue;
    const handle = `/proc/${pid}/fd/${fd}`;
    const st = tryStat(handle);
    if (!st || !st.isFile() || !inos.has(st.ino.toString())) continue;
    let path: Buffer;
    try {
      path = stripDeleted(readlinkSync(handle, { encoding: 'buffer' }));
    } catch {
      continue;
    }
    out.push({ pid, via: 'fd', handle, dev: st.dev, ino: st.ino, nlink: Number(st.nlink), size: st.size, path });
  }
  return out;
}

/** The inode number in /proc/PID/fdinfo/FD (Linux 5.14 and later), undefined where it is not shown. */
function fdInode(pid: number, fd: string): string | undefined {
  try {
    return /^ino:\s*([0-9]+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1'))?.[1];
  } catch {
    return undefined;
  }
}

/** Who a process is: its command name, its root (path and inode) and its cgroup. */
export interface ProcInfo {
  pid: number;
  command: string;
  root?: Buffer;
  cgroup?: string;
}

export function processInfo(pid: number): ProcInfo {
  const read = (f: string): string | undefined => {
    try {
      return readFileSync(`/proc/${pid}/${f}`, 'utf8');
    } catch {
      return undefined;
    }
  };
  const info: ProcInfo = { pid, command: (read('comm') ?? '?').replace(/\n$/, '') };
  try {
    info.root = readlinkSync(`/proc/${pid}/root`, { encoding: 'buffer' });
  } catch {
    /* exited, or not ours to see */
  }
  // cgroup v2: "0::/system.slice/nginx.service"; v1 lines name a controller, the v2 line none.
  const cg = read('cgroup')?.split('\n').find((l) => l.startsWith('0::')) ?? read('cgroup')?.split('\n').find((l) => l.includes(':name=systemd:'));
  if (cg) info.cgroup = cg.slice(cg.indexOf(':', cg.indexOf(':') + 1) + 1);
  return info;
}

/** The systemd unit of a cgroup path (`/system.slice/nginx.service` → `nginx.service`), if it names one. */
export function unitOf(cgroup: string | undefined): string | undefined {
  if (!cgroup) return undefined;
  const parts = cgroup.split('/').reverse();
  return parts.find((p) => /\.(service|scope)$/.test(p));
}
