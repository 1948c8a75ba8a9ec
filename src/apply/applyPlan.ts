/**
 * Executes a validated plan through the native executor (src/run/executor.ts), idempotently:
 * the plan's steps, compiled as it was validated (openForApply, src/apply/compileSteps.ts)
 * and read back by applySteps.ts, run in batches under the runner (src/run/runSteps.ts), which
 * journals each operation's outcome at checkpoints. A store entry made for a group is
 * journaled with its identity (`entry`).
 *
 * Crash safety lives in the executor (native/executor_ops.c lists the crash cases): every
 * step first looks at the filesystem, temp names are deterministic, and a path names the
 * old file or the new one at every instant (exchange, never a rename over it).
 */
import { defaultLanes, K, S, type Executor } from '../run/executor.js';
import { runSteps, type RunCounts } from '../run/runSteps.js';
import type { JournalRecord, JournalState } from '../journal/journal.js';
import { OP_DONE, OP_SKIPPED } from '../journal/journal.js';
import type { OpenPlanLike } from './types.js';
import { applySteps } from './applySteps.js';
import { StepCompiler } from './compileSteps.js';
import { openPlan, type OpenPlan } from '../planfile/readPlan.js';

export interface ApplyOptions {
  exec: Executor;
  journal: { append(r: JournalRecord): void; checkpoint(): void };
  state: JournalState;
  onDrift: 'skip' | 'abort';
  verifyContent: boolean;
  /** Returns the signal name when the run must stop (the signal has also stopped the executor: Executor.stop). */
  stopRequested: () => string | undefined;
  onProgress?: (done: number, total: number) => void;
  onEvent?: (message: string) => void;
  /** Steps per crossing to C, and operations between journal checkpoints (tests use 1). */
  batch?: number;
  /** Threads that run a batch (default: 2, or 1 on a machine with one CPU). */
  lanes?: number;
  checkpointEvery?: number;
}

/** The outcome of a run: counts for this run, plus what the journal already showed finished. */
export interface ApplyCounts extends RunCounts {
  resumedAt: number;
}

/** HASHIFY_LANES (tests) overrides the default, as HASHIFY_BATCH does the batch size. With
 *  --on-drift abort one lane: nothing after the first drift in plan order is started. */
function lanesOf(opts: ApplyOptions): number {
  if (opts.onDrift === 'abort') return 1;
  return opts.lanes ?? defaultLanes();
}

/** A plan opened for apply: validated and compiled into steps in one reading. */
export type ApplyPlanFile = OpenPlan & { compiled: StepCompiler; verifyContent: boolean };

/** openPlan (every check, `--expect`), compiling each record into steps as it is validated. */
export function openForApply(file: string, options: { expect?: string; verifyContent: boolean; spillMemory?: number }): ApplyPlanFile {
  const compiled = new StepCompiler(options.verifyContent, options.spillMemory);
  try {
    return Object.assign(openPlan(file, { expect: options.expect, onRecord: compiled.add }), { compiled, verifyContent: options.verifyContent });
  } catch (err) {
    compiled.spill.close();
    throw err;
  }
}

/** The plan's steps: compiled while it was opened, else (a plan opened otherwise) from its records now. */
function compiledOf(plan: OpenPlanLike | ApplyPlanFile, verifyContent: boolean): StepCompiler {
  if ('compiled' in plan && plan.verifyContent === verifyContent) return plan.compiled;
  const c = new StepCompiler(verifyContent);
  for (const rec of plan.records()) c.add(rec);
  return c;
}

export async function applyPlan(plan: OpenPlanLike | ApplyPlanFile, opts: ApplyOptions): Promise<ApplyCounts> {
  let resumedAt = 0;
  for (const s of opts.state.status) if (s === OP_DONE || s === OP_SKIPPED) resumedAt++;
  const units = applySteps(compiledOf(plan, opts.verifyContent), plan.digest, { exec: opts.exec, state: opts.state, lanes: lanesOf(opts) });
  let entryBytes = 0n;
  const counts = await runSteps(units, {
    exec: opts.exec,
    journal: opts.journal,
    status: opts.state.status,
    ops: plan.totals.ops,
    abortOnDrift: opts.onDrift === 'abort',
    stopRequested: opts.stopRequested,
    onProgress: opts.onProgress,
    onEvent: opts.onEvent,
    batch: opts.batch,
    checkpointEvery: opts.checkpointEvery,
    onOpStep: (step, op, group, r, append) => {
      // Without a store the group continues on this path's inode: a resumed run must know.
      if (r.retarget === 1) append({ t: 'retarget', group, op, path: opts.exec.pathOf(step) });
      if (r.retarget) opts.onEvent?.(`The target of group ${group} reached the link-count limit; ${JSON.stringify(opts.exec.pathOf(step).toString())} ${r.retarget === 1 ? 'continues it' : 'went to a further store entry'}`);
    },
    onGroupStep: (step, group, r, append) => {
      if (r.s === S.applied && step.k === K.copyIn) entryBytes += step.bytes ?? 0n;
      if ((r.s === S.applied || r.s === S.already) && r.dev && r.ino && step.sn) append({ t: 'entry', group, dev: r.dev, ino: r.ino });
      if (r.s === S.drift || r.s === S.failed) opts.onEvent?.(`Group ${group}: ${r.why}${r.code ? ` (${r.code})` : ''}: ${JSON.stringify(opts.exec.pathOf(step).toString())}`);
    },
  });
  // What this run saved is what it freed less the store entries it made.
  return { ...counts, bytesSaved: counts.bytesSaved - entryBytes, resumedAt };
}
