/**
 * The native executor (native/executor*.c) seen from TypeScript: roots opened once, steps
 * sent in batches, results back. Paths are given as (root index, directory beneath the root,
 * name); the kernel resolves each directory beneath its root (openat2, no symlinks, no
 * mount points), so nothing a guest does in its tree can lead a step outside it.
 */
import { availableParallelism } from 'node:os';
import { linux, type ExecStats } from '../native/addon.js';
import { decodePath, isWithin } from '../pathBytes.js';
import type { StatRecord, XattrRecord } from '../planfile/records.js';
import { integrityParts } from '../integrity.js';
import { decodeResults, decodeStep, encodeBatch } from './stepCodec.js';

export { encodeBatch } from './stepCodec.js';

/** Step kinds (native/executor.h). */
export const K = { target: 1, copyIn: 2, link: 3, reflink: 4, restore: 5, release: 6, end: 7, sibling: 8 } as const;
/** Result statuses (native/executor.h); notReached: the batch stopped before the step. */
export const S = { applied: 0, already: 1, drift: 2, failed: 3, notReached: 4 } as const;
/** Expectation flags (native/executor.h). */
export const EXP = { inode: 1, content: 2, noContent: 4, notApplied: 8 } as const;

/** The lane of a group's steps: the first byte of its content's digest, modulo the lanes (apply and undo alike). */
export function laneOf(digest: Uint8Array, lanes: number): number {
  return digest.length > 0 ? digest[0] % lanes : 0;
}

/** Lanes (threads) a run uses unless told: 2, or 1 on a machine with one CPU; HASHIFY_LANES (tests) sets it (at most 4). */
export function defaultLanes(): number {
  const env = Number(process.env.HASHIFY_LANES);
  return env > 0 ? Math.min(env, 4) : Math.min(2, availableParallelism());
}

/** One step (short keys); a batch of them crosses to C as one Buffer (encodeBatch). */
export interface Step {
  k: number;
  /** The lane (thread) it runs on: all steps of one content share a lane (src/apply/applySteps.ts). */
  l?: number;
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
  /** copyIn: the entry's size in bytes, for the run's account of space (JS only, not sent to C). */
  bytes?: bigint;
}

/** One step's outcome. `dev`/`ino`/`ctime` are decimal strings (64-bit). */
export interface StepResult {
  s: number;
  why?: string;
  code?: string;
  group?: number;
  /** EMLINK: the group continues on this path's own inode (1) or a further store entry (2). */
  retarget?: number;
  freed?: number;
  dev?: string;
  ino?: string;
  ctime?: string;
  nlink?: number;
}

/** The identity a step must find, as the executor parses it: eleven decimal fields (ASCII). */
export function expectText(stat: StatRecord, flags: number, over: { dev?: string; ino?: string } = {}): string {
  return `${over.dev ?? stat.dev} ${over.ino ?? stat.ino} ${stat.size} ${stat.mode} ${stat.uid} ${stat.gid} ${stat.nlink} ${stat.mtime} ${stat.ctime} ${stat.atime ?? stat.mtime} ${flags}`;
}

/** expectText's bytes. */
export function encodeExpect(stat: StatRecord, flags: number, over: { dev?: string; ino?: string } = {}): Buffer {
  return Buffer.from(expectText(stat, flags, over), 'latin1');
}

/** Recorded xattrs as [u32 len][name][u32 len][value]…, names sorted (the order flistxattr is compared in). */
export function encodeXattrs(xattrs: XattrRecord | undefined): Buffer | undefined {
  if (!xattrs) return undefined;
  const names = Object.keys(xattrs).sort();
  if (!names.length) return undefined;
  const parts: Buffer[] = [];
  for (const name of names) {
    const n = Buffer.from(name);
    const v = Buffer.from(xattrs[name], 'base64');
    const h = Buffer.allocUnsafe(4);
    h.writeUInt32LE(n.length);
    const l = Buffer.allocUnsafe(4);
    l.writeUInt32LE(v.length);
    parts.push(h, n, l, v);
  }
  return Buffer.concat(parts);
}

let lastDigest: { integrity: string; g: Buffer; a: number } | undefined;

/** The raw digest and algorithm number (0 sha256, 1 sha512) of an SRI integrity string
 *  (the last one is remembered: a group's operations all ask for the same). */
export function digestOf(integrity: string): { g: Buffer; a: number } {
  if (lastDigest?.integrity !== integrity) {
    const { algorithm, digest } = integrityParts(integrity);
    lastDigest = { integrity, g: digest, a: algorithm === 'sha512' ? 1 : 0 };
  }
  return { g: lastDigest.g, a: lastDigest.a };
}

/** Where a path lies: its root's index, its directory beneath that root, its name. */
export interface Place {
  r: number;
  d: Buffer;
  n: Buffer;
}

/** The error for a plan record whose path lies in none of the plan's roots. */
export function outsideRoots(rec: { path: string }): Error {
  return new Error(`${JSON.stringify(rec.path)} is in none of the plan's roots`);
}

/** The place of a plan record's path (its bytes, when already decoded) beneath `at`'s roots; throws outsideRoots. */
export function placeOfRecord(at: { place(path: Buffer): Place | undefined }, rec: { path: string; path64?: string }, path = decodePath(rec)): Place {
  const p = at.place(path);
  if (!p) throw outsideRoots(rec);
  return p;
}

/** Places paths beneath roots: the deepest root that holds a path, found without a scan of
 *  every root when the root the last path was in holds this one and has no root beneath it. */
export class Places {
  private last = -1;
  /** Whether another root lies beneath root i (then a path in i may be in that one). */
  private nested: boolean[];

  constructor(readonly roots: Buffer[]) {
    this.nested = roots.map((r, i) => roots.some((o, j) => j !== i && isWithin(o, r) && !o.equals(r)));
  }

  place(path: Buffer): Place | undefined {
    const r = this.locate(path);
    if (r < 0) return undefined;
    const { relStart, slash } = this;
    return { r, d: slash < 0 ? Buffer.alloc(0) : path.subarray(relStart, slash), n: path.subarray(slash < 0 ? relStart : slash + 1) };
  }

  /** Where `place` would find the path, without a Place: after it, relStart (the path beneath
   *  its root begins there) and slash (the last '/' of that part, -1 when it has none). */
  relStart = 0;
  slash = -1;

  /** The index of the root that holds the path (the deepest), -1 when none does; sets relStart and slash. */
  locate(path: Buffer): number {
    let best = -1;
    const l = this.last;
    if (l >= 0 && !this.nested[l] && this.holds(l, path)) best = l;
    else {
      for (let i = 0; i < this.roots.length; i++) {
        if (this.holds(i, path) && (best < 0 || this.roots[i].length > this.roots[best].length)) best = i;
      }
    }
    if (best < 0) return -1;
    this.last = best;
    const root = this.roots[best];
    this.relStart = root.length === 1 ? 1 : root.length + 1;
    const slash = path.lastIndexOf(0x2f);
    this.slash = slash < this.relStart ? -1 : slash;
    return best;
  }

  private holds(i: number, path: Buffer): boolean {
    const r = this.roots[i];
    // Roots often differ only near their end: their last byte rules most of them out cheaply.
    return path.length !== r.length && path[r.length - 1] === r[r.length - 1] && isWithin(path, r);
  }
}

export class Executor {
  private handle: unknown;

  /** Opens every root (and the store, last) once. */
  constructor(readonly roots: Buffer[]) {
    this.places = new Places(roots);
    this.handle = linux().execOpen(roots);
  }

  private places: Places;

  /** The root that holds `path` (the deepest one) and the path's place beneath it. */
  place(path: Buffer): Place | undefined {
    return this.places.place(path);
  }

  /** The absolute path a step names (for messages). */
  pathOf(step: Place | Buffer): Buffer {
    const p = Buffer.isBuffer(step) ? decodeStep(step) : step;
    return Buffer.concat([this.roots[p.r], Buffer.from('/'), ...(p.d.length ? [p.d, Buffer.from('/')] : []), p.n]);
  }

  /** Runs steps off the main thread (each lane in order, the lanes side by side; batches sent before
   *  this one settles queue behind it); after a fatal error or (abortOnDrift)
   *  the first drift no further step starts, also in a later batch unless it is `fresh` (the
   *  first of a run): those are `S.notReached`. */
  async run(steps: Array<Step | Buffer>, abortOnDrift: boolean, fresh = true): Promise<StepResult[]> {
    const [buf, messages] = await linux().execRun(this.handle, encodeBatch(steps), abortOnDrift, fresh);
    return decodeResults(buf, messages);
  }

  /** syncfs on the filesystem of root `i`, off the main thread (a batch may run meanwhile). */
  syncfsAsync(i: number): Promise<void> {
    return linux().execSyncfsAsync(this.handle, i);
  }

  /** Each lane finishes the step it is in and starts no other, in this batch or a later one (the rest are `S.notReached`). */
  stop(): void {
    linux().execStop(this.handle);
  }

  /** Lane threads started so far, and where the run waited: a lane with nothing to run, lanes
   *  waiting for the reapers that free replaced inodes (its figures are complete after close). */
  stats(): ExecStats {
    return linux().execStats(this.handle);
  }

  close(): void {
    linux().execClose(this.handle);
  }
}
