/**
 * Crash points, injected deterministically: apply runs in-process with an ApplyFs that
 * "dies" right after the Nth link(), the Nth rename(), the Nth link into the store (a store
 * entry created) or the Nth mkdir of a store shard. Dying means: the call that crashed
 * throws, and from then on every filesystem call and every journal write throws too, so
 * none of apply's own clean-up runs and the journal records not yet written are lost, as
 * when the process is killed. N runs over every step of a small plan (7 operations, with
 * pre-existing hard links), in store and --no-store mode, with the journal written after
 * every operation and only at the end.
 *
 * After each crash: no path's content or metadata differs from before (only inode sharing
 * may). Then a resume with the real filesystem (in-process or the CLI) finishes: every
 * operation applied or already done, nothing skipped or failed, no `.hashify-tmp-*` left,
 * and the inode sharing equals that of an uninterrupted run on an identical tree.
 * A journal cut inside its last frame (torn write) is ignored on resume and cut off.
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { makeTree, type Tree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';
import { runPlan, type PlanArgs } from '../../src/cli/plan.js';
import { Output } from '../../src/cli/output.js';
import { openPlan } from '../../src/planfile/readPlan.js';
import { applyPlan, type ApplyCounts } from '../../src/apply/applyPlan.js';
import { realFs, type ApplyFs } from '../../src/apply/applyFs.js';
import { readJournal, JournalWriter, OP_DONE } from '../../src/journal/journal.js';
import { decodeFrames, encodeFrame } from '../../src/journal/frame.js';

const MTIME = new Date('2022-03-04T05:06:07Z');

/**
 * Three copies; `h` has pre-existing hard links in a/ (the keeper: most links) and in c/
 * (c/h1 and c/h2 are one inode, relinked by two operations: the second finds the link count
 * and ctime changed by the first).
 */
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
const OPS = 7;
const ROOTS = ['a', 'b', 'c'];

type Mode = 'store' | 'no-store';
type Kind = 'link' | 'rename' | 'storeLink' | 'mkdirp';

class Crash extends Error {
  constructor(what: string) {
    super(`simulated crash ${what}`);
    this.name = 'Crash';
  }
}

interface Steps {
  link: number;
  rename: number;
  storeLink: number;
  mkdirp: number;
}

/** realFs that dies right after the `n`th call of `kind`; counts every step either way. */
function crashingFs(crashAt: { kind: Kind; n: number } | undefined, store: Buffer | null) {
  const steps: Steps = { link: 0, rename: 0, storeLink: 0, mkdirp: 0 };
  let dead: string | undefined;
  const alive = () => {
    if (dead) throw new Crash('(the process is gone)');
  };
  const step = (kind: Kind) => {
    steps[kind]++;
    if (crashAt && crashAt.kind === kind && crashAt.n === steps[kind]) {
      dead = `after ${kind} #${crashAt.n}`;
      throw new Crash(dead);
    }
  };
  const inStore = (p: Buffer) => store !== null && p.length > store.length && p.subarray(0, store.length).equals(store) && p[store.length] === 0x2f;
  const fsx: ApplyFs = {
    lstat: (p) => (alive(), realFs.lstat(p)),
    openRead: (p) => (alive(), realFs.openRead(p)),
    fstat: (fd) => (alive(), realFs.fstat(fd)),
    close: (fd) => realFs.close(fd), // the kernel closes descriptors of a dead process too
    link: (a, b) => {
      alive();
      realFs.link(a, b);
      if (inStore(b)) step('storeLink');
      step('link');
    },
    rename: (a, b) => {
      alive();
      realFs.rename(a, b);
      step('rename');
    },
    unlink: (p) => (alive(), realFs.unlink(p)),
    mkdirp: (p) => {
      alive();
      realFs.mkdirp(p);
      step('mkdirp');
    },
    realpath: (p) => (alive(), realFs.realpath(p)),
    syncFilesystem: (p) => (alive(), realFs.syncFilesystem(p)),
    clone: (a, b) => (alive(), realFs.clone(a, b)),
  };
  return { fs: fsx, steps, crashed: () => dead, alive };
}

/** Runs applyPlan in-process; with `crash`, the journal dies with the filesystem. */
async function applyInProcess(planFile: string, fsx: ApplyFs, options: { alive?: () => void; checkpointEvery?: number } = {}): Promise<ApplyCounts> {
  const plan = openPlan(planFile);
  const journalFile = `${planFile}.journal`;
  const state = readJournal(journalFile, plan.digest, 'apply', plan.totals.ops);
  const writer = new JournalWriter(journalFile, plan.digest, 'apply', state.valid, state.exists);
  const alive = options.alive ?? (() => undefined);
  const journal = {
    append: (r: Parameters<JournalWriter['append']>[0]) => (alive(), writer.append(r)),
    checkpoint: () => (alive(), writer.checkpoint()),
    get pendingRecords() {
      return writer.pendingRecords;
    },
  };
  try {
    return await applyPlan(plan, { fs: fsx, journal, state, onDrift: 'skip', verifyContent: false, stopRequested: () => undefined, checkpointEvery: options.checkpointEvery });
  } finally {
    writer.close(); // without a checkpoint: records still pending die with the process
    plan.close();
  }
}

interface Fixture {
  t: Tree;
  plan: string;
  store: Buffer | null;
}

/** A fresh tree and its plan (planned in-process: a child process per crash point is too slow). */
async function fixture(mode: Mode): Promise<Fixture> {
  const t = makeTree(SPEC);
  const plan = t.path('p.plan.jsonl');
  const args: PlanArgs = { roots: ROOTS.map((r) => t.path(r)), output: plan, noStore: mode === 'no-store', link: 'hardlink', minSize: '1', exclude: [], algorithm: 'sha256', cache: false, quiet: true, threads: 1 };
  await runPlan(args, new Output({ quiet: true }));
  return { t, plan, store: mode === 'store' ? Buffer.from(t.path('.hash')) : null };
}

function walk(dir: string, rel: string, out: Map<string, fs.BigIntStats>): void {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    const r = `${rel}/${e.name}`;
    if (e.isDirectory()) walk(p, r, out);
    else out.set(r, fs.lstatSync(p, { bigint: true }));
  }
}

function files(t: Tree, withStore: boolean): Map<string, fs.BigIntStats> {
  const out = new Map<string, fs.BigIntStats>();
  for (const r of [...ROOTS, ...(withStore ? ['.hash'] : [])]) walk(t.path(r), r, out);
  return out;
}

/** Content and metadata of every path in the roots (not inode, link count or ctime). */
function contentAndMetadata(t: Tree): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rel, st] of files(t, false)) {
    if (rel.includes('.hashify-tmp-')) continue;
    const hash = st.isFile() ? createHash('sha256').update(fs.readFileSync(t.path(rel))).digest('hex') : 'not a file';
    out[rel] = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeNs} ${st.size} ${hash}`;
  }
  return out;
}

/** Which paths (roots and store) share an inode: canonical sorted groups. */
function sharing(t: Tree): string[] {
  const byInode = new Map<bigint, string[]>();
  // The store's marker is bookkeeping, written by the CLI's apply and not by the in-process one.
  for (const [rel, st] of files(t, true)) if (!rel.endsWith('/hashify-store.json')) byInode.set(st.ino, [...(byInode.get(st.ino) ?? []), rel]);
  return [...byInode.values()].map((g) => g.sort().join(' = ')).sort();
}

function tempFiles(t: Tree): string[] {
  const out = new Map<string, fs.BigIntStats>();
  walk(t.root, '', out);
  return [...out.keys()].filter((r) => r.includes('.hashify-tmp-'));
}

function expectFinished(counts: { ops: number; applied: number; alreadyDone: number; skipped: number; failed: number }): void {
  expect({ ops: counts.ops, skipped: counts.skipped, failed: counts.failed, finished: counts.applied + counts.alreadyDone }).toEqual({ ops: OPS, skipped: 0, failed: 0, finished: OPS });
}

interface Reference {
  sharing: string[];
  steps: Steps;
}

const references = new Map<Mode, Reference>();

/** An uninterrupted run on an identical tree: its sharing, and how many steps of each kind it took. */
async function reference(mode: Mode): Promise<Reference> {
  const known = references.get(mode);
  if (known) return known;
  const f = await fixture(mode);
  try {
    const before = contentAndMetadata(f.t);
    const counting = crashingFs(undefined, f.store);
    const counts = await applyInProcess(f.plan, counting.fs);
    expect(counts).toMatchObject({ ops: OPS, applied: OPS, alreadyDone: 0, skipped: 0, failed: 0 });
    expect(contentAndMetadata(f.t)).toEqual(before);
    const ref = { sharing: sharing(f.t), steps: { ...counting.steps } };
    // The plan really relinks: a/h1, a/h2, b/h, c/h1, c/h2 end on one inode.
    expect(ref.sharing.some((g) => ['a/h1', 'a/h2', 'b/h', 'c/h1', 'c/h2'].every((p) => g.includes(p)))).toBe(true);
    references.set(mode, ref);
    return ref;
  } finally {
    f.t.cleanup();
  }
}

/**
 * Crashes right after `kind` #1, #2, … #last (as many as an uninterrupted run makes), each on a
 * fresh tree, and resumes; returns how many crash points were covered.
 */
async function everyCrashPoint(mode: Mode, kind: Kind, checkpointEvery: number | undefined, resumeWith: (n: number) => 'cli' | 'in-process'): Promise<number> {
  const ref = await reference(mode);
  let covered = 0;
  for (let n = 1; n <= ref.steps[kind]; n++) {
    const at = `${kind} #${n}, journal ${checkpointEvery ? 'after every op' : 'at the end'}`;
    const f = await fixture(mode);
    try {
      const before = contentAndMetadata(f.t);
      const crashing = crashingFs({ kind, n }, f.store);
      await expect(applyInProcess(f.plan, crashing.fs, { alive: crashing.alive, checkpointEvery })).rejects.toThrow(Crash);
      expect(crashing.crashed()).toBe(`after ${kind} #${n}`);
      // Nothing lost: every path, with its content and metadata.
      expect({ at, files: contentAndMetadata(f.t) }).toEqual({ at, files: before });

      if (resumeWith(n) === 'cli') {
        const r = hashify(['apply', f.plan, '--json']);
        expect({ at, status: r.status, stderr: r.stderr }).toEqual({ at, status: 0, stderr: '' });
        expectFinished(r.json());
      } else {
        expectFinished(await applyInProcess(f.plan, realFs));
      }
      expect({ at, temp: tempFiles(f.t) }).toEqual({ at, temp: [] });
      expect({ at, sharing: sharing(f.t) }).toEqual({ at, sharing: ref.sharing });
      expect({ at, files: contentAndMetadata(f.t) }).toEqual({ at, files: before });
      // The journal says every operation is done.
      expect(readJournal(`${f.plan}.journal`, openPlanDigest(f.plan), 'apply', OPS).status.every((s) => s === OP_DONE)).toBe(true);
      covered++;
    } finally {
      f.t.cleanup();
    }
  }
  return covered;
}

describe('apply crashing after any single step resumes to the same end state', () => {
  // Every op journaled at once (the journal knows what finished) and only at the end
  // (the journal knows nothing: everything is found again on the filesystem).
  const cases: Array<[Mode, Kind, number]> = [
    ['store', 'link', 10],
    ['store', 'rename', 7],
    ['store', 'storeLink', 3],
    ['store', 'mkdirp', 3],
    ['no-store', 'link', 7],
    ['no-store', 'rename', 7],
  ];

  test.each(cases)('%s mode: after every %s (%d of them)', async (mode, kind, expected) => {
    const ref = await reference(mode);
    expect(ref.steps[kind]).toBe(expected);
    // Journal after every operation, and only at the end (the crash loses every record).
    // One resume of each by the CLI `apply` (the first and the last crash point), the others in-process.
    expect(await everyCrashPoint(mode, kind, 1, (n) => (n === 1 ? 'cli' : 'in-process'))).toBe(expected);
    expect(await everyCrashPoint(mode, kind, undefined, (n) => (n === expected ? 'cli' : 'in-process'))).toBe(expected);
  });

  test('a crash while resuming a crashed run (after removing its temp link) is survived too', async () => {
    const ref = await reference('store');
    let leftTemp = 0;
    for (let n = 1; n <= ref.steps.link; n++) {
      const f = await fixture('store');
      try {
        const before = contentAndMetadata(f.t);
        // The first run dies right after link #n: a store entry, or a temp name left behind.
        const first = crashingFs({ kind: 'link', n }, f.store);
        await expect(applyInProcess(f.plan, first.fs, { alive: first.alive, checkpointEvery: 1 })).rejects.toThrow(Crash);
        if (tempFiles(f.t).length) leftTemp++;
        // The resume dies too, right after its first rename.
        const second = crashingFs({ kind: 'rename', n: 1 }, f.store);
        await expect(applyInProcess(f.plan, second.fs, { alive: second.alive })).rejects.toThrow(Crash);
        expect(second.crashed()).toBe('after rename #1');
        expect({ n, temp: tempFiles(f.t) }).toEqual({ n, temp: [] });
        expect(contentAndMetadata(f.t)).toEqual(before);
        expectFinished(await applyInProcess(f.plan, realFs));
        expect({ n, sharing: sharing(f.t) }).toEqual({ n, sharing: ref.sharing });
        expect(tempFiles(f.t)).toEqual([]);
      } finally {
        f.t.cleanup();
      }
    }
    // Seven of the ten links are to temp names (one per operation); three make store entries.
    expect(leftTemp).toBe(OPS);
  });
});

/** Byte offsets where the journal's frames start, and its length. */
function frameStarts(journal: Buffer): number[] {
  const starts: number[] = [];
  for (let at = 0; at + 8 <= journal.length; at += 8 + journal.readUInt32LE(at)) starts.push(at);
  return starts;
}

describe('a journal torn inside its last record', () => {
  test('after a crash mid-run: the torn record is ignored, cut off, and the run finishes', async () => {
    const ref = await reference('store');
    // Cut at several places inside the last frame: in its length, its checksum, its payload.
    for (const inside of [1, 5, 9, -1]) {
      const f = await fixture('store');
      try {
        const before = contentAndMetadata(f.t);
        const crashing = crashingFs({ kind: 'rename', n: 4 }, f.store);
        await expect(applyInProcess(f.plan, crashing.fs, { alive: crashing.alive, checkpointEvery: 1 })).rejects.toThrow(Crash);
        const journalFile = `${f.plan}.journal`;
        const whole = fs.readFileSync(journalFile);
        const starts = frameStarts(whole);
        // Header, then one `done` per operation finished before the crash (ops 0…2).
        expect(starts).toHaveLength(4);
        const last = starts[starts.length - 1];
        const cut = inside > 0 ? last + inside : whole.length + inside;
        expect(cut).toBeGreaterThan(last);
        expect(cut).toBeLessThan(whole.length);
        fs.truncateSync(journalFile, cut);
        // The torn record does not count: two operations finished, as far as the journal knows.
        const torn = readJournal(journalFile, openPlanDigest(f.plan), 'apply', OPS);
        expect([...torn.status]).toEqual([OP_DONE, OP_DONE, 0, 0, 0, 0, 0]);
        if (inside === 1) expect(hashify(['status', f.plan, '--json']).json()).toMatchObject({ done: 2, next: 2, finished: false });

        const r = hashify(['apply', f.plan, '--json']);
        expect(r.status).toBe(0);
        expect(r.json()).toMatchObject({ ops: OPS, resumedAt: 2, skipped: 0, failed: 0 });
        expectFinished(r.json());
        // The torn bytes were cut off before appending: every frame of the journal is whole.
        const after = fs.readFileSync(journalFile);
        expect(decodeFrames(after).valid).toBe(after.length);
        expect(readJournal(journalFile, openPlanDigest(f.plan), 'apply', OPS).status.every((s) => s === OP_DONE)).toBe(true);
        expect(tempFiles(f.t)).toEqual([]);
        expect(sharing(f.t)).toEqual(ref.sharing);
        expect(contentAndMetadata(f.t)).toEqual(before);
      } finally {
        f.t.cleanup();
      }
    }
  });

  test('after a finished run: cut at every byte inside the last record, resume finds everything done', async () => {
    const ref = await reference('no-store');
    const f = await fixture('no-store');
    try {
      expectFinished(await applyInProcess(f.plan, realFs, { checkpointEvery: 1 }));
      const journalFile = `${f.plan}.journal`;
      const whole = fs.readFileSync(journalFile);
      const starts = frameStarts(whole);
      expect(starts).toHaveLength(1 + OPS);
      const last = starts[starts.length - 1];
      for (let cut = last + 1; cut < whole.length; cut++) {
        fs.writeFileSync(journalFile, whole.subarray(0, cut));
        const counts = await applyInProcess(f.plan, realFs);
        expect({ cut, resumedAt: counts.resumedAt, applied: counts.applied, alreadyDone: counts.alreadyDone, skipped: counts.skipped, failed: counts.failed }).toEqual({
          cut,
          resumedAt: OPS - 1,
          applied: 0,
          alreadyDone: OPS,
          skipped: 0,
          failed: 0,
        });
        const after = fs.readFileSync(journalFile);
        expect(decodeFrames(after).valid).toBe(after.length);
        expect(after.subarray(0, last).equals(whole.subarray(0, last))).toBe(true);
        expect(readJournal(journalFile, openPlanDigest(f.plan), 'apply', OPS).status.every((s) => s === 1)).toBe(true);
      }
      // Torn while writing a record after the last operation (as `apply` writes `end`): a resume
      // with nothing left to journal still cuts the torn bytes off.
      for (let cut = 1; cut < encodeFrame({ t: 'end' }).length; cut++) {
        fs.writeFileSync(journalFile, Buffer.concat([whole, encodeFrame({ t: 'end' }).subarray(0, cut)]));
        expect(await applyInProcess(f.plan, realFs)).toMatchObject({ resumedAt: OPS, alreadyDone: OPS, applied: 0 });
        expect({ cut, journal: fs.readFileSync(journalFile).length }).toEqual({ cut, journal: whole.length });
      }
      expect(sharing(f.t)).toEqual(ref.sharing);
    } finally {
      f.t.cleanup();
    }
  });
});

function openPlanDigest(file: string): string {
  const plan = openPlan(file);
  plan.close();
  return plan.digest;
}
