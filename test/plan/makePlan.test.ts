/**
 * The plan pipeline without the command line: roots resolved, stages run, the plan written,
 * counts returned, nothing printed. The store's existing entries are the planner's input:
 * a new entry of a content that already has one takes the next free suffix.
 */
import * as fs from 'node:fs';
import { jest } from '@jest/globals';
import { makeTree } from '../helpers/tree.js';
import { resolveRoots } from '../../src/plan/resolveRoots.js';
import { makePlan } from '../../src/plan/makePlan.js';
import { HashCache } from '../../src/hash/hashCache.js';
import { storeEntryPath } from '../../src/store/storePath.js';
import { ensureStoreMarkerAt } from '../../src/store/marker.js';
import { openPlan } from '../../src/planfile/readPlan.js';

const ALL = { mtime: true, owner: true, mode: true, xattrs: true };

async function plan(roots: string[], output: string) {
  const { roots: canonical, store } = resolveRoots({ roots, noStore: false, link: 'hardlink' });
  const made = await makePlan({ roots: canonical, store, output, link: 'hardlink', algorithm: 'sha256', minSize: 1n, exclude: [], match: ALL, linkMax: 65000, threads: 1, cache: HashCache.disabled() });
  return { made, store: store! };
}

test('makePlan writes the plan and returns its counts, printing nothing', async () => {
  const t = makeTree({ 'a/x': 'same\n', 'b/x': 'same\n', 'a/y': 'other\n' });
  try {
    const write = jest.spyOn(process.stdout, 'write');
    const { made } = await plan([t.path('a'), t.path('b')], t.path('p.plan.jsonl'));
    expect(write).not.toHaveBeenCalled();
    write.mockRestore();
    expect(made).toMatchObject({ files: 3, groups: 1, storeEntries: 1 });
    const p = openPlan(t.path('p.plan.jsonl'));
    expect(p.digest).toBe(made.digest);
    expect(p.totals.ops).toBe(made.ops);
    expect(made.ops).toBeGreaterThanOrEqual(1);
    p.close();
  } finally {
    t.cleanup();
  }
});

test('a new store entry avoids the suffixes the store already has for that content', async () => {
  const t = makeTree({ 'a/x': { content: 'same\n', mode: 0o600 }, 'b/x': { content: 'same\n', mode: 0o600 } });
  try {
    // An entry of this content, with other metadata (mode 644), is already in the store as suffix 0.
    const integrity = 'sha256-' + (await import('node:crypto')).createHash('sha256').update('same\n').digest('base64');
    const existing = storeEntryPath(Buffer.from(t.path('.hash')), integrity, 0);
    fs.mkdirSync(t.path('.hash'));
    ensureStoreMarkerAt(Buffer.from(t.path('.hash')));
    fs.mkdirSync(existing.subarray(0, existing.lastIndexOf(0x2f)), { recursive: true });
    fs.writeFileSync(existing, 'same\n', { mode: 0o644 });
    const { store } = await plan([t.path('a'), t.path('b')], t.path('p.plan.jsonl'));
    const lines = fs.readFileSync(t.path('p.plan.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const entries = lines.filter((r) => r.type === 'store');
    expect(entries.map((r) => r.path)).toEqual([storeEntryPath(store, integrity, 1).toString()]);
  } finally {
    t.cleanup();
  }
});
