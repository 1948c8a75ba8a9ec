/**
 * `hashify apply PLAN`: validate everything first (schema, trailer, `--expect`, journal),
 * lock the plan and the store, then run the operations with a journal. SIGINT/SIGTERM stop
 * after the current operation with a checkpoint and a line saying how to resume.
 */
import { existsSync, lstatSync, realpathSync, statfsSync } from 'node:fs';
import { HashifyError } from '../errors.js';
import { decodePath, dirnameBytes, displayPath, fsPath, joinPath, shellWord } from '../pathBytes.js';
import { readJournal, JournalWriter } from '../journal/journal.js';
import { acquireLock, digestLockFile, planLockPath, type Lock } from '../apply/lock.js';
import { applyPlan, openForApply } from '../apply/applyPlan.js';
import { executorRoots } from '../apply/compileSteps.js';
import { mkdirs } from '../apply/mkdirs.js';
import { ensureStoreMarkerAt } from '../store/marker.js';
import { Executor } from '../run/executor.js';
import type { OpenPlan } from '../planfile/readPlan.js';
import { Output, formatBytes, type GlobalOptions } from './output.js';
import { progressOf, runExitCode, stopOnSignals, traceRun } from './runSession.js';
import { recordJournal, undoJournalOf } from '../plan/planOutput.js';

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
      throw new HashifyError('IO', `Store ${displayPath(store)} is not where the plan put it: ${displayPath(p)} is or passes through a symlink now; refused`, {
        hint: 'put the store directory back, or make a new plan',
      });
    }
    return;
  }
}

/**
 * An undone plan is not applied again: its journal says done for paths that undo gave their
 * own inodes back, which a new plan must look at afresh.
 */
function refuseAfterUndo(journalFile: string): void {
  const undoFile = undoJournalOf(journalFile);
  if (!existsSync(fsPath(undoFile))) return;
  throw new HashifyError('PLAN_HAS_JOURNAL', `This plan was undone (${displayPath(undoFile)}): applying it again is refused`, {
    hint: 'make a new plan of the same roots with `hashify plan`: it sees the tree as undo left it',
  });
}

/** Locks for a run over `plan`: the plan file's own, its digest's, then its store's. */
export function lockPlan(planFile: string, digest: string, store: Buffer | null): Lock[] {
  const locks = [acquireLock(planLockPath(planFile), `Plan ${displayPath(planFile)}`)];
  try {
    locks.push(acquireLock(digestLockFile(digest), `Plan ${digest} (another copy of ${displayPath(planFile)})`));
    if (store) {
      checkStorePath(store);
      mkdirs(store);
      locks.push(acquireLock(joinPath(store, Buffer.from('.hashify.lock')), `Store ${displayPath(store)}`));
      ensureStoreMarkerAt(store); // a new store gets its layout marker; another layout is refused (exit 2)
    }
  } catch (err) {
    locks.forEach((l) => l.release());
    throw err;
  }
  return locks;
}

/** The executor over the roots to resolve beneath, in the order the compiled steps name them (executorRoots). */
export function openExecutor(plan: OpenPlan): { exec: Executor } {
  const roots = executorRoots(plan.header);
  try {
    if (plan.header.store) mkdirs(roots[roots.length - 1]);
    return { exec: new Executor(roots) };
  } catch (err) {
    throw new HashifyError('IO', `Cannot open the plan's roots: ${(err as Error).message}`, { hint: 'a root that is gone or is a symlink now cannot be applied; make a new plan' });
  }
}

/**
 * Copy-in needs room for the largest entry in flight (FICLONE needs none, but cannot be
 * known beforehand): refused up front rather than discovered as ENOSPC halfway.
 */
function checkFreeSpace(plan: OpenPlan): void {
  const largest = plan.totals.largestCopy; // found while the plan was validated: no second read
  if (!plan.header.store || largest === 0n) return;
  const store = decodePath(plan.header.store);
  const fs = statfsSync(store, { bigint: true });
  // root may use the blocks reserved for it, and hashify runs as root over guests.
  const free = (process.getuid?.() === 0 ? fs.bfree : fs.bavail) * fs.bsize;
  if (free < largest) {
    throw new HashifyError('IO', `Not enough free space (ENOSPC) for the store entries of this plan at ${displayPath(store)}: ${free} bytes free, the largest entry needs ${largest}`, {
      hint: 'free some space (or make the plan with --adopt), then run apply again',
    });
  }
}

export async function runApply(args: ApplyArgs, out: Output): Promise<number> {
  const reading = performance.now();
  const plan = openForApply(args.plan, { expect: args.expect, verifyContent: args.verifyContent });
  const readSeconds = (performance.now() - reading) / 1000;
  const journalFile = args.journal ?? `${args.plan}.journal`;
  let locks: Lock[] = [];
  let signals: ReturnType<typeof stopOnSignals> | undefined;
  try {
    // A journal of another plan is refused before any lock is taken.
    readJournal(journalFile, plan.digest, 'apply', plan.totals.ops);
    refuseAfterUndo(journalFile);
    locks = lockPlan(args.plan, plan.digest, plan.header.store ? decodePath(plan.header.store) : null);
    refuseAfterUndo(journalFile); // again under the lock: an undo may have run meanwhile
    // `plan -o` must see this journal, so that it never writes over a plan that has one.
    if (args.journal) recordJournal(args.plan, journalFile);
    signals = stopOnSignals(out);
    // Read again under the lock: another apply may have finished meanwhile.
    const current = readJournal(journalFile, plan.digest, 'apply', plan.totals.ops);
    checkFreeSpace(plan);
    const { exec } = openExecutor(plan);
    signals.stopping(exec);
    const journal = new JournalWriter(journalFile, plan.digest, 'apply', current.valid, current.exists);
    journal.append({ t: 'run', at: new Date().toISOString(), pid: process.pid });
    const started = Date.now();
    let counts;
    try {
      counts = await applyPlan(plan, {
        exec,
        journal,
        // HASHIFY_BATCH=1 (tests): one step per crossing and a checkpoint after every operation.
        ...(Number(process.env.HASHIFY_BATCH) > 0 ? { batch: Number(process.env.HASHIFY_BATCH), checkpointEvery: Number(process.env.HASHIFY_BATCH) } : {}),
        state: current,
        onDrift: args.onDrift,
        verifyContent: args.verifyContent,
        stopRequested: signals.stopRequested,
        onProgress: progressOf(out, 'applying'),
        onEvent: (m) => out.info(m),
      });
      if (!counts.notReached && !counts.failed) journal.append({ t: 'end' });
      journal.checkpoint();
    } finally {
      journal.close();
      exec.close();
    }
    traceRun(exec, readSeconds);
    const secs = (Date.now() - started) / 1000;
    const notReached = counts.notReached;
    const result = {
      digest: plan.digest,
      ops: counts.ops,
      applied: counts.applied,
      alreadyDone: counts.alreadyDone,
      skipped: counts.skipped,
      failed: counts.failed,
      resumedAt: counts.resumedAt,
      notReached,
      bytesSaved: Number(counts.bytesSaved),
      inodesFreed: counts.inodesFreed,
      seconds: Number(secs.toFixed(3)),
    };
    out.result(result, () => [
      `${counts.applied} linked, ${counts.alreadyDone} already done, ${counts.skipped} skipped (changed since planning), ${counts.failed} failed` +
        (notReached ? `, ${notReached} not reached` : '') + ` — of ${counts.ops} operations, in ${secs.toFixed(2)}s` +
        (counts.resumedAt ? ` (resumed: ${counts.resumedAt} were finished before this run)` : ''),
      `Saved ${formatBytes(counts.bytesSaved)} (${counts.inodesFreed} inodes freed); ${counts.applied + counts.alreadyDone} paths now share ${plan.totals.groups} inodes.`,
      ...(counts.skipped ? [`Skipped operations stay skipped; a new plan picks those files up. \`hashify status ${shellWord(args.plan)}\` lists why.`] : []),
      ...(counts.failed ? [`Failed operations are retried when you run \`hashify apply ${shellWord(args.plan)}\` again (after fixing the cause).`] : []),
    ]);
    return runExitCode(counts, out, `hashify apply ${shellWord(args.plan)}`);
  } finally {
    signals?.release();
    locks.reverse().forEach((l) => l.release());
    plan.close();
  }
}
