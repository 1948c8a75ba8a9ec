/**
 * Hashing with threads runs the addon's batches on libuv's pool (hashRowsAsync): the digests
 * are the ones read inline (threads: 0), and a throwing onBatch ends the run.
 */
import { createHash } from 'node:crypto';
import { scanParallel } from '../../src/scan/scanParallel.js';
import { excludeMatcher } from '../../src/scan/excludeMatcher.js';
import { closeRoots } from '../../src/scan/walk.js';
import { WorkerPool } from '../../src/workers/workerPool.js';
import { STATUS_OK, hashRows, hashRowsAsync, type BatchResult } from '../../src/hash/hashRows.js';
import { makeTree } from '../helpers/tree.js';

async function scanned(files: Record<string, string>) {
  const t = makeTree(files);
  const { table } = await scanParallel({ roots: [Buffer.from(t.root)], skip: [], minSize: 1n, exclude: excludeMatcher([]) }, new WorkerPool(0));
  return { t, table };
}

test('hashing on the pool gives the inline digests', async () => {
  const files: Record<string, string> = {};
  for (let k = 0; k < 600; k++) files[`d/f${k}`] = `content ${k}\n`;
  const { t, table } = await scanned(files);
  const pool = new WorkerPool(2);
  try {
    const digests = new Map<number, string>();
    let batches = 0;
    const collect = (rows: Int32Array, r: BatchResult) => {
      batches++;
      rows.forEach((i, k) => r.status[k] === STATUS_OK && digests.set(i, Buffer.from(r.digests.subarray(k * 32, k * 32 + 32)).toString('hex')));
    };
    const expected = (i: number) => createHash('sha256').update(`content ${table.path(i).toString().split('/f').pop()}\n`).digest('hex');
    const all = Array.from({ length: table.length }, (_, i) => i);
    await pool.hash(table, all, 'full', 'sha256', collect);
    expect(batches).toBeGreaterThan(1);
    expect(all.map((i) => digests.get(i))).toEqual(all.map(expected));
  } finally {
    closeRoots(table.roots);
    t.cleanup();
  }
});

test('a throwing onBatch rejects the run, and no batch is taken in after it', async () => {
  const files: Record<string, string> = {};
  for (let k = 0; k < 2000; k++) files[`d/f${k}`] = `x ${k}\n`;
  const { t, table } = await scanned(files);
  const pool = new WorkerPool(2);
  try {
    let settled = 0;
    const all = Array.from({ length: table.length }, (_, i) => i);
    const run = pool.hash(table, all, 'full', 'sha256', () => {
      settled++;
      throw new Error('stop');
    });
    await expect(run).rejects.toThrow('stop');
    expect(settled).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(1);
  } finally {
    closeRoots(table.roots);
    t.cleanup();
  }
});

test('hashRowsAsync gives what hashRows gives, for every kind', async () => {
  const files: Record<string, string> = {};
  for (let k = 0; k < 40; k++) files[`d/f${k}`] = `same ${k % 4}\n`;
  const { t, table } = await scanned(files);
  try {
    const rows = Int32Array.from({ length: table.length }, (_, i) => i);
    for (const kind of ['partial', 'full', 'xattrs', 'compare'] as const) {
      const want = hashRows(table, rows, kind, 'sha256');
      const got = await hashRowsAsync(table, rows, kind, 'sha256');
      expect(got).toEqual(want);
      expect(got.status.every((s) => s === STATUS_OK)).toBe(true);
    }
    const ends = Int32Array.of(10, 25, rows.length);
    expect(await hashRowsAsync(table, rows, 'compare', 'sha512', ends)).toEqual(hashRows(table, rows, 'compare', 'sha512', ends));
  } finally {
    closeRoots(table.roots);
    t.cleanup();
  }
});
