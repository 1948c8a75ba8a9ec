/**
 * Comparison requests are packed as the pool asks for them: a request is made before the
 * chunks after it are read, groups longer than COMPARE_BATCH are cut, and a request ends at
 * about 256 rows. Row arrays are freed once done with (release).
 */
import { COMPARE_BATCH, packBatches, release, type Chunk } from '../../src/hash/candidates.js';
import type { FileTable } from '../../src/scan/fileTable.js';

const table = { size: new BigUint64Array(10_000).fill(100n) } as unknown as FileTable;

test('a request is made before the chunks after it are read', () => {
  let read = 0;
  function* chunks(): Generator<Chunk> {
    for (let g = 0; g < 100; g++) {
      read++;
      yield [Int32Array.from({ length: 10 }, (_, k) => g * 10 + k), 0, 10];
    }
  }
  const batches = packBatches(table, chunks());
  const first = batches.next().value!;
  expect(read).toBeLessThan(100);
  expect(first.rows.length).toBeGreaterThanOrEqual(256);
  expect(Array.from(first.rows.subarray(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  const rest = [...batches];
  expect(read).toBe(100);
  expect(first.rows.length + rest.reduce((s, b) => s + b.rows.length, 0)).toBe(1000);
});

test('a group longer than COMPARE_BATCH rows is cut into chunks of COMPARE_BATCH rows', () => {
  const rows = Int32Array.from({ length: 150 }, (_, k) => k);
  const [batch, ...more] = [...packBatches(table, [[rows, 0, 150]])];
  expect(more).toEqual([]);
  expect(Array.from(batch.rows)).toEqual(Array.from(rows));
  expect(Array.from(batch.ends!)).toEqual([COMPARE_BATCH, 2 * COMPARE_BATCH, 150]);
});

test('release frees a row array at once (its buffer detached) and leaves shared columns alone', () => {
  const mine = new Int32Array(1 << 20);
  const shared = new Int32Array(new SharedArrayBuffer(64));
  release(mine, shared);
  expect(mine.length).toBe(0);
  expect(mine.buffer.byteLength).toBe(0);
  expect(shared.length).toBe(16);
});
