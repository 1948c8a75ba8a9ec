/**
 * Linking merges metadata, so by default only files equal in content AND mode, owner,
 * group, mtime and every xattr (capabilities, ACLs, user.*) are linked. Each --ignore-*
 * relaxes exactly its own part. Existing hard-link groups are never split; devices, FIFOs,
 * sockets and symlinks are never planned and never touched.
 */
import { execFileSync } from 'node:child_process';
import { lstatSync, readFileSync } from 'node:fs';
import { makeTree, type Entry, type Tree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';

const isRoot = process.getuid?.() === 0;

/** True when `cmd` is on the PATH. */
const have = (cmd: string): boolean => {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const tools = ['setcap', 'setfacl', 'getfattr', 'mknod'];
const missing = [!isRoot && 'not running as root (chown, setcap, mknod need it)', ...tools.filter((n) => !have(n)).map((n) => `${n} not installed`)].filter(Boolean);

/** Every xattr of a file as `name=hex` lines (getfattr, which also shows system.* and security.*). */
function xattrs(p: string): string {
  const out = execFileSync('getfattr', ['-d', '-m', '-', '-e', 'hex', '--absolute-names', p], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes('='))
    .sort()
    .join(' ');
}

/** The properties a link merges, per field. */
function props(p: string): Record<string, string> {
  const st = lstatSync(p, { bigint: true });
  return { mode: (st.mode & 0o7777n).toString(8), uid: String(st.uid), gid: String(st.gid), mtime: String(st.mtimeNs), xattrs: xattrs(p) };
}

type Relax = 'mode' | 'owner' | 'mtime' | 'xattrs';
interface Case {
  name: string;
  relax: Relax;
  /** The one field (of props()) in which the two variants differ. */
  field: string;
  two: Partial<Exclude<Entry, string | Buffer>>;
  after?: (p: string) => void;
}

const CASES: Case[] = [
  { name: 'mode', relax: 'mode', field: 'mode', two: { mode: 0o600 } },
  { name: 'setuid', relax: 'mode', field: 'mode', two: { mode: 0o4755 } },
  { name: 'uid', relax: 'owner', field: 'uid', two: { uid: 65534 } },
  { name: 'gid', relax: 'owner', field: 'gid', two: { gid: 65534 } },
  { name: 'mtime', relax: 'mtime', field: 'mtime', two: { mtime: new Date('2023-05-06T07:08:09.500Z') } },
  { name: 'capability', relax: 'xattrs', field: 'xattrs', two: {}, after: (p) => execFileSync('setcap', ['cap_net_raw+ep', p]) },
  { name: 'acl', relax: 'xattrs', field: 'xattrs', two: {}, after: (p) => execFileSync('setfacl', ['-m', 'u:nobody:r', p]) },
  { name: 'user-xattr', relax: 'xattrs', field: 'xattrs', two: { xattrs: { 'user.tag': 'two' } } },
];
const ONE_MODE: Record<string, number> = { setuid: 0o755 };

/**
 * v1/<case> and v2/<case> have the same content and differ in one property; t1/<case> is an
 * exact twin of v1/<case>, t2/<case> of v2/<case>.
 */
function variants(): Tree {
  const spec: Record<string, Entry> = {};
  for (const c of CASES) {
    const content = `content of the ${c.name} case\n`;
    const one = { content, mode: ONE_MODE[c.name] ?? 0o644, uid: 0, gid: 0 };
    const two = { ...one, ...c.two };
    spec[`v1/${c.name}`] = one;
    spec[`t1/${c.name}`] = one;
    spec[`v2/${c.name}`] = two;
    spec[`t2/${c.name}`] = two;
  }
  const t = makeTree(spec);
  for (const c of CASES) {
    // The mtime stays as makeTree set it: setcap and setfacl change only the ctime.
    c.after?.(t.path(`v2/${c.name}`));
    c.after?.(t.path(`t2/${c.name}`));
  }
  return t;
}

const ino = (t: Tree, rel: string) => lstatSync(t.path(rel)).ino;

/** Every path named anywhere in a plan (operations, their targets, store entries and keepers). */
function planPaths(planFile: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync(planFile, 'utf8').trimEnd().split('\n')) {
    const rec = JSON.parse(line);
    for (const r of [rec, rec.from, rec.target]) if (r && typeof r.path === 'string' && rec.type !== 'header') out.push(r.path);
  }
  return out;
}

(missing.length ? describe.skip : describe)('metadata that must match before two files are linked', () => {
  test('each pair really differs in exactly one property', () => {
    const t = variants();
    try {
      for (const c of CASES) {
        const one = props(t.path(`v1/${c.name}`));
        const two = props(t.path(`v2/${c.name}`));
        expect(props(t.path(`t1/${c.name}`))).toEqual(one);
        expect(props(t.path(`t2/${c.name}`))).toEqual(two);
        const differ = Object.keys(one).filter((k) => one[k] !== two[k]);
        expect({ case: c.name, differ }).toEqual({ case: c.name, differ: [c.field] });
      }
    } finally {
      t.cleanup();
    }
  });

  const runs: Array<[string, Relax | undefined]> = [
    ['(default)', undefined],
    ['--ignore-mode', 'mode'],
    ['--ignore-owner', 'owner'],
    ['--ignore-mtime', 'mtime'],
    ['--ignore-xattrs', 'xattrs'],
  ];
  test.each(runs)('%s: only the relaxed property lets a pair merge; every file is linked to its exact twin', (flag, relax) => {
    const t = variants();
    try {
      const before: Record<string, Record<string, string>> = {};
      for (const c of CASES) for (const d of ['v1', 'v2', 't1', 't2']) before[`${d}/${c.name}`] = props(t.path(`${d}/${c.name}`));
      const plan = t.path('p.plan.jsonl');
      const flags = relax ? [flag] : [];
      const p = hashify(['plan', t.path('v1'), t.path('v2'), t.path('t1'), t.path('t2'), '-o', plan, '--no-cache', '--json', '--adopt', ...flags]);
      expect(p.status).toBe(0);
      const merging = CASES.filter((c) => c.relax === relax);
      // A merging case: one group of four inodes, 3 ops; any other: two groups of two, 2 ops.
      expect(p.json()).toMatchObject({ ops: 2 * CASES.length + merging.length, groups: 2 * CASES.length - merging.length });
      const a = hashify(['apply', plan, '--json']);
      expect(a.status).toBe(0);
      expect(a.json()).toMatchObject({ failed: 0, skipped: 0 });
      for (const c of CASES) {
        // Linking works: each file shares its inode with its exact twin.
        expect(ino(t, `v1/${c.name}`)).toBe(ino(t, `t1/${c.name}`));
        expect(ino(t, `v2/${c.name}`)).toBe(ino(t, `t2/${c.name}`));
        const merged = ino(t, `v1/${c.name}`) === ino(t, `v2/${c.name}`);
        expect({ case: c.name, merged }).toEqual({ case: c.name, merged: c.relax === relax });
        if (c.relax !== relax) {
          // Kept apart, so every file kept exactly its own metadata.
          for (const d of ['v1', 'v2', 't1', 't2']) expect(props(t.path(`${d}/${c.name}`))).toEqual(before[`${d}/${c.name}`]);
        }
      }
    } finally {
      t.cleanup();
    }
  });
});

(missing.length ? describe.skip : describe)('existing hard-link groups', () => {
  test.each([['store', []], ['no-store', ['--no-store']]])('are never split (%s)', (_mode, flags) => {
    const t = makeTree({
      'a/x': 'shared content\n',
      'a/y': { hardlink: 'a/x' },
      'b/x': 'shared content\n',
      'b/y': 'shared content\n',
      // A hard-link group whose metadata differs from its duplicates: kept whole and apart.
      'a/p': { content: 'private\n', mode: 0o600 },
      'a/q': { hardlink: 'a/p' },
      'b/p': { content: 'private\n', mode: 0o644 },
      'b/q': { content: 'private\n', mode: 0o644 },
    });
    try {
      expect(ino(t, 'a/x')).toBe(ino(t, 'a/y'));
      const plan = t.path('p.plan.jsonl');
      expect(hashify(['plan', t.path('a'), t.path('b'), '-o', plan, '--no-cache', '-q', '--adopt', ...(flags as string[])]).status).toBe(0);
      const a = hashify(['apply', plan, '--json']);
      expect(a.status).toBe(0);
      expect(a.json()).toMatchObject({ failed: 0, skipped: 0 });
      const x = ino(t, 'a/x');
      expect([ino(t, 'a/y'), ino(t, 'b/x'), ino(t, 'b/y')]).toEqual([x, x, x]);
      expect(ino(t, 'a/p')).toBe(ino(t, 'a/q'));
      expect(ino(t, 'b/p')).toBe(ino(t, 'b/q'));
      expect(ino(t, 'a/p')).not.toBe(ino(t, 'b/p'));
      expect(lstatSync(t.path('a/p')).mode & 0o7777).toBe(0o600);
      expect(lstatSync(t.path('b/p')).mode & 0o7777).toBe(0o644);
    } finally {
      t.cleanup();
    }
  });
});

(missing.length ? describe.skip : describe)('devices, FIFOs, sockets and symlinks', () => {
  test('are never in the plan and never touched', () => {
    const t = makeTree({
      'a/file': 'regular duplicate\n',
      'b/file': 'regular duplicate\n',
      'a/fifo': { fifo: true },
      'b/fifo': { fifo: true },
      'a/link': { symlink: 'file' },
      'b/link': { symlink: 'file' },
      'a/abs-link': { symlink: '/etc/hostname' },
      'b/abs-link': { symlink: '/etc/hostname' },
      'b/dirlink': { symlink: '../a' }, // never followed: a's files would show up twice
    });
    try {
      for (const d of ['a', 'b']) {
        execFileSync('mknod', [t.path(`${d}/chr`), 'c', '1', '3']);
        execFileSync('mknod', [t.path(`${d}/blk`), 'b', '7', '200']);
        execFileSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(t.path(`${d}/sock`))}, () => process.exit(0))`]);
      }
      const specials = ['fifo', 'link', 'abs-link', 'chr', 'blk', 'sock'].flatMap((n) => [`a/${n}`, `b/${n}`]).concat('b/dirlink');
      const state = (rel: string) => {
        const st = lstatSync(t.path(rel), { bigint: true });
        return `${st.ino} ${st.mode.toString(8)} ${st.nlink} ${st.rdev} ${st.ctimeNs} ${st.mtimeNs}`;
      };
      const before = Object.fromEntries(specials.map((r) => [r, state(r)]));
      expect(lstatSync(t.path('a/sock')).isSocket()).toBe(true);
      expect(lstatSync(t.path('a/chr')).isCharacterDevice()).toBe(true);
      expect(lstatSync(t.path('a/blk')).isBlockDevice()).toBe(true);

      const plan = t.path('p.plan.jsonl');
      const p = hashify(['plan', t.path('a'), t.path('b'), '-o', plan, '--no-cache', '--json', '--adopt', '--ignore-mode', '--ignore-owner', '--ignore-mtime', '--ignore-xattrs']);
      expect(p.status).toBe(0);
      expect(p.json()).toMatchObject({ files: 2, ops: 1 });
      expect([...new Set(planPaths(plan))].filter((x) => !x.startsWith(t.path('.hash/'))).sort()).toEqual([t.path('a/file'), t.path('b/file')]);
      const a = hashify(['apply', plan, '--json']);
      expect(a.status).toBe(0);
      expect(a.json()).toMatchObject({ applied: 1, failed: 0, skipped: 0 });
      expect(ino(t, 'a/file')).toBe(ino(t, 'b/file'));
      expect(Object.fromEntries(specials.map((r) => [r, state(r)]))).toEqual(before);
    } finally {
      t.cleanup();
    }
  });
});

if (missing.length) {
  test('metadata tests skipped', () => {
    console.log(`skipping metadata tests: ${missing.join('; ')}`);
  });
}
