/**
 * What a reviewer and a script see: `show --json --ops` lists every operation, `show --groups`
 * names each group's store entry, the file that becomes it and every path; `verify --json`
 * and `status --json` list each drifted, skipped or failed operation with path and reason;
 * names that are not UTF-8 print as \xHH.
 */
import * as fs from 'node:fs';
import { makeTree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';

const t = makeTree({
  'a/x': 'one\n',
  'b/x': 'one\n',
  'c/x': 'one\n',
  'a/y': 'two\n',
  'b/y': 'two\n',
  'a/n\xff': 'three\n',
  'b/n\xfe': 'three\n',
});
afterAll(() => t.cleanup());
const p = t.path('p.plan.jsonl');

beforeAll(() => {
  expect(hashify(['plan', t.path('a'), t.path('b'), t.path('c'), '-o', p, '--no-cache', '-q']).status).toBe(0);
});

test('show --json --ops lists every operation with path, target and group', () => {
  const j = hashify(['show', p, '--json', '--ops']).json();
  // Copy-in (the default): every path of a group is an operation, the keeper's too.
  expect(j.ops).toBe(7);
  expect(j.operations).toHaveLength(7);
  expect(j.operations.map((o: { op: number }) => o.op)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  const ofB = j.operations.find((o: { path: string }) => o.path === t.path('b/x'));
  expect(ofB).toMatchObject({ group: expect.any(Number), integrity: expect.stringMatching(/^sha256-/) });
  expect(ofB.target).toMatch(/\.hash\/sha256\//);
  // Both odd names are operations now (a/n\xff is the keeper): each keeps its exact bytes.
  const odd = j.operations.filter((o: { path64?: string }) => o.path64).map((o: { path64: string }) => Buffer.from(o.path64, 'base64'));
  expect(odd.sort(Buffer.compare)).toEqual([t.bytes('a/n\xff'), t.bytes('b/n\xfe')].sort(Buffer.compare));
});

test('show --groups names the store entry, the file that becomes it, and every path of the group', () => {
  const r = hashify(['show', p, '--groups']);
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(`new store entry made from "${t.path('a/x')}"`);
  for (const f of ['a/x', 'b/x', 'c/x', 'b/y']) expect(r.stdout).toContain(`      "${t.path(f)}"`);
  const j = hashify(['show', p, '--groups', '--json']).json();
  expect(j.groups).toBe(3);
  expect(j.groupList).toHaveLength(3);
  const ofX = j.groupList.find((g: { from?: { path: string } }) => g.from?.path === t.path('a/x'));
  expect(ofX.paths.map((q: { path: string }) => q.path).sort()).toEqual([t.path('a/x'), t.path('b/x'), t.path('c/x')]);
});

test('show --json counts each largest group\'s paths, and lists them only with --groups', () => {
  const j = hashify(['show', p, '--json']).json();
  const x = j.largest.find((g: { from?: { path: string } }) => g.from?.path === t.path('a/x'));
  expect(x.pathCount).toBe(3);
  // Without --groups there is no list at all, rather than an empty one that reads as "no paths".
  expect(x).not.toHaveProperty('paths');
  const withPaths = hashify(['show', p, '--json', '--groups']).json();
  expect(withPaths.largest.find((g: { pathCount: number }) => g.pathCount === 3).paths).toHaveLength(3);
});

test('show prints names that are not UTF-8 as \\xHH: two such names stay apart', () => {
  const r = hashify(['show', p, '--ops']);
  expect(r.stdout).toContain(`"${t.path('b/n')}\\xfe"`);
  expect(r.stdout).toContain(`"${t.path('a/n')}\\xff"`);
  expect(r.stdout).not.toContain('\ufffd');
});

test('verify --json and status --json list every drifted, skipped or failed operation with its path and reason', () => {
  fs.writeFileSync(t.path('b/y'), 'two\n');
  const v = hashify(['verify', p, '--json']);
  expect(v.status).toBe(3);
  expect(v.json().drifted).toBe(1);
  expect(v.json().drifts).toEqual([{ op: expect.any(Number), path: t.path('b/y'), reason: expect.any(String) }]);
  expect(hashify(['apply', p, '-q']).status).toBe(3);
  const s = hashify(['status', p, '--json']).json();
  expect(s.skipped).toBe(1);
  expect(s.drifts).toEqual([{ op: expect.any(Number), status: 'skipped', path: t.path('b/y'), reason: expect.any(String) }]);
  const text = hashify(['status', p]).stdout;
  expect(text).toContain(`"${t.path('b/y')}": skipped`);
});
