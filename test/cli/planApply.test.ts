import { makeTree, snapshot } from '../helpers/tree.js';
import { hashify, type CliResult } from '../helpers/cli.js';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

/** Each test reads only what beforeAll made (the plan, and the tree before and after it), so their order does not matter. */
describe('plan → show → apply on two copies of a tree with one changed file', () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 20; i++) {
    files[`a/dir${i % 3}/f${i}`] = `content ${i}\n`.repeat(i + 1);
    files[`b/dir${i % 3}/f${i}`] = i === 7 ? 'changed\n' : `content ${i}\n`.repeat(i + 1);
  }
  const t = makeTree(files);
  let planned: CliResult;
  let before: Record<string, string>;
  let after: Record<string, string>;
  beforeAll(() => {
    before = snapshot(t.root);
    planned = hashify(['plan', t.path('a'), t.path('b'), '-o', t.path('p.plan.jsonl'), '--json', '--no-cache']);
    after = snapshot(t.root);
    delete after['p.plan.jsonl'];
  });
  afterAll(() => t.cleanup());

  test('plan links every other file and changes nothing on disk', () => {
    expect(planned.status).toBe(0);
    // Copy-in (the default): both paths of each pair are operations.
    expect(planned.json()).toMatchObject({ ops: 38, groups: 19 });
    expect(after).toEqual(before);
  });

  test('show --json reports the SRI sha256 of the file as digest', () => {
    const r = hashify(['show', t.path('p.plan.jsonl'), '--json']);
    expect(r.status).toBe(0);
    const digest = 'sha256-' + createHash('sha256').update(readFileSync(t.path('p.plan.jsonl'))).digest('base64');
    expect(r.json().digest).toBe(digest);
    expect(planned.json().digest).toBe(digest);
  });

  test('apply links them, and a second apply finds everything done', () => {
    const r = hashify(['apply', t.path('p.plan.jsonl'), '--expect', planned.json().digest, '--json']);
    expect(r.status).toBe(0);
    expect(r.json()).toMatchObject({ ops: 38, applied: 38, alreadyDone: 0, skipped: 0, failed: 0, resumedAt: 0 });
    expect(statSync(t.path('a/dir0/f0')).ino).toBe(statSync(t.path('b/dir0/f0')).ino);
    expect(statSync(t.path('a/dir1/f7')).ino).not.toBe(statSync(t.path('b/dir1/f7')).ino);
    const again = hashify(['apply', t.path('p.plan.jsonl'), '--json']);
    expect(again.status).toBe(0);
    expect(again.json()).toMatchObject({ applied: 0, alreadyDone: 38, resumedAt: 38 });
  });
});

describe('apply says what it saved: the inodes it freed less the store entries it made', () => {
  const size = 50_000;
  const body = (c: string) => c.repeat(size);
  const t = makeTree({ 'a/x': body('x'), 'b/x': body('x'), 'c/x': body('x'), 'a/y': body('y'), 'b/y': body('y') });
  afterAll(() => t.cleanup());

  test.each([
    ['copy-in (one new entry per content)', []],
    ['--no-store (a kept copy per content)', ['--no-store']],
  ])('%s', (_what, extra) => {
    const plan = t.path(`p${extra.join('')}.plan.jsonl`);
    const fresh = hashify(['plan', t.path('a'), t.path('b'), t.path('c'), '-o', plan, '--no-cache', '-q', ...extra]);
    expect(fresh.status).toBe(0);
    const r = hashify(['apply', plan, '--json']);
    expect(r.status).toBe(0);
    // Five files of two contents become two inodes: three files' bytes saved, either way.
    expect(r.json().bytesSaved).toBe(3 * size);
    const undo = hashify(['undo', plan, '-q']);
    expect(undo.status).toBe(0);
  });
});
