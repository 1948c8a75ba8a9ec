/**
 * Paths longer than PATH_MAX (4096 bytes), each name at most 255: a file whose path relative
 * to its root is past the limit while its directory's is not, and one whose directory alone is
 * past it. plan → show → verify → apply → status → verify --content → fsck → undo → gc, with
 * the store and without, and clone (store links and a hard-link set) all reach them, where one
 * openat2 or linkat of the whole path fails with ENAMETOOLONG. The trees are made and read
 * one directory at a time (test/helpers/deepTree.ts): no path call reaches them either.
 */
import { constants, fstatSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashify } from '../helpers/cli.js';
import { linux } from '../../src/native/addon.js';
import { listDeep, makeDeep, removeDeep, swapForSymlink, type DeepFile, type DeepStat } from '../helpers/deepTree.js';

const PATH_MAX = 4096;
const deep = (levels: number) => Array.from({ length: levels }, () => 'd'.repeat(200)).join('/');
/** 20 levels: the directory is 4019 bytes, with the file's name 4270. */
const NEAR = `${deep(20)}/${'g'.repeat(250)}`;
/** 24 levels: the directory alone is 4823 bytes. */
const FAR = `${deep(24)}/${'f'.repeat(250)}`;
const UNIQUE = `${deep(24)}/${'u'.repeat(250)}`;
const MTIME = 1_700_000_000;

/** A fresh directory for roots `a` and `b`, each holding NEAR and FAR with the same contents; `a` also UNIQUE. */
function twoRoots(): { dir: string; files: DeepFile[] } {
  const dir = mkdtempSync(join(tmpdir(), 'hashify-long-'));
  const files: DeepFile[] = [];
  for (const r of ['a', 'b']) {
    files.push({ path: `${r}/${NEAR}`, content: 'near content\n', mtime: MTIME });
    files.push({ path: `${r}/${FAR}`, content: 'far content\n', mtime: MTIME });
  }
  files.push({ path: `a/${UNIQUE}`, content: 'only in a\n', mtime: MTIME });
  makeDeep(dir, files);
  return { dir, files };
}

/** The files of roots `a` and `b` below dir (not the plan and journals beside them). */
const roots = (dir: string) => ({ ...prefixed('a', listDeep(join(dir, 'a'))), ...prefixed('b', listDeep(join(dir, 'b'))) });
const prefixed = (root: string, all: Record<string, DeepStat>) => Object.fromEntries(Object.entries(all).map(([p, s]) => [`${root}/${p}`, s]));

/** What must never change: everything but the inode and its link count. */
const kept = (all: Record<string, DeepStat>) =>
  Object.fromEntries(Object.entries(all).map(([p, { mode, uid, gid, mtime, sha256 }]) => [p, { mode, uid, gid, mtime, sha256 }]));

test('the fixture really is beyond PATH_MAX, relative to the root and for the directory alone', () => {
  expect(NEAR.length).toBeGreaterThan(PATH_MAX);
  expect(NEAR.lastIndexOf('/')).toBeLessThan(PATH_MAX - 1);
  expect(FAR.lastIndexOf('/')).toBeGreaterThan(PATH_MAX);
  for (const name of FAR.split('/')) expect(name.length).toBeLessThanOrEqual(255);
});

describe.each([
  ['with the store', [] as string[], 4],
  ['without a store (--no-store)', ['--no-store'], 2],
])('paths beyond PATH_MAX, %s', (_name, storeArgs, ops) => {
  let dir: string;
  let plan: string;
  let before: Record<string, DeepStat>;
  beforeAll(() => {
    dir = twoRoots().dir;
    plan = join(dir, 'p.plan');
    before = roots(dir);
  });
  afterAll(() => dir && removeDeep(dir));
  /** Runs `hashify COMMAND PLAN --json`, expecting `want`; the roots' files after it, whose contents and metadata must be as before. */
  const runAndList = (command: string, want: object) => {
    const r = hashify([command, plan, '--json']);
    expect(r.stderr).toBe('');
    expect(r.json()).toMatchObject(want);
    const now = roots(dir);
    expect(kept(now)).toEqual(kept(before));
    return now;
  };

  test('plan and show count every file and every pair; verify finds each applicable', () => {
    const r = hashify(['plan', join(dir, 'a'), join(dir, 'b'), '-o', plan, '--no-cache', '--json', ...storeArgs]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.json()).toMatchObject({ files: 5, groups: 2, ops });
    const show = hashify(['show', plan, '--json']);
    expect(show.status).toBe(0);
    expect(show.json()).toMatchObject({ files: 5, groups: 2, ops });
    const v = hashify(['verify', plan, '--json']);
    expect(v.status).toBe(0);
    expect(v.json()).toMatchObject({ ops, applicable: ops, done: 0, drifted: 0 });
  });

  test('apply links each pair; contents and metadata unchanged; status, verify and verify --content agree', () => {
    const now = runAndList('apply', { ops, applied: ops, skipped: 0, failed: 0 });
    for (const rel of [NEAR, FAR]) {
      expect(now[`a/${rel}`].ino).toBe(now[`b/${rel}`].ino);
      expect(now[`a/${rel}`].nlink).toBe(ops / 2 + 1);
    }
    expect(now[`a/${NEAR}`].ino).not.toBe(now[`a/${FAR}`].ino);
    expect(now[`a/${UNIQUE}`]).toEqual(before[`a/${UNIQUE}`]);
    expect(hashify(['status', plan, '--json']).json()).toMatchObject({ ops, done: ops, skipped: 0, failed: 0, finished: true });
    expect(hashify(['verify', plan, '--json']).json()).toMatchObject({ ops, applicable: 0, done: ops, drifted: 0 });
    const c = hashify(['verify', '--content', plan, '--json']);
    expect(c.status).toBe(0);
    expect(c.json()).toMatchObject({ done: ops, drifted: 0, contentChecked: ops, corrupt: [] });
  });

  test('undo gives every path its own inode again, contents and metadata unchanged', () => {
    const now = runAndList('undo', { ops, restored: ops, skipped: 0, failed: 0 });
    for (const s of Object.values(now)) expect(s.nlink).toBe(1);
    expect(new Set(Object.values(now).map((s) => s.ino)).size).toBe(5);
    expect(hashify(['status', plan, '--json']).json()).toMatchObject({ undo: { done: ops, skipped: 0, failed: 0, finished: true } });
  });
});

describe('the store of a tree beyond PATH_MAX, and clones of it', () => {
  let dir: string;
  let plan: string;
  beforeAll(() => {
    dir = twoRoots().dir;
    plan = join(dir, 'p.plan');
    expect(hashify(['plan', join(dir, 'a'), join(dir, 'b'), '-o', plan, '--no-cache', '--json']).json()).toMatchObject({ ops: 4 });
    expect(hashify(['apply', plan, '--json']).json()).toMatchObject({ applied: 4, failed: 0 });
  });
  afterAll(() => dir && removeDeep(dir));

  test('memory finds both shared inodes through their long paths', () => {
    const r = hashify(['memory', plan, '--json']);
    expect(r.status).toBe(0);
    expect(r.json()).toMatchObject({ sharedInodes: 2, missing: 0, stale: [] });
  });

  test('fsck finds the two entries sound', () => {
    const r = hashify(['fsck', join(dir, '.hash'), '--json']);
    expect(r.status).toBe(0);
    expect(r.json()).toMatchObject({ entries: 2, ok: 2, corrupt: [], unreadable: [] });
  });

  test('clone links the deep files from the store: the same inodes as the originals', () => {
    const r = hashify(['clone', join(dir, 'a'), join(dir, 'c'), '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.json()).toMatchObject({ linked: 2, copied: 1 });
    const a = listDeep(join(dir, 'a'));
    const c = listDeep(join(dir, 'c'));
    expect(kept(c)).toEqual(kept(a));
    for (const rel of [NEAR, FAR]) expect(c[rel].ino).toBe(a[rel].ino);
    expect(c[UNIQUE].ino).not.toBe(a[UNIQUE].ino);
  });

  test('undo keeps the entries the clone still uses; once the clone is gone, gc removes both', () => {
    expect(hashify(['undo', plan, '--json']).json()).toMatchObject({ restored: 4, failed: 0, removedEntries: [] });
    removeDeep(join(dir, 'c'));
    const r = hashify(['gc', join(dir, '.hash'), '--json']);
    expect(r.status).toBe(0);
    expect(r.json()).toMatchObject({ kept: 0 });
    expect(r.json().removed).toHaveLength(2);
  });
});

test('clone keeps a hard-link set whose first member lies beyond PATH_MAX', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hashify-long-'));
  try {
    const other = `${deep(22)}/${'e'.repeat(200)}/${'h'.repeat(250)}`;
    makeDeep(dir, [
      { path: `src/${FAR}`, content: 'linked twice\n', mtime: MTIME },
      { path: `src/${other}`, link: `src/${FAR}` },
    ]);
    const r = hashify(['clone', join(dir, 'src'), join(dir, 'dst'), '--json']);
    // No store here: the one warning says every file is copied.
    expect(r.stderr).toMatch(/^hashify: warning: no store at [^\n]*\n$/);
    expect(r.status).toBe(0);
    expect(r.json()).toMatchObject({ copied: 1, hardlinked: 1 });
    const src = listDeep(join(dir, 'src'));
    const dst = listDeep(join(dir, 'dst'));
    expect(kept(dst)).toEqual(kept(src));
    expect(dst[FAR].ino).toBe(dst[other].ino);
    expect(dst[FAR].nlink).toBe(2);
    expect(dst[FAR].ino).not.toBe(src[FAR].ino);
  } finally {
    removeDeep(dir);
  }
});

/**
 * Resolution in pieces keeps RESOLVE_NO_SYMLINKS in every piece: a directory of a long path
 * swapped for a symlink to itself (so that following it would reach the very inode the plan
 * recorded) is drift, in the first piece and past it.
 */
test.each([
  ['in the first piece', 2],
  ['past the first piece', 22],
])('a directory swapped for a symlink %s: apply skips the file as drift, verify reports it', (_name, level) => {
  const { dir } = twoRoots();
  try {
    const plan = join(dir, 'p.plan');
    expect(hashify(['plan', join(dir, 'a'), join(dir, 'b'), '-o', plan, '--no-cache', '--no-store', '--json']).json()).toMatchObject({ ops: 2 });
    const swapped = `b/${deep(level)}`;
    swapForSymlink(dir, swapped, 'aside');
    const before = listDeep(join(dir, 'b'));
    const r = hashify(['apply', plan, '--json']);
    expect(r.json()).toMatchObject({ ops: 2, applied: level > 20 ? 1 : 0, skipped: level > 20 ? 1 : 2, failed: 0 });
    // What lies below the swapped directory was not touched (NEAR, above level 22, was linked).
    const below = (all: Record<string, DeepStat>) => Object.entries(all).filter(([p]) => p.startsWith(`${deep(level - 1)}/aside/`));
    expect(below(before)).toHaveLength(level > 20 ? 1 : 2);
    expect(below(listDeep(join(dir, 'b')))).toEqual(below(before));
    const v = hashify(['verify', plan, '--json']);
    expect(v.json().drifts.map((d: { reason: string }) => d.reason)).toEqual(expect.arrayContaining([expect.stringMatching(/symlink/)]));
  } finally {
    removeDeep(dir);
  }
});

test('a path past 16 KiB (the plan schema limit before 1 MiB) goes through plan, show, apply and undo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hashify-long-'));
  try {
    const rel = `${deep(84)}/${'f'.repeat(250)}`;
    expect(rel.length).toBeGreaterThan(16384 + 500);
    makeDeep(dir, ['a', 'b'].map((r) => ({ path: `${r}/${rel}`, content: 'deepest\n', mtime: MTIME })));
    const plan = join(dir, 'p.plan');
    expect(hashify(['plan', join(dir, 'a'), join(dir, 'b'), '-o', plan, '--no-cache', '--no-store', '--json']).json()).toMatchObject({ files: 2, ops: 1 });
    const show = hashify(['show', plan, '--json']);
    expect(show.stderr).toBe('');
    expect(show.json()).toMatchObject({ files: 2, ops: 1 });
    expect(hashify(['apply', plan, '--json']).json()).toMatchObject({ applied: 1, failed: 0, skipped: 0 });
    expect(listDeep(join(dir, 'a'))[rel].ino).toBe(listDeep(join(dir, 'b'))[rel].ino);
    expect(hashify(['undo', plan, '--json']).json()).toMatchObject({ restored: 1, failed: 0, skipped: 0 });
    expect(listDeep(join(dir, 'a'))[rel].ino).not.toBe(listDeep(join(dir, 'b'))[rel].ino);
  } finally {
    removeDeep(dir);
  }
});

describe('openBeneath at the pieces’ edges', () => {
  const e75 = 'e'.repeat(75);
  /** name → its path below the root, chosen for where the first cut falls. */
  const paths: Record<string, string> = {
    'just fits one openat2 (4095 bytes)': `${deep(20)}/${'x'.repeat(75)}`,
    'one byte too long (4096)': `${deep(20)}/${'y'.repeat(76)}`,
    'a slash right at the cut': `${deep(20)}/${e75}/z`,
    'a doubled slash across the cut': `${deep(20)}/${e75}//w`,
    'three pieces': `${deep(45)}/v`,
  };
  let dir: string;
  let rootFd: number;
  let inodes: Record<string, DeepStat>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hashify-long-'));
    makeDeep(dir, Object.values(paths).map((p) => ({ path: p.replace('//', '/'), content: p.slice(-1), mtime: MTIME })));
    inodes = listDeep(dir);
    rootFd = linux().openRoot(Buffer.from(dir));
  });
  afterAll(() => {
    if (rootFd !== undefined) linux().close(rootFd);
    if (dir) removeDeep(dir);
  });

  test('the paths are where the cuts fall', () => {
    expect(paths['just fits one openat2 (4095 bytes)'].length).toBe(PATH_MAX - 1);
    expect(paths['one byte too long (4096)'].length).toBe(PATH_MAX);
    expect(paths['a slash right at the cut'][PATH_MAX - 1]).toBe('/');
    expect(paths['a doubled slash across the cut'].slice(PATH_MAX - 1, PATH_MAX + 1)).toBe('//');
    expect(paths['three pieces'].length).toBeGreaterThan(2 * PATH_MAX);
  });

  test.each(Object.entries(paths))('%s: the file it names', (_name, rel) => {
    const fd = linux().openBeneath(rootFd, Buffer.from(rel), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      expect(fstatSync(fd, { bigint: true }).ino.toString()).toBe(inodes[rel.replace('//', '/')].ino);
    } finally {
      linux().close(fd);
    }
  });

  test('a trailing slash after the cut opens the directory itself', () => {
    const fd = linux().openBeneath(rootFd, Buffer.from(`${deep(20)}/${e75}/`), linux().constants.O_DIRECTORY);
    try {
      expect(linux().lstatAt(fd, Buffer.from('z'))?.ino.toString()).toBe(inodes[paths['a slash right at the cut']].ino);
    } finally {
      linux().close(fd);
    }
  });

  test('".." climbing out of the root past the cut is refused, as one openat2 refuses it', () => {
    const up = `${deep(21)}/${'../'.repeat(22)}x`;
    expect(up.length).toBeGreaterThan(PATH_MAX);
    expect(() => linux().openBeneath(rootFd, Buffer.from(up), constants.O_RDONLY)).toThrow(expect.objectContaining({ code: 'EXDEV' }));
    expect(() => linux().openBeneath(rootFd, Buffer.from('../x'), constants.O_RDONLY)).toThrow(expect.objectContaining({ code: 'EXDEV' }));
  });
});
