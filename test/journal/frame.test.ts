/**
 * Journal frames: the records a run writes are packed without msgpackr (src/journal/packRecord.ts),
 * byte for byte as msgpackr packs them; anything else goes through msgpackr; every frame reads
 * back as its record; and writing the usual records does not load msgpackr.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { pack, unpack } from 'msgpackr';
import { decodeFrames, encodeFrame } from '../../src/journal/frame.js';
import { packRecord } from '../../src/journal/packRecord.js';

/** The frame as msgpackr alone makes it. */
function packed(record: unknown): Buffer {
  const payload = pack(record);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([head, payload]);
}

const ops = [0, 1, 127, 128, 255, 256, 4095, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];
const texts = ['', 'a', 'é', '€𝄞', 'x'.repeat(31), 'x'.repeat(32), 'é'.repeat(16), 'x'.repeat(255), 'x'.repeat(256), '€'.repeat(30000), 'y'.repeat(70000)];

/** Records of every kind a run writes, with values at the edges of each encoding. */
const own: object[] = [
  { t: 'header', v: 1, kind: 'apply', plan: 'sha256-' + 'A'.repeat(43) + '=' },
  { t: 'run', at: new Date(0).toISOString(), pid: 4194304 },
  { t: 'end' },
  ...ops.flatMap((op) => ['applied', 'already', 'retarget'].map((how) => ({ t: 'done', op, how }))),
  ...ops.map((group) => ({ t: 'entry', group, dev: String(group), ino: '18446744073709551615' })),
  ...texts.map((why, op) => ({ t: 'skip', op, why })),
  ...texts.map((code, op) => ({ t: 'fail', op, code, why: code })),
  { a: true, b: false, c: null, [texts[9]]: 1 },
  {},
];
/** Records packRecord leaves to msgpackr. */
const others: unknown[] = [
  { t: 'done', op: -1, how: 'applied' },
  { t: 'done', op: 1.5, how: 'applied' },
  { t: 'done', op: 2 ** 32, how: 'applied' },
  { t: 'retarget', group: 1, op: 2, path: Buffer.from('/a/b') },
  { t: 'skip', op: 1, why: undefined },
  { nested: { a: 1 } },
  [1, 2],
  'text',
  7,
  null,
];

describe('journal frames', () => {
  test('the records a run writes are the frames msgpackr makes', () => {
    for (const r of own) {
      expect(packRecord(r, 8)?.subarray(8).equals(pack(r))).toBe(true);
      expect(encodeFrame(r).equals(packed(r))).toBe(true);
    }
  });

  test('a frame keeps its bytes while later records are framed', () => {
    // packRecord packs into one scratch buffer, which grows for the long texts.
    const frames = own.map(encodeFrame);
    own.forEach((r, i) => expect(frames[i].equals(packed(r))).toBe(true));
  });

  test('other records go through msgpackr', () => {
    for (const r of others) {
      if (r !== null && typeof r === 'object') expect(packRecord(r, 8)).toBeUndefined();
      expect(encodeFrame(r).equals(packed(r))).toBe(true);
    }
  });

  test('frames read back as their records, in order', () => {
    const records = [...own, ...others];
    const buf = Buffer.concat(records.map(encodeFrame));
    const { records: back, valid } = decodeFrames(buf);
    expect(valid).toBe(buf.length);
    expect(back).toEqual(records.map((r) => unpack(pack(r))));
  });

  test('writing the usual records does not load msgpackr; reading a journal does', () => {
    const frame = fileURLToPath(new URL('../../dist/journal/frame.js', import.meta.url));
    const code = `import { createRequire } from 'node:module';
      const { encodeFrame, decodeFrames } = await import(${JSON.stringify(frame)});
      const loaded = () => Object.keys(createRequire('/').cache).some((p) => p.includes('/node_modules/msgpackr/'));
      const buf = Buffer.concat([{ t: 'header', v: 1, kind: 'apply', plan: 'x' }, { t: 'run', at: 'now', pid: 1 }, { t: 'done', op: 5, how: 'applied' }, { t: 'entry', group: 0, dev: '1', ino: '2' }, { t: 'end' }].map(encodeFrame));
      const before = loaded();
      const n = decodeFrames(buf).records.length;
      console.log(JSON.stringify([before, n, loaded()]));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(JSON.parse(r.stdout)).toEqual([false, 5, true]);
  });
});
