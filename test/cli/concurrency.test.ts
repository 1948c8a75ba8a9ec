/**
 * Locks, foreign journals and signals around `apply`:
 *   - while the plan and store locks are held (taken in this process with the code apply
 *     uses, so the test is deterministic), a second apply of the plan, an apply of another plan
 *     on the same store, `gc STORE` and `undo` exit 4 at once and change nothing;
 *   - the same with a real `apply` child, paused (SIGSTOP) in the middle of its run;
 *   - a lock whose owner is gone is taken over;
 *   - a journal that belongs to another plan is refused (exit 2), and left as it is;
 *   - SIGINT / SIGTERM during a long apply: a clean stop, exit 130 / 143, a line saying how to
 *     resume, and the rerun finishes from where it stopped;
 *   - `status` before any apply and after one.
 */
import * as fs from 'node:fs';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { makeTree, snapshot, type Tree } from '../helpers/tree.js';
import { hashify, spawnHashify } from '../helpers/cli.js';
import { lockPlan } from '../../src/cli/apply.js';
import { digestLockFile } from '../../src/apply/lock.js';
import { acquireLock } from '../../src/apply/lock.js';

const MTIME = new Date('2023-01-02T03:04:05Z');

function smallTree(tag: string): Tree {
  const spec: Record<string, string> = {};
  for (let i = 0; i < 4; i++) for (const g of ['a', 'b']) spec[`${g}/f${i}`] = `${tag} file ${i}\n`.repeat(i + 1);
  return makeTree(spec);
}

function plan(t: Tree, name: string, roots: string[], extra: string[] = []): string {
  const file = t.path(`${name}.plan.jsonl`);
  const r = hashify(['plan', ...roots.map((r) => t.path(r)), '-o', file, '--no-cache', '-q', ...extra]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return file;
}

/** Every file below the root (plans, journals, store included) with inode, links, metadata and content; lock files left out. */
const state = (t: Tree) => Object.fromEntries(Object.entries(snapshot(t.root)).filter(([k]) => !k.endsWith('.lock')));

/** Two copies of `n` files in 20 directories: `n` operations. */
function bigTree(n: number): { root: string; cleanup(): void } {
  const root = fs.mkdtempSync(join(tmpdir(), 'hashify-concurrency-'));
  for (const g of ['a', 'b']) {
    for (let d = 0; d < 20; d++) fs.mkdirSync(join(root, g, `d${d}`), { recursive: true });
    for (let i = 0; i < n; i++) {
      const p = join(root, g, `d${i % 20}`, `f${i}`);
      fs.writeFileSync(p, `file ${i}\n`.repeat(1 + (i % 5)));
      fs.utimesSync(p, MTIME, MTIME);
    }
  }
  return { root, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** Resolves once the child's stderr shows apply's progress line (it has started linking). */
function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (/applying: \d+\/\d+ operations/.test(seen)) {
        child.stderr!.off('data', onData);
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`apply exited (${code}) before it showed progress: ${seen}`)));
  });
}

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync('true');
  expect(r.status).toBe(0);
  const pid = r.pid!;
  expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
  return pid;
}

describe('locks', () => {
  test('while a plan and its store are locked: apply, another plan on that store, gc and undo exit 4 and change nothing', () => {
    const t = smallTree('locked');
    try {
      const planA = plan(t, 'A', ['a', 'b']);
      const store = t.path('.hash');
      // Plan B: other files, the same store.
      fs.mkdirSync(t.path('c'));
      fs.mkdirSync(t.path('d'));
      fs.writeFileSync(t.path('c/x'), 'plan b\n');
      fs.writeFileSync(t.path('d/x'), 'plan b\n');
      fs.utimesSync(t.path('c/x'), MTIME, MTIME);
      fs.utimesSync(t.path('d/x'), MTIME, MTIME);
      const planB = plan(t, 'B', ['c', 'd'], ['--store', store]);
      // Apply A once, so that undo A would have work to do.
      expect(hashify(['apply', planA, '-q']).status).toBe(0);
      const before = state(t);

      // What `apply A` holds while it runs: the plan's lock, its digest's, then the store's.
      const locks = lockPlan(planA, hashify(['show', planA, '--json']).json().digest, Buffer.from(store));
      try {
        expect(fs.readFileSync(`${planA}.lock`, 'utf8')).toContain(String(process.pid));
        for (const args of [
          ['apply', planA, '--json'],
          ['apply', planB, '--json'],
          ['gc', store],
          ['gc', store, '--dry-run'],
          ['undo', planA],
          ['undo', planB],
        ]) {
          const r = hashify(args);
          // No result: nothing on stdout, or under --json the error alone.
          const stdout = args.includes('--json') ? JSON.parse(r.stdout).error.code : r.stdout;
          expect({ args: args.join(' '), status: r.status, stdout }).toEqual({ args: args.join(' '), status: 4, stdout: args.includes('--json') ? 'LOCKED' : '' });
          expect(r.stderr).toMatch(/is locked by another running hashify \(pid \d+/);
          expect(state(t)).toEqual(before);
        }
        // The locks are still ours: a refused command does not remove them.
        expect(fs.readFileSync(`${planA}.lock`, 'utf8')).toContain(String(process.pid));
        expect(fs.readFileSync(`${store}/.hashify.lock`, 'utf8')).toContain(String(process.pid));
      } finally {
        locks.forEach((l) => l.release());
      }
      expect(fs.existsSync(`${planA}.lock`)).toBe(false);
      // Once released, the same commands run.
      expect(hashify(['apply', planB, '--json']).json()).toMatchObject({ applied: 2, failed: 0 });
    } finally {
      t.cleanup();
    }
  });

  test('the plan lock alone (no store) also refuses a second apply', () => {
    const t = smallTree('nostore');
    try {
      const p = plan(t, 'P', ['a', 'b'], ['--no-store']);
      const before = state(t);
      const lock = acquireLock(`${p}.lock`, 'test');
      try {
        const r = hashify(['apply', p, '--json']);
        expect(r.status).toBe(4);
        expect(r.stderr).toMatch(/locked/);
        expect(state(t)).toEqual(before);
        expect(fs.existsSync(`${p}.journal`)).toBe(false);
      } finally {
        lock.release();
      }
      expect(hashify(['apply', p, '--json']).json()).toMatchObject({ applied: 4, failed: 0 });
    } finally {
      t.cleanup();
    }
  });

  test('a copy of a plan is the same plan (its digest is locked too): while one copy is applied, apply or undo of another exits 4 and its status says running', () => {
    const t = smallTree('copies');
    try {
      const p = plan(t, 'P', ['a', 'b'], ['--no-store']);
      const copy = t.path('copy.plan.jsonl');
      fs.copyFileSync(p, copy);
      const digest = hashify(['show', p, '--json']).json().digest;
      const before = state(t);
      const locks = lockPlan(p, digest, null);
      try {
        expect(fs.readFileSync(digestLockFile(digest), 'utf8')).toContain(String(process.pid));
        for (const cmd of ['apply', 'undo']) {
          const r = hashify([cmd, copy, '--json']);
          expect({ cmd, status: r.status }).toEqual({ cmd, status: 4 });
          expect(r.stderr).toMatch(new RegExp(`Plan ${digest.replace(/[+/]/g, '.')} \\(another copy of .*\\) is locked by another running hashify \\(pid ${process.pid}`));
        }
        expect(state(t)).toEqual(before);
        expect(fs.existsSync(`${copy}.journal`)).toBe(false);
        expect(hashify(['status', copy, '--json']).json()).toMatchObject({ running: true });
      } finally {
        locks.reverse().forEach((l) => l.release());
      }
      expect(hashify(['status', copy, '--json']).json()).toMatchObject({ running: false });
      expect(fs.existsSync(digestLockFile(digest))).toBe(false);
      expect(hashify(['apply', copy, '--json']).json()).toMatchObject({ applied: 4, failed: 0 });
    } finally {
      t.cleanup();
    }
  });

  test('a lock file left by a process that is gone is not a lock (flock: the kernel released it), and is removed after the run', () => {
    const t = smallTree('stale');
    try {
      const p = plan(t, 'P', ['a', 'b']);
      const store = t.path('.hash');
      fs.mkdirSync(store);
      fs.writeFileSync(`${p}.lock`, `${deadPid()} 4242\n`);
      // A live pid whose start time is not that of the owner: the pid was reused, the owner is gone.
      fs.writeFileSync(`${store}/.hashify.lock`, `${process.pid} 1\n`);
      const r = hashify(['apply', p, '--json']);
      expect(r.status).toBe(0);
      expect(r.json()).toMatchObject({ ops: 8, applied: 8, failed: 0 });
      expect(fs.existsSync(`${p}.lock`)).toBe(false);
      expect(fs.existsSync(`${store}/.hashify.lock`)).toBe(false);
      expect(fs.readdirSync(t.root).filter((n) => n.includes('.stale-'))).toEqual([]);

      // A lock without a start time whose pid is gone: also stale (gc).
      fs.writeFileSync(`${store}/.hashify.lock`, `${deadPid()} ?\n`);
      expect(hashify(['gc', store, '--dry-run']).status).toBe(0);
    } finally {
      t.cleanup();
    }
  });
});

describe('journals', () => {
  test("the journal of another plan is refused (exit 2) and left as it is", () => {
    const t = smallTree('journal');
    try {
      const planA = plan(t, 'A', ['a', 'b']);
      fs.cpSync(t.path('a'), t.path('c'), { recursive: true, preserveTimestamps: true });
      fs.cpSync(t.path('a'), t.path('d'), { recursive: true, preserveTimestamps: true });
      const planB = plan(t, 'B', ['c', 'd'], ['--no-store']);
      expect(hashify(['apply', planA, '-q']).status).toBe(0);
      const journalA = fs.readFileSync(`${planA}.journal`);
      fs.copyFileSync(`${planA}.journal`, `${planB}.journal`);
      const before = state(t);

      const r = hashify(['apply', planB, '--json']);
      expect(r.status).toBe(2);
      expect(JSON.parse(r.stdout).error.code).toBe('JOURNAL_FOREIGN');
      expect(r.stderr).toMatch(/belongs to plan sha256-/);
      expect(state(t)).toEqual(before);
      expect(fs.readFileSync(`${planB}.journal`).equals(journalA)).toBe(true);
      expect(fs.existsSync(`${planB}.lock`)).toBe(false);
      expect(hashify(['status', planB, '--json']).status).toBe(2);
      // With its own journal, B applies.
      fs.unlinkSync(`${planB}.journal`);
      expect(hashify(['apply', planB, '--json']).json()).toMatchObject({ ops: 4, applied: 4, failed: 0 });
    } finally {
      t.cleanup();
    }
  });

  test('status: before any apply done 0, next 0, not finished (exit 0); after apply finished', () => {
    const t = smallTree('status');
    try {
      const p = plan(t, 'P', ['a', 'b']);
      const s0 = hashify(['status', p, '--json']);
      expect(s0.status).toBe(0);
      // Copy-in: the keepers' paths are operations too (4 pairs, 8 operations).
      expect(s0.json()).toMatchObject({ ops: 8, done: 0, skipped: 0, failed: 0, next: 0, finished: false });
      expect(fs.existsSync(`${p}.journal`)).toBe(false);
      expect(hashify(['apply', p, '-q']).status).toBe(0);
      const s1 = hashify(['status', p, '--json']);
      expect(s1.status).toBe(0);
      expect(s1.json()).toMatchObject({ ops: 8, done: 8, skipped: 0, failed: 0, next: 8, finished: true });
    } finally {
      t.cleanup();
    }
  });

  test('status of a plan without operations: not finished before its apply, finished after it', () => {
    const t = makeTree({ 'a/f': 'only in a\n', 'b/f': 'only in b\n' });
    try {
      const p = plan(t, 'P', ['a', 'b']);
      const s0 = hashify(['status', p, '--json']);
      expect(s0.status).toBe(0);
      expect(s0.json()).toMatchObject({ ops: 0, done: 0, next: 0, finished: false });
      expect(s0.stderr).not.toContain('Finished');
      expect(hashify(['apply', p, '-q']).status).toBe(0);
      expect(hashify(['status', p, '--json']).json()).toMatchObject({ ops: 0, done: 0, next: 0, finished: true });
    } finally {
      t.cleanup();
    }
  });
});

describe('signals during a long apply', () => {
  const OPS = 2000;

  /**
   * Starts `apply`, waits for its first progress line, pauses it (SIGSTOP, so nothing moves
   * while the test looks), runs `whilePaused`, then sends `signal` and lets it continue.
   */
  async function interrupt(planFile: string, signal: 'SIGINT' | 'SIGTERM', whilePaused: () => void = () => undefined) {
    const child = spawnHashify(['apply', planFile, '--json', '--progress']);
    const result = exited(child);
    await started(child);
    child.kill('SIGSTOP');
    try {
      whilePaused();
    } finally {
      child.kill(signal);
      child.kill('SIGCONT');
    }
    return result;
  }

  test('SIGINT while apply still reads its plan, before its own stop is set up: exit 130, not death by the signal; a rerun finishes', async () => {
    const tree = bigTree(6000);
    try {
      const planFile = join(tree.root, 'big.plan.jsonl');
      expect(hashify(['plan', join(tree.root, 'a'), join(tree.root, 'b'), '-o', planFile, '--no-cache', '-q']).status).toBe(0);
      const child = spawnHashify(['apply', planFile, '--json']);
      const result = exited(child);
      // The moment the child has the plan open (it reads 12,000 operations before it locks).
      const fds = `/proc/${child.pid}/fd`;
      const real = fs.realpathSync(planFile);
      const hasPlan = () => {
        try {
          return fs.readdirSync(fds).some((fd) => {
            try {
              return fs.readlinkSync(join(fds, fd)) === real;
            } catch {
              return false;
            }
          });
        } catch {
          return false;
        }
      };
      const pause = new Int32Array(new SharedArrayBuffer(4));
      for (let i = 0; i < 20000 && !hasPlan(); i++) Atomics.wait(pause, 0, 0, 1);
      child.kill('SIGINT');
      const r = await result;
      expect({ code: r.code, killedBy: r.signal }).toEqual({ code: 130, killedBy: null });
      expect(r.stderr).toMatch(/SIGINT/);
      const rerun = hashify(['apply', planFile, '--json']);
      expect(rerun.status).toBe(0);
      expect(rerun.json()).toMatchObject({ failed: 0, notReached: 0 });
    } finally {
      tree.cleanup();
    }
  });

  test('SIGINT, then SIGTERM on the rerun: clean stops (exit 130, 143) saying how to resume; the third run finishes', async () => {
    const tree = bigTree(OPS);
    try {
      const planFile = join(tree.root, 'big.plan.jsonl');
      expect(hashify(['plan', join(tree.root, 'a'), join(tree.root, 'b'), '-o', planFile, '--no-cache', '-q']).status).toBe(0);

      let done = 0;
      for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
        const r = await interrupt(planFile, signal, () => {
          if (signal !== 'SIGTERM') return;
          // A real apply, paused mid-run, holds its locks: a second one exits 4 and changes nothing.
          const journal = fs.readFileSync(`${planFile}.journal`);
          const second = hashify(['apply', planFile, '--json']);
          expect(second.status).toBe(4);
          expect(second.stderr).toMatch(/locked/);
          expect(hashify(['gc', join(tree.root, '.hash')]).status).toBe(4);
          expect(hashify(['undo', planFile]).status).toBe(4);
          expect(fs.readFileSync(`${planFile}.journal`).equals(journal)).toBe(true);
        });
        expect({ signal, code: r.code, killedBy: r.signal }).toEqual({ signal, code, killedBy: null });
        expect(r.stderr).toContain(`${signal}: finishing the current operation`);
        expect(r.stderr).toContain(`run \`hashify apply ${planFile}\` again to resume`);
        const stopped = JSON.parse(r.stdout);
        // Copy-in: both paths of each of the OPS pairs are operations.
        expect(stopped).toMatchObject({ ops: 2 * OPS, resumedAt: done, alreadyDone: done, skipped: 0, failed: 0 });
        expect(stopped.notReached).toBeGreaterThan(0);
        expect(stopped.applied + stopped.alreadyDone + stopped.skipped + stopped.failed + stopped.notReached).toBe(2 * OPS);
        if (signal === 'SIGINT') expect(stopped.applied).toBeGreaterThan(0);
        done += stopped.applied;
        // Everything it did is in the journal (flushed on the way out), and no lock is left.
        // Each lane ends the step it is in, so the two lanes' last operations need not meet:
        // `next` (the first operation not done) is at most `done`.
        const status = hashify(['status', planFile, '--json']).json() as { next: number };
        expect(status).toMatchObject({ done, skipped: 0, failed: 0, finished: false });
        expect(status.next).toBeLessThanOrEqual(done);
        expect(fs.existsSync(`${planFile}.lock`)).toBe(false);
        expect(fs.existsSync(join(tree.root, '.hash', '.hashify.lock'))).toBe(false);
      }

      const again = hashify(['apply', planFile, '--json']);
      expect(again.status).toBe(0);
      expect(again.json()).toMatchObject({ ops: 2 * OPS, resumedAt: done, alreadyDone: done, applied: 2 * OPS - done, skipped: 0, failed: 0 });
      expect(again.json().resumedAt).toBeGreaterThan(0);
      expect(hashify(['status', planFile, '--json']).json()).toMatchObject({ done: 2 * OPS, finished: true });
      for (let i = 0; i < OPS; i++) {
        const rel = join(`d${i % 20}`, `f${i}`);
        expect(fs.statSync(join(tree.root, 'a', rel)).ino).toBe(fs.statSync(join(tree.root, 'b', rel)).ino);
      }
    } finally {
      tree.cleanup();
    }
  });
});
