/**
 * Undo: every path that this plan's apply relinked gets its own inode again (undoSteps.ts
 * says how), through the same executor and runner as apply. A path a guest changed since
 * apply is reported and left alone; one guest's failure never stops the others.
 */
import type { OpenPlanLike } from '../apply/types.js';
import type { JournalRecord, JournalState } from '../journal/journal.js';
import { K, S, defaultLanes, type Executor } from '../run/executor.js';
import { runSteps, type RunCounts } from '../run/runSteps.js';
import { undoSteps } from './undoSteps.js';

export interface UndoOptions {
  exec: Executor;
  journal: { append(r: JournalRecord): void; checkpoint(): void };
  /** The undo journal's state (updated as paths are restored). */
  state: JournalState;
  /** The apply journal's state: what apply did, and the store entries it made. */
  applied: JournalState;
  stopRequested: () => string | undefined;
  onProgress?: (done: number, total: number) => void;
  onEvent?: (message: string) => void;
  /** Threads that run the steps (default: defaultLanes()). */
  lanes?: number;
}

export interface UndoCounts extends RunCounts {
  /** The store entries this plan made that undo removed (nothing else used them). */
  removedEntries: Buffer[];
}

export async function undoPlan(plan: OpenPlanLike, opts: UndoOptions): Promise<UndoCounts> {
  const removedEntries: Buffer[] = [];
  const counts = await runSteps(undoSteps(plan, opts.exec, opts.applied, opts.lanes ?? defaultLanes()), {
    exec: opts.exec,
    journal: opts.journal,
    status: opts.state.status,
    ops: plan.totals.ops,
    abortOnDrift: false,
    stopRequested: opts.stopRequested,
    onProgress: opts.onProgress,
    onEvent: opts.onEvent,
    onGroupStep: (step, _group, r) => {
      if (step.k === K.release && r.s === S.applied) removedEntries.push(opts.exec.pathOf(step));
    },
  });
  return { ...counts, removedEntries };
}
