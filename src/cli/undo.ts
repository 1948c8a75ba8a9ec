/** `hashify undo PLAN`: give every path the plan's apply relinked its own inode again. */
import { EXIT } from '../errors.js';
import { openPlan } from '../planfile/readPlan.js';
import { decodePath } from '../pathBytes.js';
import { readJournal, JournalWriter } from '../journal/journal.js';
import { undoPlan } from '../undo/undoPlan.js';
import { lockPlan, openExecutor } from './apply.js';
import type { Lock } from '../apply/lock.js';
import { Output, formatSeconds, type GlobalOptions } from './output.js';

export interface UndoArgs extends GlobalOptions {
  plan: string;
  journal?: string;
}

export async function runUndo(args: UndoArgs, out: Output): Promise<number> {
  const plan = openPlan(args.plan);
  const applyJournal = args.journal ?? `${args.plan}.journal`;
  const undoJournal = `${applyJournal.replace(/\.journal$/, '')}.undo.journal`;
  let locks: Lock[] = [];
  let stop: string | undefined;
  const handler = (sig: string) => () => {
    if (!stop) out.info(`\n${sig}: finishing the current operation, then stopping…`);
    stop = sig;
  };
  const sigint = handler('SIGINT');
  const sigterm = handler('SIGTERM');
  try {
    const applied = readJournal(applyJournal, plan.digest, 'apply', plan.totals.ops);
    locks = lockPlan(args.plan, plan.header.store ? decodePath(plan.header.store) : null);
    process.on('SIGINT', sigint);
    process.on('SIGTERM', sigterm);
    const state = readJournal(undoJournal, plan.digest, 'undo', plan.totals.ops);
    const { exec } = openExecutor(plan);
    const journal = new JournalWriter(undoJournal, plan.digest, 'undo', state.valid, state.exists);
    journal.append({ t: 'run', at: new Date().toISOString(), pid: process.pid });
    const started = Date.now();
    let counts;
    try {
      counts = await undoPlan(plan, {
        exec,
        journal,
        state,
        applied,
        stopRequested: () => stop,
        onProgress: (done, total) => {
          const secs = (Date.now() - started) / 1000;
          const rate = secs > 0 ? done / secs : 0;
          out.progress(`undoing: ${done}/${total} operations, ETA ${formatSeconds(rate > 0 ? (total - done) / rate : NaN)}`);
        },
        onEvent: (m) => out.info(m),
      });
      journal.checkpoint();
    } finally {
      journal.close();
      exec.close();
    }
    const notReached = counts.notReached;
    out.result(
      { digest: plan.digest, ops: counts.ops, restored: counts.applied, alreadyDone: counts.alreadyDone, skipped: counts.skipped, failed: counts.failed, notReached },
      () => [
        `${counts.applied} paths restored to their own inode, ${counts.alreadyDone} already independent, ${counts.skipped} left alone (changed since apply), ${counts.failed} failed` +
          (notReached ? `, ${notReached} not reached` : '') + ` — of ${counts.ops}.`,
        ...(counts.applied && plan.header.store ? [`Store entries this plan made are removed; others no file uses any more: \`hashify gc ${decodePath(plan.header.store).toString()}\`.`] : []),
      ],
    );
    const resume = `run \`hashify undo ${args.plan}\` again to resume`;
    if (counts.stoppedBy) {
      out.info(`Stopped by ${counts.stoppedBy} after a clean checkpoint: ${resume}.`);
      return counts.stoppedBy === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
    }
    if (counts.fatal) {
      process.stderr.write(`hashify: stopped: ${counts.fatal}\nhint: fix the cause, then ${resume}\n`);
      return EXIT.failure;
    }
    if (counts.failed) return EXIT.failure;
    if (counts.skipped) return EXIT.drift;
    return EXIT.ok;
  } finally {
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
    locks.reverse().forEach((l) => l.release());
    plan.close();
  }
}
