/**
 * Drift between plan and apply. Whatever anyone else did to a planned file after `plan`
 * (rewrote it at the same size and put its mtime back, appended, deleted it, replaced it by
 * a symlink, chmod, chown, touch) makes its operation skipped: the path is left exactly as
 * that person left it, every other operation is applied, `verify` reports the drift first,
 * `apply` exits 3 and `status` shows the skip. A drifted keeper (the file a group links to,
 * or the file that would become its store entry) skips its whole group: nothing is ever
 * linked to content that was not hashed. `--on-drift abort` stops at the first drift.
 *
 * And the converse: the ctime and link-count changes that hashify's own link() and
 * rename() make are never drift, also for files that shared an inode before planning, and
 * also when a crash between two steps lost hashify's memory of having made them.
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { makeTree, type Tree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';
import { planInProcess } from '../helpers/plan.js';
import { runVerify } from '../../src/cli/verify.js';
import { runStatus } from '../../src/cli/status.js';
import { runApply } from '../../src/cli/apply.js';
import { HashifyError } from '../../src/errors.js';
import { Output } from '../../src/cli/output.js';
import { openPlan } from '../../src/planfile/readPlan.js';
import { readJournal, OP_SKIPPED } from '../../src/journal/journal.js';
import { crashAt } from '../helpers/crashHook.js';
import type { LinkRecord, StoreRecord } from '../../src/planfile/records.js';

type Mode = 'store' | 'no-store';

const ELSEWHEN = new Date('2025-06-07T08:09:10Z');

/** The kinds of drift, each done to the file at `p` by "someone else". */
const DRIFTS: Record<string, (p: string) => void> = {
  'content rewritten at the same size, mtime put back': (p) => {
    const st = fs.statSync(p);
    const before = fs.statSync(p, { bigint: true });
    fs.writeFileSync(p, 'Z'.repeat(st.size));
    fs.utimesSync(p, st.atime, st.mtime);
    const now = fs.statSync(p, { bigint: true });
    // Same inode, size, mode, owner and mtime: only the ctime (which nobody can set back) tells.
    expect([now.ino, now.size, now.mode, now.uid, now.mtimeNs]).toEqual([before.ino, before.size, before.mode, before.uid, before.mtimeNs]);
    expect(now.ctimeNs).not.toBe(before.ctimeNs);
  },
  appended: (p) => fs.appendFileSync(p, 'one more line\n'),
  deleted: (p) => fs.unlinkSync(p),
  'replaced by a symlink to /etc/passwd': (p) => {
    fs.unlinkSync(p);
    fs.symlinkSync('/etc/passwd', p);
  },
  chmod: (p) => fs.chmodSync(p, 0o600),
  chown: (p) => fs.chownSync(p, 65534, 65534),
  'touched (mtime)': (p) => fs.utimesSync(p, ELSEWHEN, ELSEWHEN),
};
const KINDS = Object.keys(DRIFTS);

/** What a path is now: missing, a symlink and its target, or a file's inode, links, metadata and content. */
function pathState(p: string): string {
  const st = fs.lstatSync(p, { bigint: true, throwIfNoEntry: false });
  if (!st) return 'missing';
  if (st.isSymbolicLink()) return `symlink -> ${fs.readlinkSync(p)}`;
  const hash = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
  return `ino=${st.ino} nlink=${st.nlink} mode=${st.mode.toString(8)} owner=${st.uid}:${st.gid} mtime=${st.mtimeNs} size=${st.size} sha256=${hash}`;
}

const ino = (p: string) => fs.lstatSync(p, { bigint: true }).ino;

/** `copies` identical copies (a/, b/, c/ …) of `files` small files of distinct content. */
function copiesTree(copies: number, files: number): Tree {
  const spec: Record<string, string> = {};
  for (const root of 'abc'.slice(0, copies)) for (let i = 1; i <= files; i++) spec[`${root}/f${i}`] = `file ${i}: ${'x'.repeat(20 * i)}\n`;
  return makeTree(spec);
}

interface Planned {
  plan: string;
  ops: LinkRecord[];
  stores: StoreRecord[];
}

async function plan(t: Tree, roots: string[], mode: Mode): Promise<Planned> {
  const file = t.path('p.plan.jsonl');
  await planInProcess(roots.map((r) => t.path(r)), file, { noStore: mode === 'no-store' });
  const records = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  return { plan: file, ops: records.filter((r) => r.type === 'link'), stores: records.filter((r) => r.type === 'store') };
}

/** The op whose path is `rel`. */
function opOf(t: Tree, p: Planned, rel: string): LinkRecord {
  const op = p.ops.find((o) => o.path === t.path(rel));
  if (!op) throw new Error(`no operation for ${rel}`);
  return op;
}

/** Every op not in `except` was applied: its path now is its target's inode. */
function expectApplied(p: Planned, except: number[]): void {
  for (const op of p.ops) {
    if (except.includes(op.op)) continue;
    expect({ path: op.path, ino: ino(op.path).toString() }).toEqual({ path: op.path, ino: ino(op.target.path).toString() });
  }
}

describe('an operation whose file drifted since planning is skipped, and only it', () => {
  test.each(KINDS)('store mode, %s', async (kind) => {
    const t = copiesTree(2, 4);
    try {
      const p = await plan(t, ['a', 'b'], 'store');
      // Copy-in: the keepers' paths (a/) are operations too.
      expect(p.ops).toHaveLength(8);
      const victim = opOf(t, p, 'b/f2');
      const passwd = pathState('/etc/passwd');
      DRIFTS[kind](t.path('b/f2'));
      const drifted = pathState(t.path('b/f2'));

      const v = hashify(['verify', p.plan, '--json']);
      expect(v.status).toBe(3);
      expect(v.json()).toMatchObject({ ops: 8, applicable: 7, done: 0, drifted: 1 });

      const r = hashify(['apply', p.plan, '--json']);
      expect(r.status).toBe(3);
      expect(r.json()).toMatchObject({ ops: 8, applied: 7, alreadyDone: 0, skipped: 1, failed: 0, notReached: 0, resumedAt: 0 });
      expect(r.stderr).toContain(t.path('b/f2'));
      // The drifted path is exactly as it was left: content, inode, links, mode, owner, mtime.
      expect(pathState(t.path('b/f2'))).toBe(drifted);
      expect(pathState('/etc/passwd')).toBe(passwd);
      expectApplied(p, [victim.op]);

      const s = await inProcess(['status', p.plan]);
      expect(s.status).toBe(0);
      expect(s.json()).toMatchObject({ ops: 8, done: 7, skipped: 1, failed: 0, next: 8, finished: true });
      // The journal keeps why.
      const journal = readJournal(`${p.plan}.journal`, s.json().digest, 'apply', 8);
      expect(journal.status[victim.op]).toBe(OP_SKIPPED);
      expect(journal.reasons.get(victim.op)).toBeTruthy();
    } finally {
      t.cleanup();
    }
  });

  test('no-store mode, every kind at once (one file each), next to a clean one', async () => {
    const t = copiesTree(2, KINDS.length + 1);
    try {
      const p = await plan(t, ['a', 'b'], 'no-store');
      expect(p.ops).toHaveLength(KINDS.length + 1);
      const drifted = new Map<string, string>();
      KINDS.forEach((kind, i) => {
        DRIFTS[kind](t.path(`b/f${i + 1}`));
        drifted.set(`b/f${i + 1} (${kind})`, pathState(t.path(`b/f${i + 1}`)));
      });

      const v = hashify(['verify', p.plan, '--json']);
      expect(v.status).toBe(3);
      expect(v.json()).toMatchObject({ applicable: 1, drifted: KINDS.length });

      const r = hashify(['apply', p.plan, '--json']);
      expect(r.status).toBe(3);
      expect(r.json()).toMatchObject({ applied: 1, skipped: KINDS.length, failed: 0 });
      const now = new Map([...drifted.keys()].map((k) => [k, pathState(t.path(k.split(' ')[0]))]));
      expect(now).toEqual(drifted);
      expect(ino(t.path(`b/f${KINDS.length + 1}`))).toBe(ino(t.path(`a/f${KINDS.length + 1}`)));
      expect((await inProcess(['status', p.plan])).json()).toMatchObject({ done: 1, skipped: KINDS.length, finished: true });

      // A skipped operation stays skipped: applying again changes nothing.
      const again = await inProcess(['apply', p.plan]);
      expect(again.status).toBe(3);
      expect(again.json()).toMatchObject({ applied: 0, alreadyDone: 1, skipped: KINDS.length, resumedAt: KINDS.length + 1 });
      expect(new Map([...drifted.keys()].map((k) => [k, pathState(t.path(k.split(' ')[0]))]))).toEqual(drifted);
    } finally {
      t.cleanup();
    }
  });
});

describe('a drifted keeper skips its whole group: nothing is linked to changed content', () => {
  /** Checks a run where the keeper a/f2 (three copies) drifted by `kind`. */
  async function keeperDrift(mode: Mode, kind: string) {
    const t = copiesTree(3, 3);
    try {
      const p = await plan(t, ['a', 'b', 'c'], mode);
      // Copy-in relinks the keeper's path too.
      const per = mode === 'store' ? 3 : 2;
      const ops = 3 * per;
      expect(p.ops).toHaveLength(ops);
      const group = opOf(t, p, 'b/f2').group;
      const groupOps = p.ops.filter((o) => o.group === group);
      expect(groupOps.map((o) => o.path).sort()).toEqual((mode === 'store' ? ['a/f2', 'b/f2', 'c/f2'] : ['b/f2', 'c/f2']).map((r) => t.path(r)));
      // The keeper: the file a/f2 that is linked to directly (no store) or that the store entry is copied from.
      const store = p.stores.find((s) => s.group === group);
      if (mode === 'store') {
        expect(store?.keeper?.path).toBe(t.path('a/f2'));
        expect(fs.existsSync(store!.path)).toBe(false);
      } else {
        expect(groupOps[0].target.path).toBe(t.path('a/f2'));
      }
      const others = ['b/f2', 'c/f2'].map((r) => [r, pathState(t.path(r))]);
      const passwd = pathState('/etc/passwd');
      DRIFTS[kind](t.path('a/f2'));
      const keeper = pathState(t.path('a/f2'));

      const v = await inProcess(['verify', p.plan]);
      expect(v.status).toBe(3);
      expect(v.json()).toMatchObject({ ops, applicable: ops - per, drifted: per });

      const r = await inProcess(['apply', p.plan]);
      expect(r.status).toBe(3);
      expect(r.json()).toMatchObject({ ops, applied: ops - per, skipped: per, failed: 0 });
      // The keeper as it was left (its link count too: nothing was linked to it), the
      // group's files on their own inodes, and no store entry made of the changed file.
      expect(pathState(t.path('a/f2'))).toBe(keeper);
      expect(others.map(([rel]) => [rel, pathState(t.path(rel))])).toEqual(others);
      if (store) expect(fs.existsSync(store.path)).toBe(false);
      expect(pathState('/etc/passwd')).toBe(passwd);
      expectApplied(p, groupOps.map((o) => o.op));
      const journal = readJournal(`${p.plan}.journal`, r.json().digest, 'apply', ops);
      expect(groupOps.map((o) => journal.status[o.op])).toEqual(groupOps.map(() => OP_SKIPPED));
      expect(r.stderr).toContain(t.path('b/f2'));
      expect(r.stderr).toContain(t.path('c/f2'));
    } finally {
      t.cleanup();
    }
  }

  test.each(KINDS)('store mode (the file that would become the store entry), %s', (kind) => keeperDrift('store', kind));
  test.each(KINDS)('no-store mode (the file linked to), %s', (kind) => keeperDrift('no-store', kind));
});

describe('--on-drift abort', () => {
  test('stops at the first drifted file (exit 5), leaves the rest unapplied, and a rerun resumes', async () => {
    const t = copiesTree(2, 4);
    try {
      const p = await plan(t, ['a', 'b'], 'store');
      const [first, victim, ...rest] = p.ops;
      expect(rest).toHaveLength(6);
      DRIFTS.appended(victim.path);
      const drifted = pathState(victim.path);
      const untouched = rest.map((o) => [o.path, pathState(o.path)]);

      const r = hashify(['apply', p.plan, '--on-drift', 'abort', '--json']);
      expect(r.status).toBe(5);
      // applied + alreadyDone + skipped + failed + notReached == ops.
      expect(r.json()).toMatchObject({ ops: 8, applied: 1, alreadyDone: 0, skipped: 1, failed: 0, notReached: 6, resumedAt: 0 });
      expect(r.stderr).toMatch(/abort/);
      expect(ino(first.path)).toBe(ino(first.target.path));
      expect(pathState(victim.path)).toBe(drifted);
      expect(rest.map((o) => [o.path, pathState(o.path)])).toEqual(untouched);
      expect((await inProcess(['status', p.plan])).json()).toMatchObject({ done: 1, skipped: 1, failed: 0, next: 2, finished: false });

      const again = await inProcess(['apply', p.plan]);
      expect(again.status).toBe(3);
      expect(again.json()).toMatchObject({ ops: 8, applied: 6, alreadyDone: 1, skipped: 1, failed: 0, resumedAt: 2 });
      expect(pathState(victim.path)).toBe(drifted);
      expectApplied(p, [victim.op]);
      expect((await inProcess(['status', p.plan])).json()).toMatchObject({ done: 7, skipped: 1, finished: true });
    } finally {
      t.cleanup();
    }
  });

  test.each<Mode>(['store', 'no-store'])('stops at a drifted keeper too (%s mode)', async (mode) => {
    const t = copiesTree(3, 3);
    try {
      const p = await plan(t, ['a', 'b', 'c'], mode);
      // Groups in plan order: the keeper of the second group drifts.
      const groups = [...new Set(p.ops.map((o) => o.group))];
      expect(groups).toHaveLength(3);
      const [g0, g1, g2] = groups.map((g) => p.ops.filter((o) => o.group === g));
      const keeperPath = mode === 'store' ? p.stores.find((s) => s.group === g1[0].group)!.keeper!.path : g1[0].target.path;
      DRIFTS['content rewritten at the same size, mtime put back'](keeperPath);
      const untouched = [...g1, ...g2].map((o) => [o.path, pathState(o.path)]);

      const r = hashify(['apply', p.plan, '--on-drift', 'abort', '--json']);
      // The run stops at the group's target step: none of its operations was reached.
      const per = g0.length;
      expect(r.status).toBe(5);
      expect(r.json()).toMatchObject({ ops: 3 * per, applied: per, skipped: 0, failed: 0, notReached: 2 * per });
      expect(r.stderr).toMatch(/abort/);
      expectApplied({ ...p, ops: g0 }, []);
      expect([...g1, ...g2].map((o) => [o.path, pathState(o.path)])).toEqual(untouched);
      expect((await inProcess(['status', p.plan])).json()).toMatchObject({ done: per, skipped: 0, next: g1[0].op, finished: false });

      const again = await inProcess(['apply', p.plan]);
      expect(again.status).toBe(3);
      expect(again.json()).toMatchObject({ applied: per, alreadyDone: per, skipped: per, failed: 0, resumedAt: per });
      expectApplied(p, g1.map((o) => o.op));
      expect([...g1].map((o) => [o.path, pathState(o.path)])).toEqual(untouched.slice(0, per));
    } finally {
      t.cleanup();
    }
  });
});

describe('--verify-content', () => {
  test('applies every clean operation and still skips a drifted one', async () => {
    const t = copiesTree(2, 4);
    try {
      const p = await plan(t, ['a', 'b'], 'store');
      DRIFTS['content rewritten at the same size, mtime put back'](t.path('b/f3'));
      const drifted = pathState(t.path('b/f3'));
      const r = hashify(['apply', p.plan, '--verify-content', '--json']);
      expect(r.status).toBe(3);
      expect(r.json()).toMatchObject({ ops: 8, applied: 7, skipped: 1, failed: 0 });
      expect(pathState(t.path('b/f3'))).toBe(drifted);
      expectApplied(p, [opOf(t, p, 'b/f3').op]);
    } finally {
      t.cleanup();
    }
  });

  test('on a clean tree applies everything (exit 0)', async () => {
    const t = copiesTree(3, 3);
    try {
      const p = await plan(t, ['a', 'b', 'c'], 'no-store');
      const r = hashify(['apply', p.plan, '--verify-content', '--json']);
      expect(r.status).toBe(0);
      expect(r.json()).toMatchObject({ ops: 6, applied: 6, skipped: 0, failed: 0 });
      expectApplied(p, []);
    } finally {
      t.cleanup();
    }
  });
});

// ---------------------------------------------------------------------------------------
// hashify's own ctime and link-count changes are not drift.

const MTIME = new Date('2022-03-04T05:06:07Z');

/**
 * a/x and a/y are one inode (the keeper: most links), b/x a copy. a/p and a/q are one inode,
 * relinked to b/p (three links: the keeper) by two operations, so the second finds the link
 * count and ctime of its inode changed by the first. a/s, b/s: a plain pair.
 */
const SHARED = {
  'a/x': { content: 'shared before planning\n', mtime: MTIME },
  'a/y': { hardlink: 'a/x' },
  'b/x': { content: 'shared before planning\n', mtime: MTIME },
  'a/p': { content: 'pp\n'.repeat(100), mtime: MTIME },
  'a/q': { hardlink: 'a/p' },
  'b/p': { content: 'pp\n'.repeat(100), mtime: MTIME },
  'b/q': { hardlink: 'b/p' },
  'b/r': { hardlink: 'b/p' },
  'a/s': 'plain pair\n',
  'b/s': 'plain pair\n',
};
const SHARED_GROUPS = [
  ['a/x', 'a/y', 'b/x'],
  ['a/p', 'a/q', 'b/p', 'b/q', 'b/r'],
  ['a/s', 'b/s'],
];

/**
 * `hashify apply|status|verify PLAN [--on-drift abort] [--verify-content] --json`, run in this
 * process (same code as the CLI after argument parsing; a child process costs a third of a
 * second on a busy machine). The CLI itself runs the cases where the flags matter.
 */
async function inProcess(args: string[]): Promise<{ status: number; stdout: string; stderr: string; json(): any }> {
  const [cmd, plan, ...flags] = args;
  const out = new Output({ json: true, progress: false });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const writes = [process.stdout.write, process.stderr.write] as const;
  process.stdout.write = ((s: string | Uint8Array) => (stdout.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => (stderr.push(String(s)), true)) as typeof process.stderr.write;
  let status: number;
  try {
    if (cmd === 'apply') status = await runApply({ plan, json: true, onDrift: flags.includes('abort') ? 'abort' : 'skip', verifyContent: flags.includes('--verify-content') }, out);
    else if (cmd === 'status') status = runStatus({ plan, json: true }, out);
    else if (cmd === 'verify') status = runVerify({ plan, json: true }, out);
    else throw new Error(`not run in-process: ${cmd}`);
  } catch (err) {
    if (!(err instanceof HashifyError)) throw err;
    stderr.push(`hashify: ${err.message}\n`);
    status = err.exitCode;
  } finally {
    [process.stdout.write, process.stderr.write] = writes;
  }
  return { status, stdout: stdout.join(''), stderr: stderr.join(''), json: () => JSON.parse(stdout.join('')) };
}

function expectShared(t: Tree): void {
  for (const group of SHARED_GROUPS) expect(group.map((r) => [r, ino(t.path(r))])).toEqual(group.map((r) => [r, ino(t.path(group[0]))]));
}

describe('files that shared an inode before planning are not drift', () => {
  test.each<Mode>(['store', 'no-store'])('all applied, none skipped (%s mode)', async (mode) => {
    const t = makeTree(SHARED);
    try {
      const p = await plan(t, ['a', 'b'], mode);
      // Copy-in (store mode) relinks the keepers' paths too.
      expect(p.ops.map((o) => o.path.slice(t.root.length + 1)).sort()).toEqual(mode === 'store' ? ['a/p', 'a/q', 'a/s', 'a/x', 'a/y', 'b/p', 'b/q', 'b/r', 'b/s', 'b/x'] : ['a/p', 'a/q', 'b/s', 'b/x']);
      const v = hashify(['verify', p.plan, '--json']);
      expect(v.status).toBe(0);
      const n = p.ops.length;
      expect(v.json()).toMatchObject({ ops: n, applicable: n, drifted: 0 });
      const r = hashify(['apply', p.plan, '--json']);
      expect(r.status).toBe(0);
      expect(r.json()).toMatchObject({ ops: n, applied: n, skipped: 0, failed: 0 });
      expectShared(t);
      expect((await inProcess(['verify', p.plan])).json()).toMatchObject({ done: n, drifted: 0 });
    } finally {
      t.cleanup();
    }
  });

  test.each<Mode>(['store', 'no-store'])('nor after a crash right after any step of apply (%s mode)', async (mode) => {
    for (let n = 1; ; n++) {
      const t = makeTree(SHARED);
      try {
        const p = await plan(t, ['a', 'b'], mode);
        const crashed = crashAt(n, ['apply', p.plan, '--json'], { HASHIFY_BATCH: '1' });
        if (crashed.signal !== 'SIGKILL') {
          // One past the last step: the run finishes, so every step was a crash point above.
          expect({ n, status: crashed.status }).toEqual({ n, status: 0 });
          expect(n).toBeGreaterThan(12);
          break;
        }
        // What hashify itself did before dying is not drift: verify, then the resumed apply.
        const v = await inProcess(['verify', p.plan]);
        expect({ n, status: v.status, drifted: v.json().drifted }).toEqual({ n, status: 0, drifted: 0 });
        const r = await inProcess(['apply', p.plan]);
        expect({ n, status: r.status }).toEqual({ n, status: 0 });
        const counts = r.json();
        expect({ n, skipped: counts.skipped, failed: counts.failed, done: counts.applied + counts.alreadyDone }).toEqual({ n, skipped: 0, failed: 0, done: p.ops.length });
        const state = readJournal(`${p.plan}.journal`, openPlanDigestOf(p.plan), 'apply', p.ops.length);
        expect(state.status.some((s) => s === OP_SKIPPED)).toBe(false);
        expectShared(t);
      } finally {
        t.cleanup();
      }
    }
  });
});

function openPlanDigestOf(file: string): string {
  const plan = openPlan(file);
  plan.close();
  return plan.digest;
}
