/** `hashify undo PLAN`: give every path the plan's apply relinked its own inode again. */
import { openPlan } from '../planfile/readPlan.js';
import { decodePath, displayPath, encodePath, shellWord, textOfBytes } from '../pathBytes.js';
import { readJournal, JournalWriter } from '../journal/journal.js';
import { undoJournalOf } from '../plan/planOutput.js';
import { undoPlan } from '../undo/undoPlan.js';
import { lockPlan, openExecutor } from './apply.js';
import type { Lock } from '../apply/lock.js';
import type { Output, GlobalOptions } from './output.js';
import { progressOf, runExitCode, stopOnSignals, traceRun } from './runSession.js';

export interface UndoArgs extends GlobalOptions {
  plan: string;
  journal?: string;
}

/** Without its apply's journal a plan has nothing to undo; and no undo journal, which would refuse its apply. */
function neverApplied(args: UndoArgs, plan: { digest: string; totals: { ops: number } }, applyJournal: string, out: Output): number {
  const ops = plan.totals.ops;
  out.result({ digest: plan.digest, ops, restored: 0, alreadyDone: ops, skipped: 0, failed: 0, notReached: 0, removedEntries: [] }, () => [
    `This plan was never applied (no journal ${displayPath(applyJournal)}): nothing to undo.` +
      (args.journal ? '' : ' If its apply was given --journal FILE, give undo the same.'),
  ]);
  return 0;
}

export async function runUndo(args: UndoArgs, out: Output): Promise<number> {
  const reading = performance.now();
  const plan = openPlan(args.plan);
  const readSeconds = (performance.now() - reading) / 1000;
  const applyJournal = args.journal ?? `${args.plan}.journal`;
  const undoJournal = undoJournalOf(applyJournal);
  let locks: Lock[] = [];
  let signals: ReturnType<typeof stopOnSignals> | undefined;
  try {
    let applied = readJournal(applyJournal, plan.digest, 'apply', plan.totals.ops);
    locks = lockPlan(args.plan, plan.digest, plan.header.store ? decodePath(plan.header.store) : null);
    if (!applied.exists) {
      // Read again under the lock: an apply may have run meanwhile.
      applied = readJournal(applyJournal, plan.digest, 'apply', plan.totals.ops);
      if (!applied.exists) return neverApplied(args, plan, applyJournal, out);
    }
    signals = stopOnSignals(out);
    const state = readJournal(undoJournal, plan.digest, 'undo', plan.totals.ops);
    const { exec } = openExecutor(plan);
    signals.stopping(exec);
    const journal = new JournalWriter(undoJournal, plan.digest, 'undo', state.valid, state.exists);
    journal.append({ t: 'run', at: new Date().toISOString(), pid: process.pid });
    let counts;
    try {
      counts = await undoPlan(plan, {
        exec,
        journal,
        state,
        applied,
        stopRequested: signals.stopRequested,
        onProgress: progressOf(out, 'undoing'),
        onEvent: (m) => out.info(m),
      });
      journal.checkpoint();
    } finally {
      journal.close();
      exec.close();
    }
    traceRun(exec, readSeconds);
    const notReached = counts.notReached;
    const removed = counts.removedEntries;
    out.result(
      {
        digest: plan.digest,
        ops: counts.ops,
        restored: counts.applied,
        alreadyDone: counts.alreadyDone,
        skipped: counts.skipped,
        failed: counts.failed,
        notReached,
        removedEntries: removed.map((p) => encodePath(p)),
      },
      () => [
        `${counts.applied} paths restored to their own inode, ${counts.alreadyDone} already independent, ${counts.skipped} left alone (changed since apply), ${counts.failed} failed` +
          (notReached ? `, ${notReached} not reached` : '') + ` — of ${counts.ops}.`,
        ...(removed.length ? [`Removed ${removed.length} store ${removed.length === 1 ? 'entry' : 'entries'} this plan made:`, ...removed.map((p) => `  ${displayPath(p)}`)] : []),
        ...(plan.header.store ? [`Entries that other plans made and no file uses any more are removed by \`hashify gc ${shellWord(textOfBytes(decodePath(plan.header.store)))}\`.`] : []),
      ],
    );
    return runExitCode(counts, out, `hashify undo ${shellWord(args.plan)}`);
  } finally {
    signals?.release();
    locks.reverse().forEach((l) => l.release());
    plan.close();
  }
}
