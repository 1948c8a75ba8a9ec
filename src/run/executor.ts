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
/** Result statuses (native/executor.h); notReached: the batch stopped before the step. */
export const S = { applied: 0, already: 1, drift: 2, failed: 3, notReached: 4 } as const;
/** Expectation flags (native/executor.h). */
export const EXP = { inode: 1, content: 2, noContent: 4, notApplied: 8 } as const;

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

/** The identity a step must find, as the executor parses it: eleven decimal fields. */
export function encodeExpect(stat: StatRecord, flags: number, over: { dev?: string; ino?: string } = {}): Buffer {
  const v = `${over.dev ?? stat.dev} ${over.ino ?? stat.ino} ${stat.size} ${stat.mode} ${stat.uid} ${stat.gid} ${stat.nlink} ${stat.mtime} ${stat.ctime} ${stat.atime ?? stat.mtime} ${flags}`;
  return Buffer.from(v, 'latin1');
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

  /** Runs steps off the main thread (each lane in order, the lanes side by side); after a fatal error or (abortOnDrift)
   *  the first drift no further step starts, also in a later batch unless it is `fresh` (the
   *  first of a run): those are `S.notReached`. */
  async run(steps: Step[], abortOnDrift: boolean, fresh = true): Promise<StepResult[]> {
    const [buf, messages] = await linux().execRun(this.handle, encodeBatch(steps), abortOnDrift, fresh);
    return decodeResults(buf, messages);
  }

  /** syncfs on the filesystem of root `i`. */
  syncfs(i: number): void {
    linux().execSyncfs(this.handle, i);
  }

  /** How many lane threads the batches run so far have started (a batch with one lane starts none). */
  threadsStarted(): number {
    return linux().execThreads(this.handle);
  }

  close(): void {
    linux().execClose(this.handle);
  }
}

const FIELDS = ['d', 'n', 't', 't2', 'sd', 'sn', 'e', 'g', 'x'] as const;

/** A batch as native/executor_batch.c reads it (its file comment gives the layout). */
export function encodeBatch(steps: Step[]): Buffer {
  let size = 0;
  for (const s of steps) {
    size += 12 + 4 * FIELDS.length;
    for (const f of FIELDS) size += s[f] ? s[f]!.length + 1 : 0;
  }
  const b = Buffer.allocUnsafe(size);
  let at = 0;
  for (const s of steps) {
    b[at] = s.k;
    b[at + 1] = s.l ?? 0;
    b[at + 2] = s.lease ?? 0;
    b[at + 3] = s.a ?? 0;
    b.writeInt32LE(s.r, at + 4);
    b.writeInt32LE(s.sr ?? 0, at + 8);
    at += 12;
    for (const f of FIELDS) {
      const v = s[f];
      b.writeUInt32LE(v ? v.length : 0xffffffff, at);
      at += 4;
      if (!v) continue;
      b.set(v, at);
      at += v.length;
      b[at++] = 0;
    }
  }
  return b;
}

const RESULT = 48;

/** Results as native/executor.c writes them: a record per step, and [index, why, code] triples. */
function decodeResults(buf: Buffer, messages: Array<number | string>): StepResult[] {
  const out: StepResult[] = [];
  for (let at = 0; at < buf.length; at += RESULT) {
    const r: StepResult = { s: buf.readInt32LE(at) };
    if (buf[at + 8]) r.group = 1;
    if (buf[at + 9]) r.retarget = buf[at + 9];
    const freed = buf.readUInt32LE(at + 20) * 2 ** 32 + buf.readUInt32LE(at + 16);
    if (freed) r.freed = freed;
    if (buf.readUInt32LE(at + 32) || buf.readUInt32LE(at + 36)) {
      r.dev = buf.readBigUInt64LE(at + 24).toString();
      r.ino = buf.readBigUInt64LE(at + 32).toString();
      r.ctime = buf.readBigUInt64LE(at + 40).toString();
      r.nlink = buf.readUInt32LE(at + 12);
    }
    out.push(r);
  }
  for (let i = 0; i + 2 < messages.length; i += 3) {
    const r = out[messages[i] as number];
    if (messages[i + 1]) r.why = messages[i + 1] as string;
    if (messages[i + 2]) r.code = messages[i + 2] as string;
  }
  return out;
}
