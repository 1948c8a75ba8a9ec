/**
 * Step encoding (src/run/stepCodec.ts) against the layout native/executor_batch.c reads,
 * written out here field by field: a 12-byte head, then per field in order d n t t2 sd sn e g x
 * a u32 length and the bytes and a NUL, or the length 0xffffffff alone when absent.
 */
import { decodeStep, encodeBatch, encodeStep, fieldOf, sizeOf } from '../../src/run/stepCodec.js';
import type { Step } from '../../src/run/executor.js';

const ORDER = ['d', 'n', 't', 't2', 'sd', 'sn', 'e', 'g', 'x'] as const;

function reference(s: Step): Buffer {
  const head = Buffer.alloc(12);
  head[0] = s.k;
  head[1] = s.l ?? 0;
  head[2] = s.lease ?? 0;
  head[3] = s.a ?? 0;
  head.writeInt32LE(s.r, 4);
  head.writeInt32LE(s.sr ?? 0, 8);
  const parts: Buffer[] = [head];
  for (const f of ORDER) {
    const v = s[f];
    const len = Buffer.alloc(4);
    len.writeUInt32LE(v ? v.length : 0xffffffff);
    parts.push(len, ...(v ? [v, Buffer.of(0)] : []));
  }
  return Buffer.concat(parts);
}

/** Steps with every field present or absent (bit i of `mask`), some empty, some slices of a larger buffer. */
function steps(): Step[] {
  const big = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
  const out: Step[] = [];
  for (let mask = 0; mask < 1 << ORDER.length; mask += 7) {
    const s: Step = { k: 1 + (mask % 8), r: mask % 5, d: Buffer.alloc(0), n: Buffer.alloc(0), l: mask % 2, lease: mask % 3, a: mask % 2, sr: mask % 4 };
    ORDER.forEach((f, i) => {
      if (mask & (1 << i)) s[f] = i % 3 === 0 ? big.subarray(i, i + 3 + (mask % 11)) : Buffer.from(`${f}-${mask}`);
      else if (f === 'd' || f === 'n') s[f] = Buffer.alloc(0);
      else delete s[f];
    });
    out.push(s);
  }
  return out;
}

describe('step encoding', () => {
  test('is the layout the executor reads, field by field, and decodes back', () => {
    for (const s of steps()) {
      const b = encodeStep(s);
      expect(b.toString('hex')).toBe(reference(s).toString('hex'));
      expect(sizeOf(s)).toBe(b.length);
      const back = decodeStep(b);
      for (const f of ORDER) expect([f, back[f]?.toString('hex')]).toEqual([f, s[f]?.toString('hex')]);
      const g = fieldOf(b, 'g');
      expect(g.length).toBe(s.g ? s.g.length : -1);
    }
  });

  test('a batch is its steps, objects encoded and bytes copied as they are', () => {
    const all = steps();
    const batch = encodeBatch(all.map((s, i) => (i % 2 ? encodeStep(s) : s)));
    expect(batch.equals(Buffer.concat(all.map(reference)))).toBe(true);
  });
});
