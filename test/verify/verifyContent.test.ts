/**
 * `verify --content`: an in-place write through a hard-linked file changes every path that
 * shares the inode while each path still looks "done" to a stat-only verify. Re-hashing the
 * targets finds it (exit 3) and names every operation sharing that inode; files are opened
 * beneath their roots, so a directory swapped for a symlink is never followed.
 */
import * as fs from 'node:fs';
import { makeTree, type Tree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';

let tree: Tree;
afterEach(() => tree?.cleanup());

const SAME = 'the same library bytes\n'.repeat(400);

function applied(extra: string[] = []): string {
  tree = makeTree({ 'a/lib/x.so': SAME, 'b/lib/x.so': SAME, 'c/lib/x.so': SAME, 'a/etc/motd': 'hello\n', 'b/etc/motd': 'hello\n' });
  const plan = `${tree.root}/p.jsonl`;
  expect(hashify(['plan', tree.path('a'), tree.path('b'), tree.path('c'), '-o', plan, '--no-cache', '--quiet', ...extra]).status).toBe(0);
  expect(hashify(['apply', plan, '--quiet']).status).toBe(0);
  return plan;
}

describe.each([['store'], ['no-store']])('verify --content (%s)', (mode) => {
  const extra = mode === 'no-store' ? ['--no-store'] : [];

  test('after a clean apply every done operation is re-hashed and matches: exit 0', () => {
    const plan = applied(extra);
    const r = hashify(['verify', plan, '--content', '--json']);
    expect(r.status).toBe(0);
    expect(r.json()).toMatchObject({ done: r.json().ops, drifted: 0, contentChecked: r.json().ops, corrupt: [] });
  });

  test('an append through one guest is found in every path sharing the inode (exit 3), which a plain verify cannot see', () => {
    const plan = applied(extra);
    fs.appendFileSync(tree.path('c/lib/x.so'), 'X\n');
    const plain = hashify(['verify', plan, '--json']);
    expect(plain.status).toBe(0);
    expect(plain.json().drifted).toBe(0);
    const r = hashify(['verify', plan, '--content', '--json']);
    expect(r.status).toBe(3);
    const corrupt = r.json().corrupt as Array<{ path: string; expected: string; found: string }>;
    // The ops of the x.so group: every guest but the keeper (its path is not an op).
    const opsOfGroup = ['a', 'b', 'c'].map((g) => tree.path(`${g}/lib/x.so`)).filter((p) => corrupt.some((c) => c.path === p));
    expect(opsOfGroup).toHaveLength(2);
    expect(corrupt).toHaveLength(2);
    for (const c of corrupt) expect(c.found).not.toBe(c.expected);
    const text = hashify(['verify', plan, '--content']);
    expect(text.status).toBe(3);
    expect(text.stdout).toContain('2 no longer match the plan');
  });

  test('a rewrite at the same size with the mtime put back is found too', () => {
    const plan = applied(extra);
    const p = tree.path('a/etc/motd');
    const st = fs.statSync(p);
    fs.writeFileSync(p, 'HELLO\n');
    fs.utimesSync(p, st.atime, st.mtime);
    const r = hashify(['verify', plan, '--content', '--json']);
    expect(r.status).toBe(3);
    expect(r.json().corrupt.map((c: { path: string }) => c.path)).toEqual([mode === 'no-store' ? tree.path('b/etc/motd') : expect.stringMatching(/\/etc\/motd$/)]);
  });
});

test('verify --content does not follow a directory swapped for a symlink, even to the shared inode itself', () => {
  const plan = applied();
  const opPaths = fs.readFileSync(plan, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'link').map((r) => r.path as string);
  // b/lib and c/lib now lead to a/lib: a kernel walk that followed them would reach the
  // shared inode and call those operations done and checked.
  for (const g of ['b', 'c']) {
    fs.renameSync(tree.path(`${g}/lib`), tree.path(`${g}/lib.old`));
    fs.symlinkSync(tree.path('a/lib'), tree.path(`${g}/lib`));
  }
  const throughSymlink = opPaths.filter((p) => p.startsWith(tree.path('b/lib/')) || p.startsWith(tree.path('c/lib/')));
  expect(throughSymlink.length).toBeGreaterThanOrEqual(1);
  const r = hashify(['verify', plan, '--content', '--json']);
  expect(r.json().corrupt).toEqual([]);
  expect(r.json().contentChecked).toBe(opPaths.length - throughSymlink.length);
});

test('a changed file whose name is not UTF-8 is reported with its exact bytes (path64)', () => {
  tree = makeTree({ 'a/caf\u00e9.txt': SAME, 'b/caf\u00e9.txt': SAME });
  const plan = `${tree.root}/p.jsonl`;
  expect(hashify(['plan', tree.path('a'), tree.path('b'), '-o', plan, '--no-cache', '--quiet', '--no-store']).status).toBe(0);
  expect(hashify(['apply', plan, '--quiet']).status).toBe(0);
  fs.appendFileSync(tree.bytes('a/caf\u00e9.txt'), 'X');
  const r = hashify(['verify', plan, '--content', '--json']);
  expect(r.status).toBe(3);
  const [c] = r.json().corrupt;
  expect([tree.bytes('a/caf\u00e9.txt'), tree.bytes('b/caf\u00e9.txt')].map((b) => b.toString('base64'))).toContain(c.path64);
});
