/**
 * The executor keeps a bounded cache of directory descriptors. A step that uses two
 * directories (a store shard found in the cache, then the keeper's directory opened anew)
 * must not have the first closed under it by the second's eviction: its number would be
 * reused by the next open (the keeper file), and the store entry would be made through the
 * wrong descriptor (seen on the 8-guest corpus: 471 of 42,370 operations failed with ENOTDIR).
 * Many contents spread over many directories cycle the cache through that case.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { makeTree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';

test('apply over thousands of directories: every operation applied, none failed by a reused descriptor', () => {
  const t = makeTree({});
  try {
    const n = 3000;
    const when = new Date('2023-11-14T22:13:20Z');
    for (const g of ['a', 'b', 'c']) {
      for (let i = 0; i < n; i++) {
        const dir = t.path(`${g}/d${i % 331}/e${i % 7}`);
        fs.mkdirSync(dir, { recursive: true });
        const file = join(dir, `f${i}`);
        fs.writeFileSync(file, `content ${i}\n`.repeat(5));
        fs.utimesSync(file, when, when);
      }
    }
    const plan = t.path('p.plan.jsonl');
    expect(hashify(['plan', t.path('a'), t.path('b'), t.path('c'), '-o', plan, '--no-cache', '-q']).status).toBe(0);
    const r = hashify(['apply', plan, '--json']);
    expect(r.json()).toMatchObject({ ops: 3 * n, applied: 3 * n, failed: 0, skipped: 0 });
    expect(r.status).toBe(0);
  } finally {
    t.cleanup();
  }
});
