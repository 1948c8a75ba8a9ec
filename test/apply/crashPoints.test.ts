/**
 * Crash points, deterministic: `apply` kills itself (SIGKILL) right after its Nth changing
 * step (HASHIFY_CRASH_AT, native/executor_fs.c), for N = 1, 2, … until a run finishes: every
 * mkdir of a store shard, every O_TMPFILE, copy, metadata and link of a store entry, every
 * temp link, exchange and unlink of an operation. Each on a fresh tree, in store and
 * --no-store mode, with the journal written after every operation (HASHIFY_BATCH=1) and only
 * at the end. After each crash: no path's content or metadata differs from before, and
 * every store entry's bytes hash to its name. Then a resume finishes: every operation
 * applied or already done, no `.hashify-tmp-*` left, and the inode sharing equals that of an
 * uninterrupted run. A crash of the resume itself is survived too. A journal cut inside its
 * last frame (torn write) is ignored on resume and cut off.
 */
import * as fs from 'node:fs';
import { makeTree, type Tree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';
import { planInProcess } from '../helpers/plan.js';
import { crashAt, contentAndMetadata, sharing, tempFiles, unsoundEntries } from '../helpers/crashHook.js';
import { openPlan } from '../../src/planfile/readPlan.js';
import { applyPlan, type ApplyCounts } from '../../src/apply/applyPlan.js';
import { openExecutor } from '../../src/cli/apply.js';
import { readJournal, JournalWriter, OP_DONE } from '../../src/journal/journal.js';
import { decodeFrames, encodeFrame } from '../../src/journal/frame.js';

const MTIME = new Date('2022-03-04T05:06:07Z');

/** Three copies; `h` has hard links in a/ and in c/ (c/h1 and c/h2: one inode, two operations). */
const SPEC = {
  'a/x': 'x content\n',
  'b/x': 'x content\n',
  'c/x': 'x content\n',
  'a/y': 'yy content\n'.repeat(50),
  'b/y': 'yy content\n'.repeat(50),
  'c/y': 'yy content\n'.repeat(50),
  'a/h1': { content: 'hard linked\n', mtime: MTIME },
  'a/h2': { hardlink: 'a/h1' },
  'b/h': { content: 'hard linked\n', mtime: MTIME },
  'c/h1': { content: 'hard linked\n', mtime: MTIME },
  'c/h2': { hardlink: 'c/h1' },
  'c/own': 'only here\n',
};
const ROOTS = ['a', 'b', 'c'];
/** Two child processes per crash point: minutes on a loaded machine (the outcome never depends on it). */
const LONG = 900_000;
type Mode = 'store' | 'no-store';
/** Operations: copy-in relinks every path of a group (the keeper's too); --no-store leaves the keeper. */
const OPS: Record<Mode, number> = { store: 11, 'no-store': 7 };

interface Fixture {
  t: Tree;
  plan: string;
}

async function fixture(mode: Mode): Promise<Fixture> {
  const t = makeTree(SPEC);
  const plan = t.path('p.plan.jsonl');
  await planInProcess(ROOTS.map((r) => t.path(r)), plan, { noStore: mode === 'no-store' });
  return { t, plan };
}

/** applyPlan in this process (the resume), optionally stopping after `stopAfter` operations. */
async function applyInProcess(planFile: string, options: { batch?: number; stopAfter?: number } = {}): Promise<ApplyCounts> {
  const plan = openPlan(planFile);
  const journalFile = `${planFile}.journal`;
  const state = readJournal(journalFile, plan.digest, 'apply', plan.totals.ops);
  const journal = new JournalWriter(journalFile, plan.digest, 'apply', state.valid, state.exists);
  const { exec } = openExecutor(plan);
  let seen = 0;
  try {
    return await applyPlan(plan, {
      exec, journal, state, onDrift: 'skip', verifyContent: false,
      stopRequested: () => (options.stopAfter !== undefined && ++seen > options.stopAfter ? 'SIGTERM' : undefined),
      batch: options.batch, checkpointEvery: options.batch,
    });
  } finally {
    journal.checkpoint();
    journal.close();
    exec.close();
    plan.close();
  }
}

const stores = (t: Tree) => [...ROOTS, '.hash'].filter((d) => fs.existsSync(t.path(d)));

function expectFinished(counts: { ops: number; applied: number; alreadyDone: number; skipped: number; failed: number }, mode: Mode): void {
  expect({ ops: counts.ops, skipped: counts.skipped, failed: counts.failed, finished: counts.applied + counts.alreadyDone }).toEqual({ ops: OPS[mode], skipped: 0, failed: 0, finished: OPS[mode] });
}

const references = new Map<Mode, string[]>();

async function reference(mode: Mode): Promise<string[]> {
  if (references.has(mode)) return references.get(mode)!;
  const f = await fixture(mode);
  try {
    const before = contentAndMetadata(f.t.root, ROOTS);
    const r = hashify(['apply', f.plan, '--json']);
    expect(r.status).toBe(0);
    expectFinished(r.json(), mode);
    expect(contentAndMetadata(f.t.root, ROOTS)).toEqual(before);
    const ref = sharing(f.t.root, stores(f.t));
    // The plan really relinks: a/h1, a/h2, b/h, c/h1, c/h2 end on one inode.
    expect(ref.some((g) => ['a/h1', 'a/h2', 'b/h', 'c/h1', 'c/h2'].every((p) => g.includes(p)))).toBe(true);
    references.set(mode, ref);
    return ref;
  } finally {
    f.t.cleanup();
  }
}

/** Crashes after step 1, 2, … (each on a fresh tree) until apply finishes; returns the number of crash points. */
async function everyCrashPoint(mode: Mode, journalEveryOp: boolean, crashResumeToo: boolean): Promise<number> {
  const ref = await reference(mode);
  const env: Record<string, string> = journalEveryOp ? { HASHIFY_BATCH: '1' } : {};
  for (let n = 1; n < 200; n++) {
    const f = await fixture(mode);
    try {
      const before = contentAndMetadata(f.t.root, ROOTS);
      const r = crashAt(n, ['apply', f.plan, '--json'], env);
      if (r.signal !== 'SIGKILL') {
        // One past the last step: the run finished, so every step before was a crash point.
        expect({ n, status: r.status, stderr: r.stderr }).toEqual({ n, status: 0, stderr: '' });
        expectFinished(r.json(), mode);
        return n - 1;
      }
      const at = `crash after step ${n}`;
      expect({ at, files: contentAndMetadata(f.t.root, ROOTS) }).toEqual({ at, files: before });
      if (mode === 'store') expect({ at, unsound: unsoundEntries(f.t.path('.hash')) }).toEqual({ at, unsound: [] });
      if (crashResumeToo) {
        // The resume dies too, after its second step.
        const again = crashAt(2, ['apply', f.plan, '--json'], env);
        if (again.signal === 'SIGKILL') expect({ at, files: contentAndMetadata(f.t.root, ROOTS) }).toEqual({ at, files: before });
      }
      expectFinished(await applyInProcess(f.plan), mode);
      expect({ at, temp: tempFiles(f.t.root) }).toEqual({ at, temp: [] });
      expect({ at, sharing: sharing(f.t.root, stores(f.t)) }).toEqual({ at, sharing: ref });
      expect({ at, files: contentAndMetadata(f.t.root, ROOTS) }).toEqual({ at, files: before });
      if (mode === 'store') expect({ at, unsound: unsoundEntries(f.t.path('.hash')) }).toEqual({ at, unsound: [] });
      expect(readJournal(`${f.plan}.journal`, digestOf(f.plan), 'apply', OPS[mode]).status.every((s) => s === OP_DONE)).toBe(true);
    } finally {
      f.t.cleanup();
    }
  }
  throw new Error('apply never finished');
}

describe('apply killed right after any single step resumes to the same end state', () => {
  // copy-in: 3 entries × (O_TMPFILE, copy, metadata, link) + shard directories; every
  // operation: temp link, exchange, unlink. (Each crash point costs two processes: the
  // journaling variants are split between the modes.)
  test('store mode, journal after every operation', async () => {
    expect(await everyCrashPoint('store', true, false)).toBeGreaterThanOrEqual(OPS.store * 3 + 12);
  }, LONG);

  test('store mode, journal only at the end, and the resume crashing too', async () => {
    expect(await everyCrashPoint('store', false, true)).toBeGreaterThanOrEqual(OPS.store * 3 + 12);
  }, LONG);

  test('no-store mode, journal only at the end', async () => {
    expect(await everyCrashPoint('no-store', false, false)).toBeGreaterThanOrEqual(OPS['no-store'] * 3);
  }, LONG);
});

/** Byte offsets where the journal's frames start. */
function frameStarts(journal: Buffer): number[] {
  const starts: number[] = [];
  for (let at = 0; at + 8 <= journal.length; at += 8 + journal.readUInt32LE(at)) starts.push(at);
  return starts;
}

describe('a journal torn inside its last record', () => {
  test('after a stop mid-run: the torn record is ignored, cut off, and the run finishes', async () => {
    const ref = await reference('store');
    for (const inside of [1, 5, 9, -1]) {
      const f = await fixture('store');
      try {
        const before = contentAndMetadata(f.t.root, ROOTS);
        // One step per batch: the copy-in of group 0, then its operations 0, 1, 2 (a stop after three batches).
        const stopped = await applyInProcess(f.plan, { batch: 1, stopAfter: 3 });
        expect(stopped.applied).toBeGreaterThanOrEqual(2);
        const journalFile = `${f.plan}.journal`;
        const whole = fs.readFileSync(journalFile);
        const records = decodeFrames(whole).records as Array<{ t: string }>;
        const done = records.filter((r) => r.t === 'done').length;
        const left = done - (records[records.length - 1].t === 'done' ? 1 : 0);
        const starts = frameStarts(whole);
        const last = starts[starts.length - 1];
        const cut = inside > 0 ? last + inside : whole.length + inside;
        fs.truncateSync(journalFile, cut);
        const torn = readJournal(journalFile, digestOf(f.plan), 'apply', OPS.store);
        expect([...torn.status].filter((s) => s === OP_DONE)).toHaveLength(left);
        const r = hashify(['apply', f.plan, '--json']);
        expect(r.status).toBe(0);
        expect(r.json()).toMatchObject({ ops: OPS.store, resumedAt: left, skipped: 0, failed: 0 });
        const after = fs.readFileSync(journalFile);
        expect(decodeFrames(after).valid).toBe(after.length);
        expect(tempFiles(f.t.root)).toEqual([]);
        expect(sharing(f.t.root, stores(f.t))).toEqual(ref);
        expect(contentAndMetadata(f.t.root, ROOTS)).toEqual(before);
      } finally {
        f.t.cleanup();
      }
    }
  });

  test('after a finished run: cut at every byte inside the last record, resume finds everything done', async () => {
    const f = await fixture('no-store');
    const ops = OPS['no-store'];
    try {
      expectFinished(await applyInProcess(f.plan, { batch: 1 }), 'no-store');
      const journalFile = `${f.plan}.journal`;
      const whole = fs.readFileSync(journalFile);
      const starts = frameStarts(whole);
      const last = starts[starts.length - 1];
      for (let cut = last + 1; cut < whole.length; cut++) {
        fs.writeFileSync(journalFile, whole.subarray(0, cut));
        const counts = await applyInProcess(f.plan);
        expect({ cut, resumedAt: counts.resumedAt, applied: counts.applied, alreadyDone: counts.alreadyDone }).toEqual({ cut, resumedAt: ops - 1, applied: 0, alreadyDone: ops });
        const after = fs.readFileSync(journalFile);
        expect(decodeFrames(after).valid).toBe(after.length);
        expect(after.subarray(0, last).equals(whole.subarray(0, last))).toBe(true);
      }
      for (let cut = 1; cut < encodeFrame({ t: 'end' }).length; cut++) {
        fs.writeFileSync(journalFile, Buffer.concat([whole, encodeFrame({ t: 'end' }).subarray(0, cut)]));
        expect(await applyInProcess(f.plan)).toMatchObject({ resumedAt: ops, alreadyDone: ops, applied: 0 });
        expect({ cut, journal: fs.readFileSync(journalFile).length }).toEqual({ cut, journal: whole.length });
      }
    } finally {
      f.t.cleanup();
    }
  });
});

function digestOf(file: string): string {
  const plan = openPlan(file);
  plan.close();
  return plan.digest;
}
