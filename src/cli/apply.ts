/**
 * `hashify apply PLAN`: validate everything first (schema, trailer, `--expect`, journal),
 * lock the plan and the store, then run the operations with a journal. SIGINT/SIGTERM stop
 * after the current operation with a checkpoint and a line saying how to resume.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { EXIT, HashifyError } from '../errors.js';
import { openPlan } from '../planfile/readPlan.js';
import { decodePath, dirnameBytes, joinPath } from '../pathBytes.js';
import { readJournal, JournalWriter } from '../journal/journal.js';
import { acquireLock, type Lock } from '../apply/lock.js';
import { applyPlan } from '../apply/applyPlan.js';
import { mkdirs, realFs } from '../apply/applyFs.js';
import { ensureStoreMarkerAt } from '../store/marker.js';
import { Output, formatBytes, formatSeconds, type GlobalOptions } from './output.js';

export interface ApplyArgs extends GlobalOptions {
  plan: string;
  expect?: string;
  journal?: string;
  onDrift: 'skip' | 'abort';
  verifyContent: boolean;
}

/**
 * The store must be where the plan put it: plan refuses a store that is a symlink, so a
 * symlink now, there or in a directory above it, was swapped in since, and would take every
 * link (and the lock) somewhere else.
 */
function checkStorePath(store: Buffer): void {
  for (let p = store; ; p = dirnameBytes(p)) {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) {
      if (p.length > 1) continue;
      return;
    }
    const real = st.isSymbolicLink() ? undefined : realpathSync.native(p, { encoding: 'buffer' });
    if (!real?.equals(p)) {
      throw new HashifyError('IO', `Store ${JSON.stringify(store.toString())} is not where the plan put it: ${JSON.stringify(p.toString())} is or passes through a symlink now; refused`, {
        hint: 'put the store directory back, or make a new plan',
      });
    }
    return;
  }
}

/** Locks for a run over `plan`: the plan's own, then its store's. */
export function lockPlan(planFile: string, store: Buffer | null): Lock[] {
  // Named after the plan's real path: the same plan reached through a symlink meets the same lock.
  const locks = [acquireLock(`${realpathSync.native(planFile)}.lock`, `Plan ${JSON.stringify(planFile)}`)];
  try {
    if (store) {
      checkStorePath(store);
      mkdirs(store);
      locks.push(acquireLock(joinPath(store, Buffer.from('.hashify.lock')).toString(), `Store ${JSON.stringify(store.toString())}`));
      ensureStoreMarkerAt(store); // a new store gets its layout marker; another layout is refused (exit 2)
    }
  } catch (err) {
    locks.forEach((l) => l.release());
    throw err;
  }
  return locks;
}

export async function runApply(args: ApplyArgs, out: Output): Promise<number> {
  const plan = openPlan(args.plan, { expect: args.expect });
  const journalFile = args.journal ?? `${args.plan}.journal`;
  let locks: Lock[] = [];
  let stop: string | undefined;
  const onSignal = (sig: string) => () => {
    if (!stop) out.info(`\n${sig}: finishing the current operation, then stopping…`);
    stop = sig;
  };
  const sigint = onSignal('SIGINT');
  const sigterm = onSignal('SIGTERM');
  try {
    const state = readJournal(journalFile, plan.digest, 'apply', plan.totals.ops);
    locks = lockPlan(args.plan, plan.header.store ? decodePath(plan.header.store) : null);
    process.on('SIGINT', sigint);
    process.on('SIGTERM', sigterm);
    // Read again under the lock: another apply may have finished meanwhile.
    const current = readJournal(journalFile, plan.digest, 'apply', plan.totals.ops);
    const journal = new JournalWriter(journalFile, plan.digest, 'apply', current.valid, current.exists);
    void state;
    journal.append({ t: 'run', at: new Date().toISOString(), pid: process.pid });
    const started = Date.now();
    let counts;
    try {
      counts = await applyPlan(plan, {
        fs: realFs,
        journal,
        state: current,
        onDrift: args.onDrift,
        verifyContent: args.verifyContent,
        stopRequested: () => stop,
        onProgress: (done, total) => {
          const secs = (Date.now() - started) / 1000;
          const rate = secs > 0 ? done / secs : 0;
          out.progress(`applying: ${done}/${total} operations, ${rate.toFixed(0)} ops/s, ETA ${formatSeconds(rate > 0 ? (total - done) / rate : NaN)}`);
        },
        onEvent: (m) => out.info(m),
      });
      const complete = counts.applied + counts.alreadyDone + counts.skipped + counts.failed === counts.ops && !counts.failed;
      if (complete) journal.append({ t: 'end' });
      journal.checkpoint();
    } finally {
      journal.close();
    }
    const secs = (Date.now() - started) / 1000;
    const finishedNow = counts.applied + counts.alreadyDone + counts.skipped + counts.failed;
    // Operations not reached (a stop) are neither done nor failed: count them as failed
    // for this run so the sum always equals ops, and say how to resume.
    const notReached = counts.ops - finishedNow;
    const result = {
      digest: plan.digest,
      ops: counts.ops,
      applied: counts.applied,
      alreadyDone: counts.alreadyDone,
      skipped: counts.skipped,
      failed: counts.failed + notReached,
      resumedAt: counts.resumedAt,
      notReached,
      bytesSaved: Number(counts.bytesSaved),
      inodesFreed: counts.inodesFreed,
      seconds: Number(secs.toFixed(3)),
    };
    const resume = `run \`hashify apply ${args.plan}\` again to resume`;
    out.result(result, () => [
      `${counts.applied} linked, ${counts.alreadyDone} already done, ${counts.skipped} skipped (changed since planning), ${counts.failed} failed` +
        (notReached ? `, ${notReached} not reached` : '') + ` — of ${counts.ops} operations, in ${secs.toFixed(2)}s` +
        (counts.resumedAt ? ` (resumed: ${counts.resumedAt} were finished before this run)` : ''),
      `Saved ${formatBytes(counts.bytesSaved)} (${counts.inodesFreed} inodes freed); ${counts.applied + counts.alreadyDone} paths now share ${plan.totals.groups} inodes.`,
      ...(counts.skipped ? [`Skipped operations stay skipped; a new plan picks those files up. \`hashify status ${args.plan}\` lists why.`] : []),
      ...(counts.failed ? [`Failed operations are retried when you run \`hashify apply ${args.plan}\` again (after fixing the cause).`] : []),
    ]);
    if (counts.stoppedBy) {
      out.info(`Stopped by ${counts.stoppedBy} after a clean checkpoint: ${resume}.`);
      return counts.stoppedBy === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
    }
    if (counts.fatal) {
      process.stderr.write(`hashify: stopped: ${counts.fatal}\nhint: fix the cause, then ${resume}\n`);
      return EXIT.failure;
    }
    if (counts.aborted) {
      process.stderr.write(`hashify: aborted (--on-drift abort): ${counts.aborted}\n`);
      return EXIT.drift;
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
