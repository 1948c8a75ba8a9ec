/**
 * Which plan root a process belongs to. A guest's processes are chrooted or in a container,
 * so their own root (/proc/PID/root) lies in or is one of the plan's roots; a process whose
 * root is elsewhere (the host) is counted under the plan root of the path it reached the
 * file by, and failing that under its own root ("/" for the host).
 */
import { statSync } from 'node:fs';
import { decodePath, isWithin } from '../pathBytes.js';
import type { HeaderRecord } from '../planfile/records.js';
import { rootInode, type ProcInfo } from './procMaps.js';

interface Root {
  path: Buffer;
  dev?: bigint;
  ino?: bigint;
}

/** The plan's roots, with their inode so a container's root ("/" in its own namespace) is recognised too. */
export class PlanRoots {
  private roots: Root[];

  constructor(header: HeaderRecord) {
    this.roots = header.roots.map(decodePath).map((path) => {
      const st = statSync(path, { bigint: true, throwIfNoEntry: false });
      return { path, dev: st?.dev, ino: st?.ino };
    });
    // Deepest first, should one root lie inside another.
    this.roots.sort((a, b) => b.path.length - a.path.length);
  }

  /** The root a process that reached a file by `path` is counted under (a display string). */
  rootOf(info: ProcInfo, path: Buffer): string {
    if (info.root) {
      const r = this.roots.find((x) => isWithin(info.root!, x.path));
      if (r) return r.path.toString();
    }
    // In another mount namespace (a container) the link reads "/": its inode still tells.
    const own = rootInode(info.pid);
    if (own) {
      const r = this.roots.find((x) => x.dev === own.dev && x.ino === own.ino);
      if (r) return r.path.toString();
    }
    const r = this.roots.find((x) => isWithin(path, x.path));
    if (r) return r.path.toString();
    return info.root?.toString() ?? '?';
  }
}
