/**
 * Journal framing: [u32 length][u32 crc32 of payload][msgpack payload]. A reader stops at
 * the first frame that is short or fails its checksum, so a torn last write vanishes.
 */
import { crc32 } from 'node:zlib';
import { pack, unpack } from 'msgpackr';

const HEAD = 8;
const MAX_FRAME = 1 << 24;

/** msgpack's text of a short ASCII string (fixstr). */
const fixstr = (s: string): Buffer => Buffer.concat([Buffer.of(0xa0 | s.length), Buffer.from(s, 'latin1')]);
/** `{t: 'done', op, how}` as msgpackr packs it: a map16 of three keys, op between these. */
const DONE_HEAD = Buffer.concat([Buffer.of(0xde, 0, 3), fixstr('t'), fixstr('done'), fixstr('op')]);
const DONE_TAIL: Record<string, Buffer> = {};
for (const how of ['applied', 'already', 'retarget']) DONE_TAIL[how] = Buffer.concat([fixstr('how'), fixstr(how)]);

/** The frame of a `done` record, byte for byte what msgpackr makes (test/journal/frame.test.ts), without its per-call encoder:
 *  one is journaled for nearly every operation. undefined for an op it does not encode (above 32 bits). */
function doneFrame(op: number, how: string): Buffer | undefined {
  const tail = DONE_TAIL[how];
  if (!tail || !Number.isInteger(op) || op < 0 || op > 0xffffffff) return undefined;
  const opLen = op < 0x80 ? 1 : op < 0x100 ? 2 : op < 0x10000 ? 3 : 5;
  const len = DONE_HEAD.length + opLen + tail.length;
  const frame = Buffer.allocUnsafe(HEAD + len);
  let at = HEAD + DONE_HEAD.copy(frame, HEAD);
  if (opLen === 1) frame[at] = op;
  else if (opLen === 2) (frame[at] = 0xcc), (frame[at + 1] = op);
  else if (opLen === 3) (frame[at] = 0xcd), frame.writeUInt16BE(op, at + 1);
  else (frame[at] = 0xce), frame.writeUInt32BE(op, at + 1);
  tail.copy(frame, at + opLen);
  frame.writeUInt32LE(len, 0);
  frame.writeUInt32LE(crc32(frame.subarray(HEAD)), 4);
  return frame;
}

export function encodeFrame(record: unknown): Buffer {
  const r = record as { t?: unknown; op?: unknown; how?: unknown };
  if (r.t === 'done' && Object.keys(r).length === 3) {
    const frame = doneFrame(r.op as number, r.how as string);
    if (frame) return frame;
  }
  const payload = pack(record);
  const frame = Buffer.allocUnsafe(HEAD + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  payload.copy(frame, HEAD);
  return frame;
}

/** Decodes whole frames from the start of `buf`; `valid` is where the good frames end. */
export function decodeFrames(buf: Buffer): { records: unknown[]; valid: number } {
  const records: unknown[] = [];
  let at = 0;
  while (at + HEAD <= buf.length) {
    const len = buf.readUInt32LE(at);
    if (len > MAX_FRAME || at + HEAD + len > buf.length) break;
    const payload = buf.subarray(at + HEAD, at + HEAD + len);
    if (crc32(payload) !== buf.readUInt32LE(at + 4)) break;
    try {
      records.push(unpack(payload));
    } catch {
      break;
    }
    at += HEAD + len;
  }
  return { records, valid: at };
}
