/**
 * A hostile guest racing the executor, for real: a separate process (test/helpers/racer.c)
 * swaps directories with RENAME_EXCHANGE, swaps a directory for a symlink to a host
 * directory, renames new versions over files, writes through a MAP_SHARED mapping, holds a
 * file open for writing, or plants temp names, while apply or undo runs. Whatever it does:
 * the other guest's files keep their bytes and metadata, nothing outside the roots changes
 * or leaks in, every store entry's bytes hash to its name, no update is reverted, and the
 * run finishes (or its rerun does) for everything the guest did not touch.
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { makeTree, type Tree } from '../helpers/tree.js';
import { CLI, hashify, type CliResult } from '../helpers/cli.js';
import { startRacer } from '../helpers/racer.js';
import { contentAndMetadata, tempFiles, unsoundEntries } from '../helpers/crashHook.js';
import { loopMountAvailable, makeLoopFs } from '../helpers/loopfs.js';

const N = 300;
const pad = (i: number) => String(i).padStart(5, '0');

/** `hashify ARGS` in a child process, without blocking the test's own event loop. */
function run(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, XDG_CACHE_HOME: '/tmp/hashify-test-cache', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (status, signal) => resolve({ status, signal, stdout, stderr, json: () => JSON.parse(stdout) }));
  });
}

function plan(t: Tree, roots: string[], extra: string[] = []): string {
  const p = t.path('p.plan.jsonl');
  const r = hashify(['plan', ...roots.map((x) => t.path(x)), '-o', p, '--no-cache', '-q', ...extra]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return p;
}

const sha = (p: string) => createHash('sha256').update(fs.readFileSync(p)).digest('hex');

/** Guest g1 (the attacker; its files are the keepers) and g2 (the victim) with the same files in x/; g1 also has y/ of other bytes. */
function guests(parent?: string): Tree {
  const spec: Record<string, string> = {};
  for (let i = 0; i < N; i++) {
    spec[`g1/x/f${i}`] = `shared ${pad(i)}\n`.repeat(8);
    spec[`g2/x/f${i}`] = `shared ${pad(i)}\n`.repeat(8);
    spec[`g1/y/f${i}`] = `evil!! ${pad(i)}\n`.repeat(8);
  }
  return makeTree(spec, parent ? { parent } : {});
}

/** g1's files, wherever the swapper left x/ and y/: for each name, the pair of contents. */
function attackerPairs(t: Tree): string[] {
  return Array.from({ length: N }, (_, i) => [sha(t.path(`g1/x/f${i}`)), sha(t.path(`g1/y/f${i}`))].sort().join(' '));
}

async function swapperDuringApply(t: Tree, flags: string[]): Promise<void> {
  const p = plan(t, ['g1', 'g2'], flags);
  const victim = contentAndMetadata(t.root, ['g2']);
  const pairs = attackerPairs(t);
  const stop = t.path('stop');
  const racer = startRacer(['exchange', t.path('g1/x'), t.path('g1/y'), stop], stop);
  const r = await run(['apply', p, '--json']);
  const swaps = Number(await racer.stop());
  expect(swaps).toBeGreaterThan(0);
  expect([0, 3]).toContain(r.status);
  // The victim's files hold their own bytes and metadata (linked or not), never the attacker's y/.
  expect(contentAndMetadata(t.root, ['g2'])).toEqual(victim);
  expect(attackerPairs(t)).toEqual(pairs);
  if (fs.existsSync(t.path('.hash'))) expect(unsoundEntries(t.path('.hash'))).toEqual([]);
  expect(tempFiles(t.root)).toEqual([]);
}

describe('a guest swapping two of its directories (RENAME_EXCHANGE) in a loop during apply', () => {
  test('store mode: the other guest keeps its own bytes; every store entry hashes to its name', async () => {
    const t = guests();
    try {
      await swapperDuringApply(t, []);
    } finally {
      t.cleanup();
    }
  });

  test('--no-store: the same', async () => {
    const t = guests();
    try {
      await swapperDuringApply(t, ['--no-store']);
    } finally {
      t.cleanup();
    }
  });

  const btrfs = loopMountAvailable('btrfs');
  if (!btrfs.ok) console.warn(`skipping the --link reflink swapper test: ${btrfs.reason}`);
  (btrfs.ok ? test : test.skip)('--link reflink (loop btrfs): no clone of the attacker bytes lands in the other guest', async () => {
    const lfs = makeLoopFs({ type: 'btrfs', sizeMiB: 160 });
    try {
      const t = guests(lfs.dir);
      await swapperDuringApply(t, ['--link', 'reflink']);
    } finally {
      lfs.cleanup();
    }
  });
});

describe('a package manager renaming new versions over files while apply works on their directory', () => {
  test('no update is reverted: every file renamed over inside the replace window holds its new version afterwards', async () => {
    const spec: Record<string, string> = {};
    for (let i = 0; i < N; i++) {
      spec[`g1/d/f${i}`] = `version 1 of ${pad(i)}\n`;
      spec[`g2/d/f${i}`] = `version 1 of ${pad(i)}\n`;
    }
    const t = makeTree(spec);
    try {
      const p = plan(t, ['g1', 'g2'], ['--no-store']);
      const digest = hashify(['show', p, '--json']).json().digest;
      const tag = createHash('sha256').update(digest).digest('hex').slice(0, 12);
      const ops = fs.readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'link');
      expect(ops.every((o) => o.path.startsWith(t.path('g2/d/')))).toBe(true);
      for (let i = 0; i < N; i++) fs.writeFileSync(t.path(`g2/d/f${i}.new`), `version 2 of ${pad(i)}, longer\n`);
      // The moment apply makes an operation's temp name, its file is renamed over (inotify).
      fs.writeFileSync(t.path('map'), ops.map((o) => `.hashify-tmp-${tag}-${o.op}\t${o.path}\n`).join(''));
      const stop = t.path('stop');
      const racer = startRacer(['inotify', t.path('g2/d'), t.path('map'), stop], stop);
      await new Promise((r) => setTimeout(r, 100));
      const r = await run(['apply', p, '--json']);
      const renamed = Number(await racer.stop());
      expect(renamed).toBeGreaterThan(0);
      expect([0, 3]).toContain(r.status);
      const updated = Array.from({ length: N }, (_, i) => i).filter((i) => !fs.existsSync(t.path(`g2/d/f${i}.new`)));
      expect(updated.length).toBe(renamed);
      const reverted = updated.filter((i) => fs.readFileSync(t.path(`g2/d/f${i}`), 'utf8') !== `version 2 of ${pad(i)}, longer\n`);
      expect(reverted).toEqual([]);
      expect(tempFiles(t.root)).toEqual([]);
    } finally {
      t.cleanup();
    }
  });
});

describe('a keeper written through a MAP_SHARED mapping after plan (a dirty page: no mtime or ctime change)', () => {
  test('no store entry has bytes that do not hash to its name; the other guest keeps its bytes', async () => {
    const t = makeTree({ 'g1/k': 'keeper bytes\n'.repeat(5000), 'g2/k': 'keeper bytes\n'.repeat(5000), 'g1/z': 'plain\n', 'g2/z': 'plain\n' });
    try {
      const ready = t.path('ready');
      const go = t.path('go');
      const stop = t.path('stop');
      const racer = startRacer(['mmapdirty', t.path('g1/k'), ready, go, stop], stop);
      while (!fs.existsSync(ready)) await new Promise((r) => setTimeout(r, 10));
      const p = plan(t, ['g1', 'g2']);
      const victim = sha(t.path('g2/k'));
      fs.writeFileSync(go, '');
      await new Promise((r) => setTimeout(r, 100));
      const r = await run(['apply', p, '--json']);
      await racer.stop();
      expect(r.status).toBe(3);
      // Caught by the read lease (the mapping holds the file open for writing), or earlier by
      // the mtime when writeback ran meanwhile and the next write faulted.
      expect(r.stderr).toMatch(/open for writing|no longer match|modified/);
      expect(unsoundEntries(t.path('.hash'))).toEqual([]);
      expect(sha(t.path('g2/k'))).toBe(victim);
      expect(fs.lstatSync(t.path('g1/z')).ino).toBe(fs.lstatSync(t.path('g2/z')).ino);
    } finally {
      t.cleanup();
    }
  });
});

describe('a file held open for writing', () => {
  test('is not replaced (drift "open for writing"); the writer\'s later writes land in the file at the path', async () => {
    const t = makeTree({ 'g1/f': 'same\n'.repeat(100), 'g2/f': 'same\n'.repeat(100), 'g1/o': 'other\n', 'g2/o': 'other\n' });
    try {
      const p = plan(t, ['g1', 'g2'], ['--no-store']);
      const ready = t.path('ready');
      const stop = t.path('stop');
      const racer = startRacer(['holdopen', t.path('g2/f'), ready, stop], stop);
      while (!fs.existsSync(ready)) await new Promise((r) => setTimeout(r, 10));
      const r = await run(['apply', p, '--json']);
      await racer.stop();
      expect(r.status).toBe(3);
      expect(r.json()).toMatchObject({ applied: 1, skipped: 1 });
      expect(r.stderr).toContain('open for writing');
      expect(fs.readFileSync(t.path('g2/f'), 'utf8')).toBe('written while held\n' + 'same\n'.repeat(100).slice(19));
      expect(fs.lstatSync(t.path('g1/o')).ino).toBe(fs.lstatSync(t.path('g2/o')).ino);
    } finally {
      t.cleanup();
    }
  });
});

describe('temp names planted by a guest', () => {
  test.each([['store', []], ['no-store', ['--no-store']]])('(%s) never make apply fail: another deterministic name is used and the planted files are left alone', (_mode, flags) => {
    const t = makeTree({ 'g1/a': 'aaa\n', 'g2/a': 'aaa\n', 'g1/b': 'bbb\n', 'g2/b': 'bbb\n' });
    try {
      const p = plan(t, ['g1', 'g2'], flags as string[]);
      const digest = hashify(['show', p, '--json']).json().digest;
      const tag = createHash('sha256').update(digest).digest('hex').slice(0, 12);
      const ops = fs.readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'link');
      const planted: string[] = [];
      for (const op of ops) {
        const dir = op.path.slice(0, op.path.lastIndexOf('/'));
        for (const name of [`.hashify-tmp-${tag}-${op.op}`, `.hashify-tmp-${tag}-${op.op}-1`]) {
          fs.writeFileSync(`${dir}/${name}`, 'planted by the guest\n');
          planted.push(`${dir}/${name}`);
        }
      }
      const r = hashify(['apply', p, '--json']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.json()).toMatchObject({ applied: ops.length, failed: 0 });
      for (const f of planted) expect(fs.readFileSync(f, 'utf8')).toBe('planted by the guest\n');
      expect(hashify(['apply', p, '--json']).status).toBe(0);
    } finally {
      t.cleanup();
    }
  });
});

describe('undo while a guest swaps a directory for a symlink to a host directory', () => {
  test('nothing outside the roots is read or written; once the guest stops, undo finishes', async () => {
    const spec: Record<string, string> = {};
    for (let i = 0; i < N; i++) {
      spec[`g1/d/f${i}`] = `guest file ${pad(i)}\n`.repeat(4);
      spec[`g2/d/f${i}`] = `guest file ${pad(i)}\n`.repeat(4);
      spec[`host/f${i}`] = `SECRET host ${pad(i)}\n`.repeat(4);
    }
    const t = makeTree(spec);
    try {
      const p = plan(t, ['g1', 'g2']);
      expect(hashify(['apply', p, '-q']).status).toBe(0);
      for (let i = 0; i < N; i++) fs.chmodSync(t.path(`host/f${i}`), 0o600);
      const host = contentAndMetadata(t.root, ['host']);
      const stop = t.path('stop');
      const racer = startRacer(['symlink', t.path('g2/d'), t.path('host'), stop], stop);
      const r = await run(['undo', p, '--json']);
      expect(Number(await racer.stop())).toBeGreaterThan(0);
      expect(r.signal).toBe(null);
      expect(contentAndMetadata(t.root, ['host'])).toEqual(host);
      expect(fs.readdirSync(t.path('host')).length).toBe(N);
      for (const g of ['g1', 'g2']) for (let i = 0; i < N; i++) expect(fs.readFileSync(t.path(`${g}/d/f${i}`), 'utf8')).not.toContain('SECRET');
      // The guest stopped: a rerun restores everything.
      const again = hashify(['undo', p, '--json']);
      expect(again.status).toBe(0);
      const inodes = new Set([...Array(N).keys()].flatMap((i) => ['g1', 'g2'].map((g) => fs.lstatSync(t.path(`${g}/d/f${i}`)).ino)));
      expect(inodes.size).toBe(2 * N);
      expect(tempFiles(t.path('g1'))).toEqual([]);
    } finally {
      t.cleanup();
    }
  });
});

describe('undo', () => {
  test('keeps sparse files sparse', () => {
    const t = makeTree({});
    try {
      for (const g of ['g1', 'g2']) {
        fs.mkdirSync(t.path(g));
        const fd = fs.openSync(t.path(`${g}/sparse`), 'w');
        fs.writeSync(fd, 'head'.repeat(1024), 0);
        fs.writeSync(fd, 'tail'.repeat(1024), 50 * 1024 * 1024);
        fs.closeSync(fd);
        fs.utimesSync(t.path(`${g}/sparse`), 1e9, 1e9);
      }
      const before = sha(t.path('g1/sparse'));
      const p = plan(t, ['g1', 'g2']);
      expect(hashify(['apply', p, '-q']).status).toBe(0);
      expect(hashify(['undo', p, '-q']).status).toBe(0);
      for (const g of ['g1', 'g2']) {
        const st = fs.statSync(t.path(`${g}/sparse`));
        expect(st.size).toBe(50 * 1024 * 1024 + 4096);
        expect(st.blocks * 512).toBeLessThan(1024 * 1024);
        expect(sha(t.path(`${g}/sparse`))).toBe(before);
      }
      expect(fs.statSync(t.path('g1/sparse')).ino).not.toBe(fs.statSync(t.path('g2/sparse')).ino);
    } finally {
      t.cleanup();
    }
  });

  test('after a partial apply (killed between two paths of one inode) keeps the hard-link set whole', () => {
    const spec = { 'c/h1': 'hard linked\n', 'c/h2': { hardlink: 'c/h1' }, 'a/h': 'hard linked\n' };
    let split = 0;
    for (let n = 1; n < 40 && !split; n++) {
      const t = makeTree(spec);
      try {
        const p = plan(t, ['a', 'c']);
        const r = hashify(['apply', p, '-q'], { env: { HASHIFY_CRASH_AT: String(n) } });
        if (r.signal !== 'SIGKILL') break;
        if (fs.lstatSync(t.path('c/h1')).ino === fs.lstatSync(t.path('c/h2')).ino) continue;
        split = n; // c/h1 relinked to the store entry, c/h2 not yet
        const u = hashify(['undo', p, '--json']);
        expect(u.status).toBe(0);
        expect(fs.lstatSync(t.path('c/h1')).ino).toBe(fs.lstatSync(t.path('c/h2')).ino);
        expect(fs.lstatSync(t.path('c/h1')).nlink).toBe(2);
        expect(fs.lstatSync(t.path('a/h')).ino).not.toBe(fs.lstatSync(t.path('c/h1')).ino);
        for (const f of ['c/h1', 'c/h2', 'a/h']) expect(fs.readFileSync(t.path(f), 'utf8')).toBe('hard linked\n');
      } finally {
        t.cleanup();
      }
    }
    expect(split).toBeGreaterThan(0);
  });
});
