/**
 * A journal record in msgpack, byte for byte as msgpackr packs it (test/journal/frame.test.ts
 * compares them), for the records apply and undo write: plain objects whose values are
 * strings, booleans, null or integers from 0 to 2^32 - 1. Nearly every record of a run is
 * one (`done` per operation, `entry` per store entry made), so a run that resumes nothing
 * never loads msgpackr (~35 ms of CPU) and makes no encoder call per record. The bytes go
 * straight after room for the frame's head (src/journal/frame.ts), so the frame is one copy away.
 */

let scratch = Buffer.allocUnsafe(1 << 12);

/**
 * `head` bytes for the caller to fill, then the msgpack bytes of `record`; or undefined when it
 * holds a value this does not encode (msgpackr then does). The result is a view of a scratch
 * buffer that the next call overwrites: copy it before packing another record.
 */
export function packRecord(record: object, head: number): Buffer | undefined {
  const keys = Object.keys(record);
  if (keys.length > 0xffff || Object.getPrototypeOf(record) !== Object.prototype) return undefined;
  let at = head;
  const room = (n: number): void => {
    if (at + n <= scratch.length) return;
    const grown = Buffer.allocUnsafe(Math.max(scratch.length * 2, at + n));
    scratch.copy(grown, 0, 0, at);
    scratch = grown;
  };
  const str = (s: string): void => {
    const n = Buffer.byteLength(s);
    room(n + 5);
    if (n < 32) scratch[at++] = 0xa0 | n;
    else if (n < 0x100) (scratch[at++] = 0xd9), (scratch[at++] = n);
    else if (n < 0x10000) (scratch[at] = 0xda), scratch.writeUInt16BE(n, at + 1), (at += 3);
    else (scratch[at] = 0xdb), scratch.writeUInt32BE(n, at + 1), (at += 5);
    at += scratch.write(s, at);
  };
  room(3);
  scratch[at] = 0xde; // map 16, as msgpackr writes every plain object
  scratch.writeUInt16BE(keys.length, at + 1);
  at += 3;
  for (const k of keys) {
    const v = (record as Record<string, unknown>)[k];
    str(k);
    room(5);
    if (typeof v === 'string') str(v);
    else if (typeof v === 'boolean') scratch[at++] = v ? 0xc3 : 0xc2;
    else if (v === null) scratch[at++] = 0xc0;
    else if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) return undefined;
    else if (v < 0x80) scratch[at++] = v;
    else if (v < 0x100) (scratch[at++] = 0xcc), (scratch[at++] = v);
    else if (v < 0x10000) (scratch[at] = 0xcd), scratch.writeUInt16BE(v, at + 1), (at += 3);
    else (scratch[at] = 0xce), scratch.writeUInt32BE(v, at + 1), (at += 5);
  }
  return scratch.subarray(0, at);
}
