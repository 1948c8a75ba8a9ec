/**
 * Steps as native/executor_batch.c reads them, one after another in one Buffer (its file
 * comment gives the layout): a step may be encoded once, kept as bytes (src/apply/compileSteps.ts)
 * and decoded again only when a message needs it. Results come back as records of RESULT bytes.
 */
import type { Step, StepResult } from './executor.js';

const FIELDS = ['d', 'n', 't', 't2', 'sd', 'sn', 'e', 'g', 'x'] as const;
type Field = (typeof FIELDS)[number];
/** Bytes of a step's fixed head. */
export const STEP_HEAD = 12;
const ABSENT = 0xffffffff;

/** Bytes of a field of `len` bytes encoded: its length, its bytes and a NUL; -1 (absent): the length's ABSENT alone. */
export const fieldBytes = (len: number): number => (len < 0 ? 4 : len + 5);
const fieldSize = (v: Buffer | undefined): number => fieldBytes(v ? v.length : -1);

/** Bytes a step takes encoded. */
export function sizeOf(s: Step): number {
  // The fields one by one, in FIELDS' order: named reads stay fast where s[name] in a loop does not.
  return STEP_HEAD + fieldSize(s.d) + fieldSize(s.n) + fieldSize(s.t) + fieldSize(s.t2) + fieldSize(s.sd) + fieldSize(s.sn) + fieldSize(s.e) + fieldSize(s.g) + fieldSize(s.x);
}

/** Writes a field (absent when v is undefined) at `at`; returns the offset after it. */
export function writeBuffer(v: Buffer | undefined, b: Buffer, at: number): number {
  if (!v) {
    b.writeUInt32LE(ABSENT, at);
    return at + 4;
  }
  b.writeUInt32LE(v.length, at);
  b.set(v, at + 4); // (not copy(): it makes a view of every source that is a slice)
  b[at + 4 + v.length] = 0;
  return at + 5 + v.length;
}

/** Writes a field of bytes start..end of `src`; returns the offset after it. */
export function writeSlice(src: Buffer, start: number, end: number, b: Buffer, at: number): number {
  const len = end - start;
  b.writeUInt32LE(len, at);
  for (let i = 0; i < len; i++) b[at + 4 + i] = src[start + i]; // (short names: a loop costs less than a view to copy from)
  b[at + 4 + len] = 0;
  return at + 5 + len;
}

/** Writes a field of an ASCII string's bytes; returns the offset after it. */
export function writeText(v: string, b: Buffer, at: number): number {
  b.writeUInt32LE(v.length, at);
  b.write(v, at + 4, 'latin1');
  b[at + 4 + v.length] = 0;
  return at + 5 + v.length;
}

/** Writes a step's fixed head (kind, lane, lease, algorithm, root, store root); returns the offset of its first field. */
export function writeHead(s: { k: number; l?: number; lease?: number; a?: number; r: number; sr?: number }, b: Buffer, at: number): number {
  b[at] = s.k;
  b[at + 1] = s.l ?? 0;
  b[at + 2] = s.lease ?? 0;
  b[at + 3] = s.a ?? 0;
  b.writeInt32LE(s.r, at + 4);
  b.writeInt32LE(s.sr ?? 0, at + 8);
  return at + STEP_HEAD;
}

/** Encodes a step into b at `at`; returns the offset after it. */
export function write(s: Step, b: Buffer, at: number): number {
  at = writeBuffer(s.d, b, writeHead(s, b, at));
  at = writeBuffer(s.n, b, at);
  at = writeBuffer(s.t, b, at);
  at = writeBuffer(s.t2, b, at);
  at = writeBuffer(s.sd, b, at);
  at = writeBuffer(s.sn, b, at);
  at = writeBuffer(s.e, b, at);
  at = writeBuffer(s.g, b, at);
  return writeBuffer(s.x, b, at);
}

/** One step's bytes. */
export function encodeStep(s: Step): Buffer {
  const b = Buffer.allocUnsafe(sizeOf(s));
  write(s, b, 0);
  return b;
}

/** A batch: steps given as objects are encoded, steps given as bytes are copied as they are. */
export function encodeBatch(steps: Array<Step | Buffer>): Buffer {
  let size = 0;
  for (const s of steps) size += Buffer.isBuffer(s) ? s.length : sizeOf(s);
  const b = Buffer.allocUnsafe(size);
  let at = 0;
  for (const s of steps) {
    if (!Buffer.isBuffer(s)) at = write(s, b, at);
    else at += s.copy(b, at);
  }
  return b;
}

/** Where field `name`'s bytes start in an encoded step, and their length (-1: absent). */
export function fieldOf(b: Buffer, name: Field): { at: number; length: number } {
  let at = STEP_HEAD;
  for (const f of FIELDS) {
    const len = b.readUInt32LE(at);
    at += 4;
    if (f === name) return { at, length: len === ABSENT ? -1 : len };
    if (len !== ABSENT) at += len + 1;
  }
  throw new Error(`no field ${name}`);
}

/** An encoded step as an object again (for messages and the rare steps built from others). */
export function decodeStep(b: Buffer): Step {
  const s: Step = { k: b[0], l: b[1], lease: b[2], a: b[3], r: b.readInt32LE(4), sr: b.readInt32LE(8), d: Buffer.alloc(0), n: Buffer.alloc(0) };
  let at = STEP_HEAD;
  for (const f of FIELDS) {
    const len = b.readUInt32LE(at);
    at += 4;
    if (len === ABSENT) continue;
    s[f] = Buffer.from(b.subarray(at, at + len));
    at += len + 1;
  }
  return s;
}

export const RESULT = 48;

/** Results as native/executor.c writes them: a record per step, and [index, why, code] triples. */
export function decodeResults(buf: Buffer, messages: Array<number | string>): StepResult[] {
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
