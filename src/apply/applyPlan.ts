/**
 * Executes a validated plan through the native executor (src/run/executor.ts), idempotently:
 * the steps of applySteps.ts run in batches under the runner (src/run/runSteps.ts), which
 * journals each operation's outcome at checkpoints. A store entry made for a group is
 * journaled with its identity (`entry`).
 *
 * Crash safety lives in the executor (native/executor_ops.c lists the crash cases): every
 * step first looks at the filesystem, temp names are deterministic, and a path names the
 * old file or the new one at every instant (exchange, never a rename over it).
 */
import { S, type Executor } from '../run/executor.js';
import { runSteps, type RunCounts } from '../run/runSteps.js';
import type { JournalRecord, JournalState } from '../journal/journal.js';
import { OP_DONE, OP_SKIPPED } from '../journal/journal.js';
import type { OpenPlanLike } from './types.js';
import { applySteps } from './applySteps.js';
import { linkMethodOf } from './linkMethod.js';

export interface ApplyOptions {
  exec: Executor;
  /** The index of the store among the executor's roots (unused without a store). */
  storeRoot: number;
  journal: { append(r: JournalRecord): void; checkpoint(): void };
  state: JournalState;
  onDrift: 'skip' | 'abort';
  verifyContent: boolean;
  /** Returns the signal name when the run must stop after the current batch. */
  stopRequested: () => string | undefined;
  onProgress?: (done: number, total: number) => void;
  onEvent?: (message: string) => void;
  /** Steps per crossing to C, and operations between journal checkpoints (tests use 1). */
  batch?: number;
  checkpointEvery?: number;
}

/** The outcome of a run: counts for this run, plus what the journal already showed finished. */
export interface ApplyCounts extends RunCounts {
  resumedAt: number;
}

export async function applyPlan(plan: OpenPlanLike, opts: ApplyOptions): Promise<ApplyCounts> {
  let resumedAt = 0;
  for (const s of opts.state.status) if (s === OP_DONE || s === OP_SKIPPED) resumedAt++;
  const paths = new Map<number, string>();
  const units = applySteps(plan, { exec: opts.exec, storeRoot: opts.storeRoot, method: linkMethodOf(plan.header.link), verifyContent: opts.verifyContent, state: opts.state });
  const counts = await runSteps(
    (function* () {
      for (const u of units) {
        if ('step' in u && u.op !== undefined) paths.set(u.op, JSON.stringify(opts.exec.pathOf(u.step).toString()));
        yield u;
      }
    })(),
    {
      exec: opts.exec,
      journal: opts.journal,
      status: opts.state.status,
      ops: plan.totals.ops,
      abortOnDrift: opts.onDrift === 'abort',
      stopRequested: opts.stopRequested,
      pathOf: (op) => paths.get(op) ?? `operation ${op}`,
      onProgress: opts.onProgress,
      onEvent: opts.onEvent,
      batch: opts.batch,
      checkpointEvery: opts.checkpointEvery,
      onGroupStep: (step, group, r) => {
        if ((r.s === S.applied || r.s === S.already) && r.dev && r.ino && step.sn) opts.journal.append({ t: 'entry', group, dev: r.dev, ino: r.ino });
        if (r.s === S.drift || r.s === S.failed) opts.onEvent?.(`Group ${group}: ${r.why}${r.code ? ` (${r.code})` : ''}`);
      },
    },
  );
  return { ...counts, resumedAt };
}
