/**
 * hashify run by an unprivileged user (setpriv to nobody): every EACCES/EPERM is reported
 * with its path, the exit code is 1, nothing changes, and a failed operation is retried by
 * the next apply once the cause is gone. A plan by such a user leaves out what it cannot
 * read and still succeeds.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, lstatSync } from 'node:fs';
import { makeTree, snapshot, type Entry, type Tree } from '../helpers/tree.js';
import { CLI, hashify } from '../helpers/cli.js';

function getent(db: string, name: string): string[] | undefined {
  try {
    return execFileSync('getent', [db, name], { encoding: 'utf8' }).trim().split(':');
  } catch {
    return undefined;
  }
}

const nobody = getent('passwd', 'nobody');
const groupName = ['nogroup', 'nobody'].find((g) => getent('group', g));
const UID = nobody ? Number(nobody[2]) : -1;
const GID = groupName ? Number(getent('group', groupName)![2]) : -1;

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (cannot switch to nobody or chown)';
  try {
    execFileSync('sh', ['-c', 'command -v setpriv'], { stdio: 'ignore' });
  } catch {
    return 'setpriv (util-linux) is not installed';
  }
  if (!nobody) return 'there is no user "nobody"';
  if (!groupName) return 'there is no group "nogroup" or "nobody"';
  const r = spawnSync('setpriv', [`--reuid=${UID}`, `--regid=${GID}`, '--clear-groups', process.execPath, CLI, '--version'], { encoding: 'utf8' });
  if (r.status !== 0) return `nobody cannot run ${CLI} (${(r.stderr || r.error?.message || '').trim()})`;
  return undefined;
}
const skipReason = whyNot();

const protectedHardlinks = (() => {
  try {
    return readFileSync('/proc/sys/fs/protected_hardlinks', 'utf8').trim();
  } catch {
    return 'unknown';
  }
})();

/** Runs `hashify ARGS` as nobody:nogroup without supplementary groups. */
function asNobody(args: string[]) {
  const r = spawnSync('setpriv', [`--reuid=${UID}`, `--regid=${GID}`, '--clear-groups', process.execPath, CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: '/nonexistent-hashify-cache' },
    timeout: 120000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

/**
 * A tree nobody can traverse (mkdtemp makes 0700 directories: opened to 0755) and a `work`
 * directory nobody owns, for plans, journals and locks.
 */
function setup(spec: Record<string, Entry>): { base: string; t: Tree; work: string; cleanup(): void } {
  const base = mkdtempSync('/tmp/hashify-perm-');
  chmodSync(base, 0o755);
  const t = makeTree(spec, { parent: base });
  chmodSync(t.root, 0o755);
  const work = `${base}/work`;
  mkdirSync(work);
  chownSync(work, UID, GID);
  return { base, t, work, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

/** snapshot() of the tree without hashify's own files (plans, journals, the store). */
function files(t: Tree): Record<string, string> {
  const s = snapshot(t.root);
  for (const k of Object.keys(s)) if (k.startsWith('.hash/')) delete s[k];
  return s;
}

/** No temp name of ours anywhere below root. */
function tempNames(root: string): string[] {
  return execFileSync('find', [root, '-name', '.hashify-tmp-*'], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

const rootPlan = (args: string[]) => {
  const r = hashify(['plan', ...args, '--no-cache', '-q', '--adopt']);
  if (r.status !== 0) throw new Error(`plan failed: ${r.stderr}`);
};

(skipReason ? describe.skip : describe)('apply by an unprivileged user', () => {
  test.each([
    ['0644', 0o644],
    ['0666', 0o666],
  ])('(a) over root-owned %s files in directories nobody cannot write: every op fails, named with its path; exit 1; nothing changes; a later apply retries', (_m, mode) => {
    const spec: Record<string, Entry> = {};
    for (const d of ['a', 'b', 'c']) for (const n of ['one', 'two']) spec[`${d}/${n}`] = { content: `file ${n}\n`, mode };
    const s = setup(spec);
    try {
      const plan = `${s.work}/p.plan.jsonl`;
      rootPlan([s.t.path('a'), s.t.path('b'), s.t.path('c'), '--no-store', '-o', plan]);
      const before = files(s.t);
      const r = asNobody(['apply', plan, '--json']);
      expect(r.status).toBe(1);
      expect(r.json()).toMatchObject({ ops: 4, applied: 0, alreadyDone: 0, skipped: 0, failed: 4 });
      for (const p of ['b/one', 'b/two', 'c/one', 'c/two']) {
        const line = r.stderr.split('\n').find((l) => l.includes(JSON.stringify(s.t.path(p))));
        expect(line).toMatch(/EACCES|EPERM/);
      }
      expect(files(s.t)).toEqual(before);
      expect(tempNames(s.t.root)).toEqual([]);
      const status = hashify(['status', plan, '--json']);
      expect(status.json()).toMatchObject({ done: 0, failed: 4, finished: false });
      // The cause fixed (root applies): the failed operations are retried and done.
      const again = hashify(['apply', plan, '--json']);
      expect(again.status).toBe(0);
      expect(again.json()).toMatchObject({ applied: 4, failed: 0 });
      expect(lstatSync(s.t.path('a/one')).ino).toBe(lstatSync(s.t.path('c/one')).ino);
    } finally {
      s.cleanup();
    }
  });

  test('(a) with the default store in a directory nobody cannot write: exit 1 naming it, nothing changes', () => {
    const s = setup({ 'a/f': 'same\n', 'b/f': 'same\n' });
    try {
      const plan = `${s.work}/p.plan.jsonl`;
      rootPlan([s.t.path('a'), s.t.path('b'), '-o', plan]);
      const before = files(s.t);
      const r = asNobody(['apply', plan]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(s.t.path('.hash'));
      expect(r.stderr).toMatch(/EACCES|permission denied/i);
      expect(files(s.t)).toEqual(before);
      expect(existsSync(s.t.path('.hash'))).toBe(false);
    } finally {
      s.cleanup();
    }
  });

  const ph = protectedHardlinks === '1' ? test : test.skip;
  if (protectedHardlinks !== '1') console.log(`skipping the fs.protected_hardlinks cases: /proc/sys/fs/protected_hardlinks is ${protectedHardlinks}, not 1 (not changed by the tests)`);

  ph('(b) protected_hardlinks, store: nobody owns the directories and the store, the files are root 0600: EPERM reported, exit 1, nothing changes', () => {
    const s = setup({ 'a/f': { content: 'secret\n', mode: 0o600 }, 'b/f': { content: 'secret\n', mode: 0o600 }, 'a/g': { content: 'other\n', mode: 0o600 }, 'b/g': { content: 'other\n', mode: 0o600 } });
    try {
      for (const d of ['a', 'b']) chownSync(s.t.path(d), UID, GID);
      const store = `${s.work}/store`;
      const plan = `${s.work}/p.plan.jsonl`;
      rootPlan([s.t.path('a'), s.t.path('b'), '--store', store, '-o', plan]);
      const before = files(s.t);
      const r = asNobody(['apply', plan, '--json']);
      expect(r.status).toBe(1);
      // Both groups are tried and fail: the first failure does not end the run.
      expect(r.json()).toMatchObject({ ops: 2, applied: 0, failed: 2 });
      for (const keeper of ['a/f', 'a/g']) {
        const line = r.stderr.split('\n').find((l) => l.includes(JSON.stringify(s.t.path(keeper))));
        expect(line).toMatch(/EPERM|EACCES/); // EACCES: the executor opens the root-owned 0600 keeper first
      }
      expect(files(s.t)).toEqual(before);
      // The marker a new store gets is bookkeeping, not an entry.
      expect(execFileSync('find', [store, '-type', 'f', '!', '-name', '.hashify.lock', '!', '-name', 'hashify-store.json'], { encoding: 'utf8' })).toBe('');
      expect(tempNames(s.base)).toEqual([]);
    } finally {
      s.cleanup();
    }
  });

  ph('(b) protected_hardlinks, no store: link() to a root-owned 0600 keeper fails with EPERM, reported, exit 1, nothing changes', () => {
    // b/f is readable by nobody (so its identity can be checked); --ignore-mode lets it join a/f.
    const s = setup({ 'a/f': { content: 'secret\n', mode: 0o600 }, 'b/f': { content: 'secret\n', mode: 0o644 } });
    try {
      for (const d of ['a', 'b']) chownSync(s.t.path(d), UID, GID);
      const plan = `${s.work}/p.plan.jsonl`;
      rootPlan([s.t.path('a'), s.t.path('b'), '--no-store', '--ignore-mode', '-o', plan]);
      const target = JSON.parse(readFileSync(plan, 'utf8').split('\n')[1]).target.path;
      expect(target).toBe(s.t.path('a/f'));
      const before = files(s.t);
      const r = asNobody(['apply', plan, '--json']);
      expect(r.status).toBe(1);
      expect(r.json()).toMatchObject({ ops: 1, applied: 0, failed: 1 });
      const line = r.stderr.split('\n').find((l) => l.includes(JSON.stringify(s.t.path('b/f'))));
      expect(line).toMatch(/EPERM|EACCES/); // EACCES: the executor opens the root-owned 0600 keeper first
      expect(files(s.t)).toEqual(before);
      expect(tempNames(s.base)).toEqual([]);
    } finally {
      s.cleanup();
    }
  });
});

(skipReason ? describe.skip : describe)('plan by an unprivileged user', () => {
  test('(c) unreadable files and directories are reported and left out; the plan succeeds and is valid', () => {
    const s = setup({
      'a/x': 'readable duplicate\n',
      'b/x': 'readable duplicate\n',
      'a/secret': { content: 'root only\n', mode: 0o600 },
      'b/secret': { content: 'root only\n', mode: 0o600 },
      'a/private/y': 'in a closed directory\n',
      'b/private/y': 'in a closed directory\n',
    });
    try {
      chmodSync(s.t.path('a/private'), 0o700);
      const before = files(s.t);
      const plan = `${s.work}/p.plan.jsonl`;
      const r = asNobody(['plan', s.t.path('a'), s.t.path('b'), '-o', plan, '--no-cache', '--json', '--adopt']);
      expect(r.status).toBe(0);
      expect(r.json()).toMatchObject({ ops: 1, groups: 1 });
      for (const p of ['a/secret', 'b/secret', 'a/private']) {
        const line = r.stderr.split('\n').find((l) => l.includes(JSON.stringify(s.t.path(p))));
        expect(line).toMatch(/EACCES/);
      }
      const text = readFileSync(plan, 'utf8');
      expect(text).not.toContain('secret');
      expect(text).not.toContain('private');
      const trailer = JSON.parse(text.trimEnd().split('\n').pop()!);
      expect(trailer.skipped.unreadable).toBe(3);
      expect(hashify(['show', plan]).status).toBe(0);
      expect(files(s.t)).toEqual(before);
    } finally {
      s.cleanup();
    }
  });
});

if (skipReason) {
  test('permission tests skipped', () => {
    console.log(`skipping the unprivileged-user tests: ${skipReason}`);
  });
}
