/**
 * The tree changes between plan and apply, or during them, in the ways an attacker who owns
 * part of it would change it: files swapped for symlinks, directories swapped for symlinks to
 * directories outside the roots, the store swapped for a symlink, files appearing and
 * vanishing while planning. Whatever happens, nothing outside the roots is ever linked,
 * renamed or changed (its link counts stay 1), and nothing is linked to content that was not
 * hashed.
 */
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { makeTree, type Tree } from '../helpers/tree.js';
import { hashify, testCacheHome } from '../helpers/cli.js';

const MTIME = new Date('2024-01-02T03:04:05Z');
const NAMES = ['f', 'g', 'h'];
const contentOf = (name: string) => `the content of ${name}\n`.repeat(20);

/**
 * `r/a/d/NAME` and `r/b/d/NAME` are duplicates (roots r/a and r/b, store r/.hash); `outside/`
 * holds files with the same names and contents, outside the roots, each with one link.
 */
function tree(): Tree {
  const spec: Record<string, string> = {};
  for (const n of NAMES) {
    spec[`r/a/d/${n}`] = contentOf(n);
    spec[`r/b/d/${n}`] = contentOf(n);
    spec[`outside/${n}`] = contentOf(n);
  }
  return makeTree(spec);
}

/**
 * Everything about a directory outside the roots that a link, rename, unlink or write there
 * would change: its own mtime and ctime, its names, and each file's inode, link count,
 * ctime, mtime and content.
 */
function outsideState(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    const dst = fs.lstatSync(d, { bigint: true });
    out[`${rel}/`] = `dir ${dst.ino} ${dst.mtimeNs} ${dst.ctimeNs}`;
    for (const name of fs.readdirSync(d).sort()) {
      const p = `${d}/${name}`;
      const st = fs.lstatSync(p, { bigint: true });
      if (st.isDirectory()) walk(p, `${rel}/${name}`);
      else {
        const sum = st.isFile() ? createHash('sha256').update(fs.readFileSync(p)).digest('hex') : fs.readlinkSync(p);
        out[`${rel}/${name}`] = `${st.ino} nlink=${st.nlink} ${st.mtimeNs} ${st.ctimeNs} ${sum}`;
      }
    }
  };
  walk(dir, '');
  return out;
}

/** Every regular file below `dir` (not following symlinks), as inode → paths. */
function inodesBelow(dir: string): Map<bigint, string[]> {
  const out = new Map<bigint, string[]>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const ino = fs.lstatSync(p, { bigint: true }).ino;
        out.set(ino, [...(out.get(ino) ?? []), p]);
      }
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** No inode of `outside` has a name anywhere below `root` (the roots and the store). */
function expectNoOutsideInodes(outside: string, root: string) {
  const inside = inodesBelow(root);
  for (const [ino, paths] of inodesBelow(outside)) expect({ ino: String(ino), paths, inside: inside.get(ino) ?? [] }).toEqual({ ino: String(ino), paths, inside: [] });
}

/** Every regular file under the roots still has the content its name says. */
function expectContents(t: Tree) {
  for (const d of ['a', 'b']) {
    for (const n of NAMES) {
      const p = t.path(`r/${d}/d/${n}`);
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (st?.isFile()) expect(fs.readFileSync(p, 'utf8')).toBe(contentOf(n));
    }
  }
}

const noTemps = (root: string) => expect(fs.readdirSync(root, { recursive: true }).map(String).filter((p) => p.includes('.hashify-tmp-'))).toEqual([]);

function plan(t: Tree, flags: string[] = []): string {
  const file = t.path('p.plan.jsonl');
  const r = hashify(['plan', t.path('r/a'), t.path('r/b'), '-o', file, '--no-cache', '--json', ...flags]);
  expect(r.status).toBe(0);
  expect(r.json()).toMatchObject({ ops: NAMES.length });
  return file;
}

/** Replaces directory `rel` by a symlink to `to`; the original goes to `stash` (or is removed). */
function swapDir(t: Tree, rel: string, to: string, stash?: string) {
  if (stash) fs.renameSync(t.path(rel), stash);
  else fs.rmSync(t.path(rel), { recursive: true });
  fs.symlinkSync(to, t.path(rel));
}

const MODES: Array<[string, string[]]> = [
  ['store', []],
  ['no-store', ['--no-store']],
];

describe('(a) a planned file replaced by a symlink to a file outside the roots', () => {
  test.each(MODES)('is skipped; the symlink stays; the outside file keeps its inode, content and one link (%s)', (_mode, flags) => {
    const t = tree();
    try {
      const p = plan(t, flags);
      // f: the file an op replaces; g: the keeper (the file the group links to); h: untouched.
      for (const [rel, n] of [['r/b/d/f', 'f'], ['r/a/d/g', 'g']]) {
        fs.unlinkSync(t.path(rel));
        fs.symlinkSync(t.path(`outside/${n}`), t.path(rel));
      }
      const shadow = fs.existsSync('/etc/shadow') ? fs.lstatSync('/etc/shadow', { bigint: true }) : undefined;
      const before = outsideState(t.path('outside'));
      const r = hashify(['apply', p, '--json']);
      expect(r.status).toBe(3);
      expect(r.json()).toMatchObject({ ops: 3, applied: 1, skipped: 2, failed: 0 });
      expect(outsideState(t.path('outside'))).toEqual(before);
      for (const n of ['f', 'g']) expect(fs.lstatSync(t.path(`outside/${n}`)).nlink).toBe(1);
      for (const [rel, n] of [['r/b/d/f', 'f'], ['r/a/d/g', 'g']]) {
        expect(fs.lstatSync(t.path(rel)).isSymbolicLink()).toBe(true);
        expect(fs.readlinkSync(t.path(rel))).toBe(t.path(`outside/${n}`));
      }
      expectNoOutsideInodes(t.path('outside'), t.path('r'));
      expect(fs.lstatSync(t.path('r/a/d/h')).ino).toBe(fs.lstatSync(t.path('r/b/d/h')).ino);
      expectContents(t);
      noTemps(t.root);
      if (shadow) {
        const now = fs.lstatSync('/etc/shadow', { bigint: true });
        expect([now.ino, now.nlink]).toEqual([shadow.ino, shadow.nlink]);
      }
    } finally {
      t.cleanup();
    }
  });
});

describe('(b) a directory of a planned path swapped for a symlink to a directory outside the roots', () => {
  // [what is swapped, and for what]: copies with the same names, or the very directory
  // (moved out of the roots: the same inodes, so only the path gives it away).
  const cases: Array<[string, string, 'copies' | 'moved']> = [];
  for (const rel of ['r/b/d', 'r/b', 'r/a/d', 'r/a']) for (const kind of ['copies', 'moved'] as const) cases.push([rel, kind, kind]);
  // Without a store, the directories right above the files are enough (the store runs cover every depth).
  const matrix = MODES.flatMap(([m, f]) => cases.filter(([rel]) => m === 'store' || rel.endsWith('/d')).map(([rel, kind]) => [m, rel, kind, f] as const));
  test.each(matrix)('(%s) %s → %s: every op of it skipped as drift, nothing outside touched', (_mode, rel, kind, flags) => {
    const t = tree();
    try {
      const p = plan(t, [...flags]);
      const moved = t.path('moved');
      const depth = rel.split('/').length; // r/b → outside/ ; r/b/d → outside/
      let target = t.path('outside');
      if (kind === 'moved') {
        swapDir(t, rel, moved, moved);
        target = moved;
      } else {
        // The outside directory must hold the same names at the same depth.
        if (depth === 2) {
          fs.mkdirSync(t.path('outside2/d'), { recursive: true });
          for (const n of NAMES) {
            fs.copyFileSync(t.path(`outside/${n}`), t.path(`outside2/d/${n}`));
            fs.utimesSync(t.path(`outside2/d/${n}`), MTIME, MTIME);
          }
          target = t.path('outside2');
        }
        swapDir(t, rel, target);
      }
      const watched = [t.path('outside'), ...(fs.existsSync(t.path('outside2')) ? [t.path('outside2')] : []), ...(kind === 'moved' ? [moved] : [])];
      const before = watched.map(outsideState);
      const nlinks = watched.map((w) => [...inodesBelow(w).values()].map((ps) => fs.lstatSync(ps[0]).nlink));
      const r = hashify(['apply', p, '--json']);
      expect(r.status).toBe(3);
      expect(r.json()).toMatchObject({ ops: 3, applied: 0, skipped: 3, failed: 0 });
      expect(watched.map(outsideState)).toEqual(before);
      expect(watched.map((w) => [...inodesBelow(w).values()].map((ps) => fs.lstatSync(ps[0]).nlink))).toEqual(nlinks);
      for (const w of watched) expectNoOutsideInodes(w, t.path('r'));
      expect(fs.lstatSync(t.path(rel)).isSymbolicLink()).toBe(true);
      noTemps(t.root);
    } finally {
      t.cleanup();
    }
  });
});

describe('(c) the store directory replaced by a symlink', () => {
  test('to an empty directory elsewhere, before the first apply: refused or skipped, nothing there touched', () => {
    const t = tree();
    try {
      const p = plan(t);
      fs.mkdirSync(t.path('elsewhere'));
      fs.symlinkSync(t.path('elsewhere'), t.path('r/.hash'));
      const before = outsideState(t.path('elsewhere'));
      const outside = outsideState(t.path('outside'));
      const r = hashify(['apply', p, '--json']);
      expect([1, 3]).toContain(r.status);
      expect(r.stderr).toContain(t.path('r/.hash'));
      expect(outsideState(t.path('elsewhere'))).toEqual(before);
      expect(outsideState(t.path('outside'))).toEqual(outside);
      expect(fs.readlinkSync(t.path('r/.hash'))).toBe(t.path('elsewhere'));
      for (const n of NAMES) expect(fs.lstatSync(t.path(`r/a/d/${n}`)).ino).not.toBe(fs.lstatSync(t.path(`r/b/d/${n}`)).ino);
      expectContents(t);
      noTemps(t.root);
    } finally {
      t.cleanup();
    }
  });

  test('moved out and symlinked after a first apply: a second plan over the same store is refused or skipped, the moved store untouched', () => {
    const t = tree();
    try {
      const p1 = plan(t);
      expect(hashify(['apply', p1, '-q']).status).toBe(0);
      // New duplicates of the stored contents: the second plan links them to the existing entries.
      for (const n of NAMES) fs.writeFileSync(t.path(`r/b/d/${n}.new`), contentOf(n));
      for (const n of NAMES) fs.utimesSync(t.path(`r/b/d/${n}.new`), MTIME, MTIME);
      const p2 = t.path('p2.plan.jsonl');
      const r2 = hashify(['plan', t.path('r/a'), t.path('r/b'), '-o', p2, '--no-cache', '--json']);
      expect(r2.status).toBe(0);
      expect(r2.json()).toMatchObject({ ops: NAMES.length });
      fs.renameSync(t.path('r/.hash'), t.path('moved-store'));
      fs.symlinkSync(t.path('moved-store'), t.path('r/.hash'));
      const before = outsideState(t.path('moved-store'));
      const r = hashify(['apply', p2, '--json']);
      expect([1, 3]).toContain(r.status);
      expect(r.stderr).toContain(t.path('r/.hash'));
      expect(outsideState(t.path('moved-store'))).toEqual(before);
      for (const n of NAMES) expect(fs.lstatSync(t.path(`r/b/d/${n}.new`)).nlink).toBe(1);
      noTemps(t.root);
    } finally {
      t.cleanup();
    }
  });
});

describe('(d) files appearing and vanishing while planning', () => {
  test('plan succeeds, the plan is valid, apply exits 0 or 3 and every file keeps the content last written to it', async () => {
    const DUP = 'duplicate content\n'.repeat(50);
    const OTHER = 'different content\n'.repeat(50); // same length as DUP
    const spec: Record<string, string> = {};
    for (let i = 0; i < 300; i++) {
      spec[`r/a/s${i % 10}/f${i}`] = i % 2 ? DUP : `stable ${i}\n`.repeat(30);
      spec[`r/b/s${i % 10}/f${i}`] = i % 2 ? DUP : `stable ${i}\n`.repeat(30);
    }
    const t = makeTree(spec);
    try {
      const churnDir = t.path('r/b/churn');
      fs.mkdirSync(churnDir);
      const stop = t.path('stop');
      const manifest = t.path('manifest.json');
      // The churner: creates files with the duplicate content and deletes them, rewrites files
      // in place (same size, mtime put back) between the duplicate and another content, makes
      // and removes directories; until `stop` exists, then writes what each file last got.
      const script = `
        const fs = require('fs');
        const [dir, stop, manifest, DUP, OTHER, mtime] = process.argv.slice(1);
        const t = new Date(mtime);
        const last = {};
        const write = (name, content) => { fs.writeFileSync(dir + '/' + name, content); fs.utimesSync(dir + '/' + name, t, t); last[name] = content; };
        for (let k = 0; k < 10; k++) write('mut' + k, DUP);
        let i = 0;
        process.stdout.write('ready\\n');
        for (; !fs.existsSync(stop); i++) {
          write('new' + i, DUP);
          if (i >= 8) { fs.unlinkSync(dir + '/new' + (i - 8)); delete last['new' + (i - 8)]; }
          const k = i % 10;
          const fd = fs.openSync(dir + '/mut' + k, 'r+');
          const c = (i >> 3) % 2 ? OTHER : DUP;
          fs.writeSync(fd, c, 0); fs.closeSync(fd); fs.utimesSync(dir + '/mut' + k, t, t); last['mut' + k] = c;
          fs.mkdirSync(dir + '/d' + i); fs.writeFileSync(dir + '/d' + i + '/x', DUP); fs.utimesSync(dir + '/d' + i + '/x', t, t);
          if (i >= 4) fs.rmSync(dir + '/d' + (i - 4), { recursive: true });
        }
        for (let j = Math.max(0, i - 4); j < i; j++) last['d' + j + '/x'] = DUP;
        fs.writeFileSync(manifest, JSON.stringify({ last, iterations: i }));
      `;
      const child = spawn(process.execPath, ['-e', script, churnDir, stop, manifest, DUP, OTHER, MTIME.toISOString()], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
        child.on('exit', () => reject(new Error('the churner died')));
      });
      const p = t.path('p.plan.jsonl');
      // Churning runs while the plan scans and hashes.
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, [new URL('../../dist/cli.js', import.meta.url).pathname, 'plan', t.path('r/a'), t.path('r/b'), '-o', p, '--no-cache', '--json'], {
          env: { ...process.env, XDG_CACHE_HOME: testCacheHome() },
        });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d) => (stdout += d));
        c.stderr.on('data', (d) => (stderr += d));
        c.on('exit', (status) => resolve({ status, stdout, stderr }));
      });
      fs.writeFileSync(stop, '');
      expect(await exited).toBe(0);
      const { last, iterations } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { last: Record<string, string>; iterations: number };
      console.log(`churn: ${iterations} iterations while planning; plan warnings: ${r.stderr.split('\n').filter(Boolean).length}`);
      expect(iterations).toBeGreaterThan(0);
      expect({ status: r.status, stderr: r.stderr.split('\n').filter((l) => l && !l.startsWith('hashify: warning:')) }).toEqual({ status: 0, stderr: [] });
      expect(JSON.parse(r.stdout).ops).toBeGreaterThanOrEqual(150);
      expect(hashify(['show', p]).status).toBe(0);
      expect([0, 3]).toContain(hashify(['verify', p]).status);
      const a = hashify(['apply', p, '--json']);
      expect([0, 3]).toContain(a.status);
      expect(a.json()).toMatchObject({ failed: 0 });
      // Nothing was linked to content that the path did not hold: every churned file has what
      // was last written to it, and the churn directory holds exactly the churner's names.
      const found: Record<string, string> = {};
      for (const rel of fs.readdirSync(churnDir, { recursive: true }).map(String)) {
        const st = fs.lstatSync(`${churnDir}/${rel}`);
        if (st.isFile()) found[rel] = fs.readFileSync(`${churnDir}/${rel}`, 'utf8');
      }
      expect(Object.keys(found).sort()).toEqual(Object.keys(last).sort());
      for (const [rel, content] of Object.entries(last)) expect({ rel, same: found[rel] === content }).toEqual({ rel, same: true });
      // The stable duplicates were all linked.
      for (let i = 0; i < 300; i++) {
        const a1 = fs.lstatSync(t.path(`r/a/s${i % 10}/f${i}`));
        const b1 = fs.lstatSync(t.path(`r/b/s${i % 10}/f${i}`));
        expect(a1.ino).toBe(b1.ino);
        expect(fs.readFileSync(t.path(`r/b/s${i % 10}/f${i}`), 'utf8')).toBe(i % 2 ? DUP : `stable ${i}\n`.repeat(30));
      }
      noTemps(t.root);
    } finally {
      fs.writeFileSync(t.path('stop'), '');
      t.cleanup();
    }
  });
});

// (e), the directory swapped inside the check-then-link window, is now raced by a real
// process against the executor: test/reliability/executorRaces.test.ts.
