/**
 * Journal framing: [u32 length][u32 crc32 of payload][msgpack payload]. A reader stops at
 * the first frame that is short or fails its checksum, so a torn last write vanishes.
 */
import { crc32 } from 'node:zlib';
import { createRequire } from 'node:module';
import type * as msgpackrType from 'msgpackr';
import { packRecord } from './packRecord.js';

// Loaded only to read a journal or write a record packRecord does not encode.
const require = createRequire(import.meta.url);
let msgpackrModule: typeof msgpackrType | undefined;
const msgpackr = (): typeof msgpackrType => (msgpackrModule ??= require('msgpackr') as typeof msgpackrType);

const HEAD = 8;
const MAX_FRAME = 1 << 24;

/** `record` as one journal frame. */
export function encodeFrame(record: unknown): Buffer {
  const packed = record !== null && typeof record === 'object' ? packRecord(record, HEAD) : undefined;
  if (packed) return Buffer.from(withHead(packed)); // packed is scratch: the copy is the frame
  const payload = msgpackr().pack(record);
  const frame = Buffer.allocUnsafe(HEAD + payload.length);
  payload.copy(frame, HEAD);
  return withHead(frame);
}

/** Fills the head of `frame`, whose payload follows it. */
function withHead(frame: Buffer): Buffer {
  const payload = frame.subarray(HEAD);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
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
      records.push(msgpackr().unpack(payload));
    } catch {
      break;
    }
    at += HEAD + len;
  }
  return { records, valid: at };
}
