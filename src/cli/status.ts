/**
 * `hashify status PLAN`: the progress of the plan's apply, read from its journal; whether an
 * apply or undo holds the plan's lock right now; and how far its undo got, if one ran.
 */
import { existsSync } from 'node:fs';
import { openPlan } from '../planfile/readPlan.js';
import { OP_DONE, OP_FAILED, OP_SKIPPED, readJournal, type JournalState } from '../journal/journal.js';
import { undoJournalOf } from '../plan/planOutput.js';
import { digestLockFile, isLocked, planLockPath } from '../apply/lock.js';
import { Output, type GlobalOptions } from './output.js';
import { decodePath, displayPath, encodePath, fsPath, shellWord } from '../pathBytes.js';

export interface StatusArgs extends GlobalOptions {
  plan: string;
  journal?: string;
}

function tally(state: JournalState) {
  let done = 0, skipped = 0, failed = 0, next = -1;
  state.status.forEach((s, op) => {
    if (s === OP_DONE) done++;
    else if (s === OP_SKIPPED) skipped++;
    else {
      if (s === OP_FAILED) failed++;
      if (next < 0) next = op;
    }
  });
  return { done, skipped, failed, next };
}

export function runStatus(args: StatusArgs, out: Output): number {
  const plan = openPlan(args.plan);
  const journalFile = args.journal ?? `${args.plan}.journal`;
  let state: JournalState;
  /** The path of each operation the journal gives a reason for (skipped or failed). */
  const paths = new Map<number, Buffer>();
  try {
    state = readJournal(journalFile, plan.digest, 'apply', plan.totals.ops);
    if (state.reasons.size) for (const rec of plan.records()) if (rec.type === 'link' && state.reasons.has(rec.op)) paths.set(rec.op, decodePath(rec));
  } finally {
    plan.close();
  }
  const tallied = tally(state);
  const { done, skipped, failed } = tallied;
  const next = tallied.next < 0 ? plan.totals.ops : tallied.next;
  const finished = state.exists && tallied.next < 0; // a plan without operations too is finished only by its apply
  const kind = (op: number) => (state.status[op] === OP_SKIPPED ? 'skipped' : 'failed');
  const drifts = [...state.reasons].filter(([op]) => state.status[op] === OP_SKIPPED || state.status[op] === OP_FAILED).map(([op, reason]) => ({ op, status: kind(op), ...encodePath(paths.get(op) ?? Buffer.alloc(0)), reason }));
  // This file's apply or undo, or another copy's (the digest's lock).
  const running = isLocked(planLockPath(args.plan)) || isLocked(digestLockFile(plan.digest, false));
  const undoFile = undoJournalOf(journalFile);
  const undoState = existsSync(fsPath(undoFile)) ? readJournal(undoFile, plan.digest, 'undo', plan.totals.ops) : undefined;
  const undo = undoState && (() => {
    const u = tally(undoState);
    // An undo skip is never final: a path not restored is retried by the next undo.
    return { done: u.done, skipped: u.skipped, failed: u.failed, finished: u.done === plan.totals.ops };
  })();
  const result = { digest: plan.digest, ops: plan.totals.ops, done, skipped, failed, next, finished, runs: state.runs, running, drifts, ...(undo ? { undo } : {}) };
  const planWord = shellWord(args.plan);
  const lines = [
    state.exists ? `Plan ${planWord}: ${done} of ${plan.totals.ops} operations done, ${skipped} skipped, ${failed} failed (${state.runs} runs).` : `Plan ${planWord} has not been applied yet (${plan.totals.ops} operations).`,
    running ? 'An apply or undo of this plan is running now (it holds the plan lock).' : finished ? 'Finished.' : `Next operation: ${next}. Run \`hashify apply ${planWord}\` to continue.`,
    ...(undo ? [`Undo: ${undo.done} of ${plan.totals.ops} paths restored or never relinked, ${undo.skipped} left alone, ${undo.failed} failed${undo.finished ? ' (finished)' : `; run \`hashify undo ${planWord}\` to retry the rest`}.`] : []),
    ...[...state.reasons].slice(0, 20).map(([op, why]) => `  op ${op} ${displayPath(paths.get(op) ?? '')}: ${kind(op)}: ${why}`),
    ...(state.reasons.size > 20 ? [`  … and ${state.reasons.size - 20} more (see --json)`] : []),
  ];
  out.result(result, () => lines);
  return 0;
}
