/**
 * What `apply` and `undo` share around a run of the executor: a stop flag that SIGINT and
 * SIGTERM set (each lane finishes the step it is in; the run checkpoints and returns), a progress line
 * with rate and ETA, and the exit code a run's counts map to (SPEC "Exit codes").
 */
import { EXIT } from '../errors.js';
import type { RunCounts } from '../run/runSteps.js';
import type { ExecStats } from '../native/addon.js';
import { formatSeconds, type Output } from './output.js';
import { dropEarlySignals } from './earlySignals.js';

/**
 * Signals that ask the run to stop after the current operation; `stopping(exec)` names the
 * executor that a signal stops at once (each lane ends the step it is in); `release()` removes
 * the handlers.
 */
export function stopOnSignals(out: Output): { stopRequested: () => string | undefined; stopping(exec: { stop(): void }): void; release(): void } {
  let stop: string | undefined;
  let exec: { stop(): void } | undefined;
  const handler = (sig: string) => () => {
    if (!stop) out.info(`\n${sig}: finishing the current operation, then stopping…`);
    stop = sig;
    exec?.stop();
  };
  const sigint = handler('SIGINT');
  const sigterm = handler('SIGTERM');
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);
  dropEarlySignals(); // after: a signal not yet dispatched then reaches this handler
  return {
    stopRequested: () => stop,
    stopping: (e) => {
      exec = e;
      if (stop) e.stop();
    },
    release: () => {
      process.off('SIGINT', sigint);
      process.off('SIGTERM', sigterm);
    },
  };
}

/** A progress callback drawing "VERB: done/total operations, N ops/s, ETA". */
export function progressOf(out: Output, verb: string): (done: number, total: number) => void {
  const started = Date.now();
  return (done, total) => {
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    out.progress(`${verb}: ${done}/${total} operations, ${rate.toFixed(0)} ops/s, ETA ${formatSeconds(rate > 0 ? (total - done) / rate : NaN)}`);
  };
}

/** The exit code of a finished or stopped run; `resume` is the command that continues it. */
export function runExitCode(counts: RunCounts, out: Output, resume: string): number {
  const again = `run \`${resume}\` again to resume`;
  if (counts.stoppedBy) {
    out.info(`Stopped by ${counts.stoppedBy} after a clean checkpoint: ${again}.`);
    return counts.stoppedBy === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
  }
  if (counts.fatal) {
    process.stderr.write(`hashify: stopped: ${counts.fatal}\nhint: fix the cause, then ${again}\n`);
    return EXIT.failure;
  }
  if (counts.aborted) {
    process.stderr.write(`hashify: aborted (--on-drift abort): ${counts.aborted}\n`);
    return EXIT.aborted;
  }
  if (counts.failed) return EXIT.failure;
  if (counts.skipped) return EXIT.drift;
  return EXIT.ok;
}

/**
 * HASHIFY_TIMING=1: one line on standard error saying where an apply or undo spent its time:
 * reading and checking the plan before the first step, and where the executor waited (a lane
 * with nothing to run; lanes waiting for the reapers, which free the replaced inodes; the end
 * waiting for the last of them). bench/apply/run.sh reads it to say what bounds apply.
 * Call after the executor is closed (its reapers' figures are complete then).
 */
export function traceRun(exec: { stats(): ExecStats }, readSeconds: number): void {
  if (!process.env.HASHIFY_TIMING) return;
  const { threads: _, ...waits } = exec.stats();
  const round = (s: number) => Number(s.toFixed(3));
  const trace = { readSeconds: round(readSeconds), ...waits, laneIdleSeconds: waits.laneIdleSeconds.map(round), reaperWaitSeconds: round(waits.reaperWaitSeconds), reaperDrainSeconds: round(waits.reaperDrainSeconds) };
  process.stderr.write(`timing: run ${JSON.stringify(trace)}\n`);
}
