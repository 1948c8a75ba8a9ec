/**
 * The addon's batch hashing (native/hash.c, compare.c) on rows of a real scan: digests equal
 * to SHA-256 of the bytes, xattrs as the file has them, and a file changed, replaced or moved
 * behind a symlink since the scan reported as changed, never hashed.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { scanParallel } from '../../src/scan/scanParallel.js';
import { excludeMatcher } from '../../src/scan/excludeMatcher.js';
import { closeRoots } from '../../src/scan/walk.js';
import { WorkerPool } from '../../src/workers/workerPool.js';
import { STATUS_CHANGED, STATUS_OK, hashRows } from '../../src/hash/hashRows.js';
import type { FileTable } from '../../src/scan/fileTable.js';
import { makeTree } from '../helpers/tree.js';

const sha = (b: Buffer, alg = 'sha256') => createHash(alg).update(b).digest('hex');

async function scan(root: string): Promise<{ table: FileTable; row: (rel: string) => number }> {
  const { table } = await scanParallel({ roots: [Buffer.from(root)], skip: [], minSize: 1n, exclude: excludeMatcher([]) }, new WorkerPool(0));
  const row = (rel: string) => {
    for (let i = 0; i < table.length; i++) if (table.path(i).toString() === `${root}/${rel}`) return i;
    throw new Error(`no row for ${rel}`);
  };
  return { table, row };
}

const hex = (d: Uint8Array, k: number, len: number) => Buffer.from(d.subarray(k * len, (k + 1) * len)).toString('hex');

describe('hashing rows in the addon', () => {
  test('full and partial digests are those of the bytes; sha512 too; xattrs come back sorted', async () => {
    const big = Buffer.alloc(3 << 20, 7);
    big.write('middle', 1 << 20);
    const t = makeTree({ 'a/small': 'hello\n', 'a/big': big, 'b/x': { content: 'attrs', xattrs: { 'user.b': 'two', 'user.a': 'one' } } });
    const { table, row } = await scan(t.root);
    try {
      const rows = Int32Array.from(['a/small', 'a/big', 'b/x'].map(row));
      const full = hashRows(table, rows, 'full', 'sha256');
      expect([...full.status]).toEqual([STATUS_OK, STATUS_OK, STATUS_OK]);
      expect([0, 1, 2].map((k) => hex(full.digests, k, 32))).toEqual(['a/small', 'a/big', 'b/x'].map((r) => sha(readFileSync(t.path(r)))));
      expect(full.bytesRead).toBe(6 + big.length + 5);
      expect(full.xattrs).toEqual([[2, [['user.a', Buffer.from('one')], ['user.b', Buffer.from('two')]]]]);
      const long = hashRows(table, rows.subarray(1, 2), 'full', 'sha512');
      expect(hex(long.digests, 0, 64)).toBe(sha(big, 'sha512'));
      const partial = hashRows(table, rows.subarray(1, 2), 'partial', 'sha256');
      const headTail = Buffer.concat([big.subarray(0, 4096), big.subarray(big.length - 4096)]);
      expect(hex(partial.digests, 0, 16)).toBe(sha(headTail).slice(0, 32));
    } finally {
      closeRoots(table.roots);
      t.cleanup();
    }
  });

  test('a file changed, replaced, or behind a directory swapped for a symlink since the scan is reported changed, not hashed', async () => {
    const t = makeTree({ 'r/d/same': 'abc', 'r/d/grown': 'abc', 'r/d/replaced': 'abc', 'r/e/f': 'abc', 'outside/e/f': 'abc' });
    const { table, row } = await scan(t.path('r'));
    try {
      const rows = Int32Array.from(['d/same', 'd/grown', 'd/replaced', 'e/f'].map(row));
      appendFileSync(t.path('r/d/grown'), 'more');
      writeFileSync(t.path('r/d/replaced.new'), 'abc');
      renameSync(t.path('r/d/replaced.new'), t.path('r/d/replaced'));
      renameSync(t.path('r/e'), t.path('r/e.moved'));
      symlinkSync(t.path('outside/e'), t.path('r/e'));
      for (const kind of ['full', 'partial', 'compare'] as const) {
        const r = hashRows(table, rows, kind, 'sha256');
        expect({ kind, status: [...r.status] }).toEqual({ kind, status: [STATUS_OK, STATUS_CHANGED, STATUS_CHANGED, STATUS_CHANGED] });
      }
    } finally {
      closeRoots(table.roots);
      t.cleanup();
    }
  });

  test('candidate groups in one batch: equal files share a digest, every digest is its own bytes', async () => {
    const t = makeTree({ 'g/a1': 'same', 'g/a2': 'same', 'g/b1': 'diff', 'g/b2': 'same', 'h/c1': 'xxxxxx', 'h/c2': 'yyyyyy' });
    const { table, row } = await scan(t.root);
    try {
      const names = ['g/a1', 'g/a2', 'g/b1', 'g/b2', 'h/c1', 'h/c2'];
      const r = hashRows(table, Int32Array.from(names.map(row)), 'compare', 'sha256', Int32Array.from([4, 6]));
      expect([...r.status]).toEqual([0, 0, 0, 0, 0, 0]);
      expect(names.map((n, k) => hex(r.digests, k, 32))).toEqual(names.map((n) => sha(readFileSync(t.path(n)))));
    } finally {
      closeRoots(table.roots);
      t.cleanup();
    }
  });
});

