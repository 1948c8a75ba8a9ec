/**
 * Apply on two lanes (threads): every step of one content runs on the lane its digest picks,
 * the lanes side by side. On identical trees, a run on two lanes writes exactly the journal of
 * a run on one (same records in the same order; only the store entries' inode numbers and the
 * run record differ) and leaves exactly the same tree; and a run killed (SIGKILL) anywhere on
 * two lanes loses nothing and resumes to that same end.
 */
import * as fs from 'node:fs';
import { makeTree, type Entry, type Tree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';
import { planInProcess } from '../helpers/plan.js';
import { crashAt, contentAndMetadata, sharing, tempFiles, unsoundEntries } from '../helpers/crashHook.js';
import { openPlan } from '../../src/planfile/readPlan.js';
import { applyPlan, type ApplyCounts } from '../../src/apply/applyPlan.js';
import { DEPTH } from '../../src/run/runSteps.js';
import { openExecutor } from '../../src/cli/apply.js';
import { readJournal, JournalWriter } from '../../src/journal/journal.js';
import { decodeFrames } from '../../src/journal/frame.js';
import { undoPlan } from '../../src/undo/undoPlan.js';

const ROOTS = ['g0', 'g1', 'g2'];
const MTIME = new Date('2021-02-03T04:05:06Z');

/** 40 contents in 8 directories per guest, a hard-link pair, a file only one guest has. */
function spec(): Record<string, Entry> {
  const s: Record<string, Entry> = {};
  for (const g of ROOTS) {
    for (let i = 0; i < 40; i++) s[`${g}/d${i % 8}/f${i}`] = `content ${i}\n`.repeat(1 + i * 7);
    s[`${g}/d1/h1`] = { content: 'linked\n', mtime: MTIME };
    s[`${g}/d2/h2`] = { hardlink: `${g}/d1/h1` };
    s[`${g}/d3/own`] = `only in ${g}\n`;
  }
  return s;
}

async function fixture(): Promise<{ t: Tree; plan: string }> {
  const t = makeTree(spec());
  const plan = t.path('p.plan.jsonl');
  await planInProcess(ROOTS.map((r) => t.path(r)), plan);
  fs.appendFileSync(t.path('g1/d5/f5'), 'changed since the plan\n'); // drift (not its group's last path)
  return { t, plan };
}

/** Runs `run` on `count` fixtures, removed after it whatever it does. */
async function withTrees<T>(count: number, run: (trees: Array<{ t: Tree; plan: string }>) => Promise<T>): Promise<T> {
  const trees: Array<{ t: Tree; plan: string }> = [];
  try {
    while (trees.length < count) trees.push(await fixture());
    return await run(trees);
  } finally {
    for (const f of trees) f.t.cleanup();
  }
}

const stores = (t: Tree) => [...ROOTS, '.hash'].filter((d) => fs.existsSync(t.path(d)));

/** Runs `run` with the plan, its journal `kind` (state read, writer open) and an executor; closes them all after. */
async function withRun<C>(planFile: string, kind: 'apply' | 'undo', run: (ctx: { plan: ReturnType<typeof openPlan>; exec: ReturnType<typeof openExecutor>['exec']; journal: JournalWriter; state: ReturnType<typeof readJournal> }) => Promise<C>): Promise<{ counts: C; threads: number }> {
  const plan = openPlan(planFile);
  const journalFile = kind === 'apply' ? `${planFile}.journal` : `${planFile}.undo.journal`;
  const state = readJournal(journalFile, plan.digest, kind, plan.totals.ops);
  const journal = new JournalWriter(journalFile, plan.digest, kind, state.valid, state.exists);
  const { exec } = openExecutor(plan);
  try {
    const counts = await run({ plan, exec, journal, state });
    return { counts, threads: exec.stats().threads };
  } finally {
    journal.checkpoint();
    journal.close();
    exec.close();
    plan.close();
  }
}

function applyWith(planFile: string, lanes: number, options: { batch?: number; onDrift?: 'skip' | 'abort' } = {}): Promise<{ counts: ApplyCounts; threads: number }> {
  // Small batches: many crossings, each with steps of both lanes.
  return withRun(planFile, 'apply', ({ plan, exec, journal, state }) =>
    applyPlan(plan, { exec, journal, state, onDrift: options.onDrift ?? 'skip', verifyContent: false, stopRequested: () => undefined, batch: options.batch ?? 16, lanes }),
  );
}

/** The journal's records, with what differs between two identical trees (entry inodes, the run's time and pid) left out. */
function journalOf(planFile: string): unknown[] {
  return decodeFrames(fs.readFileSync(`${planFile}.journal`)).records.map((r) => {
    const rec = r as Record<string, unknown>;
    if (rec.t === 'run') return { t: 'run' };
    if (rec.t === 'entry') return { t: 'entry', group: rec.group };
    if (rec.t === 'header') return { t: 'header' };
    return rec;
  });
}

describe('apply on two lanes', () => {
  test('writes exactly the journal of a run on one lane and leaves the same tree', async () => {
    await withTrees(2, async ([one, two]) => {
      const before = contentAndMetadata(two.t.root, ROOTS);
      const a = await applyWith(one.plan, 1);
      const b = await applyWith(two.plan, 2);
      // One thread per lane, for the whole run (batches of 16: many of them), not one per batch.
      expect(a.threads).toBe(1);
      expect(b.threads).toBe(2);
      const { resumedAt: _a, ...countsOne } = a.counts;
      const { resumedAt: _b, ...countsTwo } = b.counts;
      expect(countsTwo).toEqual(countsOne);
      expect(b.counts).toMatchObject({ failed: 0, notReached: 0 });
      expect(b.counts.skipped).toBeGreaterThan(0);
      expect(b.counts.applied).toBeGreaterThan(100);
      expect(journalOf(two.plan)).toEqual(journalOf(one.plan));
      expect(sharing(two.t.root, stores(two.t))).toEqual(sharing(one.t.root, stores(one.t)));
      expect(contentAndMetadata(two.t.root, ROOTS)).toEqual(before);
      expect(unsoundEntries(two.t.path('.hash'))).toEqual([]);
    });
  });

  test('a closed executor leaves no descriptor or thread behind (its reapers close the freed inodes first)', async () => {
    await withTrees(2, async ([warm, f]) => { // libuv's pool threads start with the first run
      await applyWith(warm.plan, 2);
      const threads = fs.readdirSync('/proc/self/task').length;
      const { counts } = await applyWith(f.plan, 2);
      expect(counts.inodesFreed).toBeGreaterThan(100);
      expect(fs.readdirSync('/proc/self/task').length).toBe(threads);
      // (the roots' own descriptors are closed by the handle's finalizer, later)
      const link = (fd: string) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return ''; // the listing's own descriptor
        }
      };
      const held = fs.readdirSync('/proc/self/fd').map(link);
      expect(held.filter((p) => p.startsWith(f.t.root) && p.endsWith(' (deleted)'))).toEqual([]);
    });
  });

  test('undo on two lanes restores exactly what undo on one lane does', async () => {
    await withTrees(2, async ([one, two]) => {
      const before = contentAndMetadata(two.t.root, ROOTS);
      await applyWith(one.plan, 2);
      await applyWith(two.plan, 2);
      const undoWith = (planFile: string, lanes: number) =>
        withRun(planFile, 'undo', ({ plan, exec, journal, state }) => {
          const applied = readJournal(`${planFile}.journal`, plan.digest, 'apply', plan.totals.ops);
          return undoPlan(plan, { exec, journal, state, applied, stopRequested: () => undefined, lanes });
        });
      const a = await undoWith(one.plan, 1);
      const b = await undoWith(two.plan, 2);
      expect([a.threads, b.threads]).toEqual([1, 2]);
      const { removedEntries: ra, ...countsOne } = a.counts;
      const { removedEntries: rb, ...countsTwo } = b.counts;
      expect(countsTwo).toEqual(countsOne);
      expect(rb.length).toBe(ra.length);
      expect(b.counts).toMatchObject({ failed: 0, notReached: 0 });
      expect(b.counts.applied).toBeGreaterThan(100);
      expect(journalOf(`${two.plan}.undo`)).toEqual(journalOf(`${one.plan}.undo`));
      expect(sharing(two.t.root, ROOTS)).toEqual(sharing(one.t.root, ROOTS));
      expect(contentAndMetadata(two.t.root, ROOTS)).toEqual(before);
    });
  });

  test('Executor.stop (what SIGINT and SIGTERM call): each lane ends the step it is in and starts no other, in that batch or a later one; a rerun finishes', async () => {
    await withTrees(2, async ([one, two]) => {
      await applyWith(one.plan, 2);
      const before = contentAndMetadata(two.t.root, ROOTS);
      const BATCH = 8;
      let stopped = false;
      // Stopped when the first batch's results are read, while the DEPTH - 1 sent after it are in
      // flight (each may have run whole, in part or not at all by then); the run goes on sending
      // batches (no stop requested of it), and the executor starts none of them.
      const { counts } = await withRun(two.plan, 'apply', ({ plan, exec, journal, state }) =>
        applyPlan(plan, {
          exec, journal, state, onDrift: 'skip', verifyContent: false, stopRequested: () => undefined, batch: BATCH, lanes: 2,
          onProgress: () => {
            if (!stopped) exec.stop();
            stopped = true;
          },
        }),
      );
      const sentBeforeStop = BATCH * DEPTH;
      expect(counts.ops).toBeGreaterThan(2 * sentBeforeStop);
      expect(counts.applied + counts.skipped + counts.failed).toBeLessThanOrEqual(sentBeforeStop);
      expect(counts.notReached).toBeGreaterThanOrEqual(counts.ops - sentBeforeStop);
      const rerun = await applyWith(two.plan, 2);
      expect(rerun.counts).toMatchObject({ failed: 0, notReached: 0 });
      expect(sharing(two.t.root, stores(two.t))).toEqual(sharing(one.t.root, stores(one.t)));
      expect(contentAndMetadata(two.t.root, ROOTS)).toEqual(before);
      expect(unsoundEntries(two.t.path('.hash'))).toEqual([]);
    });
  });

  test('--on-drift abort: the batch sent before the drift was read starts no step', async () => {
    // The next batch goes to the executor before the results of the last one are read: the
    // executor itself must refuse to start it after the drift (one step per batch here).
    await withTrees(1, async ([f]) => {
      const { counts } = await applyWith(f.plan, 1, { batch: 1, onDrift: 'abort' });
      const plan = openPlan(f.plan);
      const state = readJournal(`${f.plan}.journal`, plan.digest, 'apply', plan.totals.ops);
      plan.close();
      const skipped = [...state.status.keys()].filter((op) => state.status[op] === 2);
      expect(skipped).toHaveLength(1);
      const after = [...state.status.keys()].filter((op) => op > skipped[0] && state.status[op] !== 0);
      expect(after).toEqual([]);
      expect(counts.aborted).toBeDefined();
      expect(counts.notReached).toBe(plan.totals.ops - skipped[0] - 1);
    });
  });

  test('killed (SIGKILL) at seeded steps on two lanes, loses nothing and resumes exactly', async () => {
    const reference = await withTrees(1, async ([ref]) => {
      expect(hashify(['apply', ref.plan, '--json'], { env: { HASHIFY_LANES: '1' } }).json()).toMatchObject({ failed: 0, notReached: 0 });
      return sharing(ref.t.root, stores(ref.t));
    });
    // Some 500 changing steps in all: kill points spread over them, the resume killed again.
    let s = 20261201;
    const random = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
    let kills = 0;
    for (let k = 0; k < 6; k++) {
      await withTrees(1, async ([f]) => {
        const before = contentAndMetadata(f.t.root, ROOTS);
        const env = { HASHIFY_LANES: '2', HASHIFY_BATCH: '16' };
        for (const n of [1 + Math.floor(random() * 400), 1 + Math.floor(random() * 200)]) {
          const r = crashAt(n, ['apply', f.plan, '-q'], env);
          expect({ n, stderr: r.stderr }).toEqual({ n, stderr: '' });
          if (r.signal === 'SIGKILL') kills++;
          expect(contentAndMetadata(f.t.root, ROOTS)).toEqual(before);
          expect(unsoundEntries(f.t.path('.hash'))).toEqual([]);
        }
        const done = hashify(['apply', f.plan, '--json'], { env });
        expect(done.json()).toMatchObject({ failed: 0, notReached: 0 });
        expect(hashify(['apply', f.plan, '--json'], { env }).json()).toMatchObject({ applied: 0, failed: 0, notReached: 0 });
        expect(contentAndMetadata(f.t.root, ROOTS)).toEqual(before);
        expect(sharing(f.t.root, stores(f.t))).toEqual(reference);
        expect(tempFiles(f.t.root)).toEqual([]);
      });
    }
    expect(kills).toBeGreaterThanOrEqual(8);
  }, 600_000);
});
