/**
 * The native executor (native/executor*.c) seen from TypeScript: roots opened once, steps
 * sent in batches, results back. Paths are given as (root index, directory beneath the root,
 * name); the kernel resolves each directory beneath its root (openat2, no symlinks, no
 * mount points), so nothing a guest does in its tree can lead a step outside it.
 */
import { linux } from '../native/addon.js';
import { isWithin } from '../pathBytes.js';
import type { StatRecord, XattrRecord } from '../planfile/records.js';
import { integrityParts } from '../integrity.js';

/** Step kinds (native/executor.h). */
export const K = { target: 1, copyIn: 2, link: 3, reflink: 4, restore: 5, release: 6, end: 7, sibling: 8 } as const;
/** Result statuses (native/executor.h). */
export const S = { applied: 0, already: 1, drift: 2, failed: 3 } as const;
/** Expectation flags (native/executor.h). */
export const EXP = { inode: 1, content: 2, noContent: 4, notApplied: 8 } as const;

/** One step as the addon reads it (short keys: one object per operation crosses to C). */
export interface Step {
  k: number;
  r: number;
  d: Buffer;
  n: Buffer;
  t?: Buffer;
  /** Undo: apply's temp name for the same path (a killed apply's leftover is removed). */
  t2?: Buffer;
  e?: Buffer;
  g?: Buffer;
  a?: number;
  x?: Buffer;
  sr?: number;
  sd?: Buffer;
  sn?: Buffer;
  lease?: number;
}

/** One step's outcome. `dev`/`ino`/`ctime` are decimal strings (64-bit). */
export interface StepResult {
  s: number;
  why?: string;
  code?: string;
  group?: number;
  /** EMLINK: the group continues on this path's own inode (1) or a further store entry (2). */
  retarget?: number;
  freed?: string;
  dev?: string;
  ino?: string;
  ctime?: string;
  nlink?: number;
}

/** The identity a step must find, packed as eleven little-endian 64-bit fields. */
export function encodeExpect(stat: StatRecord, flags: number, over: { dev?: string; ino?: string } = {}): Buffer {
  const b = Buffer.allocUnsafe(88);
  const v = [over.dev ?? stat.dev, over.ino ?? stat.ino, stat.size, stat.mode, stat.uid, stat.gid, stat.nlink, stat.mtime, stat.ctime, stat.atime ?? stat.mtime, flags];
  v.forEach((x, i) => b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(x)), i * 8));
  return b;
}

/** Recorded xattrs as [u32 len][name][u32 len][value]…, names sorted (the order flistxattr is compared in). */
export function encodeXattrs(xattrs: XattrRecord | undefined): Buffer | undefined {
  const names = Object.keys(xattrs ?? {}).sort();
  if (!names.length) return undefined;
  const parts: Buffer[] = [];
  for (const name of names) {
    const n = Buffer.from(name);
    const v = Buffer.from(xattrs![name], 'base64');
    const h = Buffer.allocUnsafe(4);
    h.writeUInt32LE(n.length);
    const l = Buffer.allocUnsafe(4);
    l.writeUInt32LE(v.length);
    parts.push(h, n, l, v);
  }
  return Buffer.concat(parts);
}

/** The raw digest and algorithm number (0 sha256, 1 sha512) of an SRI integrity string. */
export function digestOf(integrity: string): { g: Buffer; a: number } {
  const { algorithm, digest } = integrityParts(integrity);
  return { g: digest, a: algorithm === 'sha512' ? 1 : 0 };
}

/** Where a path lies: its root's index, its directory beneath that root, its name. */
export interface Place {
  r: number;
  d: Buffer;
  n: Buffer;
}

export class Executor {
  private handle: unknown;

  /** Opens every root (and the store, last) once. */
  constructor(readonly roots: Buffer[]) {
    this.handle = linux().execOpen(roots);
  }

  /** The root that holds `path` (the deepest one) and the path's place beneath it. */
  place(path: Buffer): Place | undefined {
    let best = -1;
    for (let i = 0; i < this.roots.length; i++) {
      if (isWithin(path, this.roots[i]) && !path.equals(this.roots[i]) && (best < 0 || this.roots[i].length > this.roots[best].length)) best = i;
    }
    if (best < 0) return undefined;
    const root = this.roots[best];
    const rel = path.subarray(root.length === 1 ? 1 : root.length + 1);
    const slash = rel.lastIndexOf(0x2f);
    return { r: best, d: slash < 0 ? Buffer.alloc(0) : rel.subarray(0, slash), n: rel.subarray(slash + 1) };
  }

  /** The absolute path a step names (for messages). */
  pathOf(p: Place): Buffer {
    return Buffer.concat([this.roots[p.r], Buffer.from('/'), ...(p.d.length ? [p.d, Buffer.from('/')] : []), p.n]);
  }

  /** Runs steps in order; stops after a fatal error or (abortOnDrift) the first drift. */
  run(steps: Step[], abortOnDrift: boolean): StepResult[] {
    return linux().execRun(this.handle, steps, abortOnDrift);
  }

  /** syncfs on the filesystem of root `i`. */
  syncfs(i: number): void {
    linux().execSyncfs(this.handle, i);
  }

  close(): void {
    linux().execClose(this.handle);
  }
}
