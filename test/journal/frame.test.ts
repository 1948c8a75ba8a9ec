/**
 * Journal frames: a `done` record (one per operation, written without msgpackr's encoder) is
 * byte for byte the frame msgpackr makes, and every frame reads back as its record.
 */
import { crc32 } from 'node:zlib';
import { pack, unpack } from 'msgpackr';
import { decodeFrames, encodeFrame } from '../../src/journal/frame.js';

/** The frame as msgpackr alone makes it. */
function packed(record: unknown): Buffer {
  const payload = pack(record);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([head, payload]);
}

const ops = [0, 1, 127, 128, 255, 256, 4095, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER];

describe('journal frames', () => {
  test('a done record is the frame msgpackr makes, for every op size and outcome', () => {
    for (const how of ['applied', 'already', 'retarget'] as const) {
      for (const op of ops) {
        const record = { t: 'done', op, how };
        expect([op, encodeFrame(record).toString('hex')]).toEqual([op, packed(record).toString('hex')]);
      }
    }
  });

  test('other records, and done records of another form, go through msgpackr', () => {
    const records = [
      { t: 'done', op: 3, how: 'other' },
      { t: 'done', op: -1, how: 'applied' },
      { t: 'done', op: 1.5, how: 'applied' },
      { t: 'done', op: 7, how: 'applied', extra: 1 },
      { t: 'skip', op: 9, why: 'changed since planning' },
      { t: 'entry', group: 2, dev: '2049', ino: '12' },
      { t: 'end' },
    ];
    for (const r of records) expect(encodeFrame(r).toString('hex')).toBe(packed(r).toString('hex'));
  });

  test('frames read back as their records, in order', () => {
    const records = ops.flatMap((op) => [{ t: 'done', op, how: 'applied' }, { t: 'skip', op, why: 'x' }]);
    const buf = Buffer.concat(records.map(encodeFrame));
    const { records: back, valid } = decodeFrames(buf);
    expect(valid).toBe(buf.length);
    expect(back).toEqual(records);
    expect(unpack(encodeFrame(records[0]).subarray(8))).toEqual(records[0]);
  });
});
