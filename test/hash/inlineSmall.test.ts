/**
 * A pool asked for one small batch before any of its threads runs reads it on the calling
 * thread (a re-plan whose digests are all cached but for a few partial hashes starts no
 * thread); more work starts the threads. Same results either way.
 */
import { createHash } from 'node:crypto';
import { scanParallel } from '../../src/scan/scanParallel.js';
import { excludeMatcher } from '../../src/scan/excludeMatcher.js';
import { closeRoots } from '../../src/scan/walk.js';
import { WorkerPool } from '../../src/workers/workerPool.js';
import { STATUS_OK, type BatchResult } from '../../src/hash/hashRows.js';
import { makeTree } from '../helpers/tree.js';

test('one small batch is read without starting threads; many batches start them', async () => {
  const files: Record<string, string> = {};
  for (let k = 0; k < 600; k++) files[`d/f${k}`] = `content ${k}\n`;
  const t = makeTree(files);
  const { table } = await scanParallel({ roots: [Buffer.from(t.root)], skip: [], minSize: 1n, exclude: excludeMatcher([]) }, [], new WorkerPool(0));
  const pool = new WorkerPool(2);
  try {
    const digests = new Map<number, string>();
    const collect = (rows: Int32Array, r: BatchResult) => rows.forEach((i, k) => r.status[k] === STATUS_OK && digests.set(i, Buffer.from(r.digests.subarray(k * 32, k * 32 + 32)).toString('hex')));
    const expected = (i: number) => createHash('sha256').update(`content ${table.path(i).toString().split('/f').pop()}\n`).digest('hex');

    await pool.hash(table, [0, 1, 2], 'full', 'sha256', collect);
    expect(pool.running).toBe(0);
    expect([0, 1, 2].map((i) => digests.get(i))).toEqual([0, 1, 2].map(expected));

    const all = Array.from({ length: table.length }, (_, i) => i);
    await pool.hash(table, all, 'full', 'sha256', collect);
    expect(pool.running).toBe(2);
    expect(all.map((i) => digests.get(i))).toEqual(all.map(expected));
  } finally {
    await pool.close();
    closeRoots(table.roots);
    t.cleanup();
  }
});
