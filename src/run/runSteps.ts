/**
 * The one operation runner behind apply and undo: steps go to the native executor in
 * batches; each operation's outcome is journaled, counted and reported; the journal is
 * written at checkpoints after syncfs() of the roots' filesystem, so it never claims a
 * change a power cut could take back; SIGINT/SIGTERM stop between batches; a fatal errno
 * (ENOSPC, EROFS, EDQUOT, EIO) or, with --on-drift abort, the first drift stops the run.
 * Whatever happened after the last checkpoint is found again by looking at the filesystem.
 */
import type { Executor, Step, StepResult } from './executor.js';
import { S } from './executor.js';
import { decodeStep } from './stepCodec.js';
import { OP_DONE, OP_FAILED, OP_SKIPPED, type JournalRecord } from '../journal/journal.js';

/** Errors that stop the whole run: nothing else can succeed until the cause is fixed. */
export const FATAL = new Set(['ENOSPC', 'EROFS', 'EDQUOT', 'EIO', 'ENOSYS']);

/** One unit of work: a step for the executor (an object, or already encoded: src/run/stepCodec.ts;
 *  `bytes`: what a copy-in step adds to the store), or an operation the journal already settled. */
export type Unit =
  | { step: Step | Buffer; op?: number; group: number; bytes?: bigint }
  | { known: 'done' | 'skipped'; op: number };

type StepUnit = Extract<Unit, { step: unknown }>;

/** The unit's step as an object (for the callbacks, which are rare enough). */
function stepOf(u: StepUnit): Step {
  if (!Buffer.isBuffer(u.step)) return u.step;
  const s = decodeStep(u.step);
  if (u.bytes !== undefined) s.bytes = u.bytes;
  return s;
}

export interface RunOptions {
  exec: Executor;
  journal: { append(r: JournalRecord): void; checkpoint(): void };
  /** The journal's status of every operation; updated as operations finish. */
  status: Uint8Array;
  ops: number;
  abortOnDrift: boolean;
  stopRequested: () => string | undefined;
  onProgress?: (done: number, total: number) => void;
  onEvent?: (message: string) => void;
  /** The result of an operation step that moved its group's target (EMLINK), before it is
   *  journaled; `append` journals a record in order with the run's own (at its checkpoints). */
  onOpStep?: (step: Step, op: number, group: number, r: StepResult, append: (r: JournalRecord) => void) => void;
  /** A group step's result (e.g. the store entry it made); `append` as for onOpStep. */
  onGroupStep?: (step: Step, group: number, r: StepResult, append: (r: JournalRecord) => void) => void;
  batch?: number;
  checkpointEvery?: number;
  checkpointMs?: number;
}

/** What a run did, counted for this run: applied + alreadyDone + skipped + failed + notReached == ops. */
export interface RunCounts {
  ops: number;
  applied: number;
  alreadyDone: number;
  skipped: number;
  failed: number;
  notReached: number;
  bytesSaved: bigint;
  inodesFreed: number;
  stoppedBy?: string;
  fatal?: string;
  aborted?: string;
}

/**
 * Batches in flight at once (the executor queues them; each lane runs them in order), so that
 * a lane whose share of a batch was light goes on with later ones instead of waiting for the
 * other lane: with 2, the lanes had nothing to run for 0.45-0.71 s in all per apply of the
 * guests, with 4 0.18-0.43 s (HASHIFY_TIMING, 4 runs each alternating). Each one in flight
 * holds a thread of libuv's pool while it waits (4 threads unless there are more cores): a
 * checkpoint's syncfs may wait for the next batch to end, some 40 ms.
 */
export const DEPTH = 4;

export async function runSteps(units: Iterable<Unit>, o: RunOptions): Promise<RunCounts> {
  const c: RunCounts = { ops: o.ops, applied: 0, alreadyDone: 0, skipped: 0, failed: 0, notReached: 0, bytesSaved: 0n, inodesFreed: 0 };
  const size = o.batch ?? 512;
  let since = 0;
  let last = Date.now();
  // Records of outcomes since the last checkpoint: journaled once a syncfs begun after them has
  // ended (the journal never gets ahead of what is durable). The syncfs runs off the main thread,
  // so that batches go on meanwhile; one checkpoint at a time, in order.
  let held: JournalRecord[] = [];
  const append = (r: JournalRecord) => void held.push(r);
  let syncing: Promise<void> = Promise.resolve();
  let inFlight = false;
  let failure: { err: unknown } | undefined;
  const checkpoint = () => {
    const records = held;
    held = [];
    since = 0;
    last = Date.now();
    inFlight = true;
    syncing = syncing.then(async () => {
      await o.exec.syncfsAsync(0).catch(() => undefined); // not durable: re-checked on resume
      for (const r of records) o.journal.append(r);
      o.journal.checkpoint();
    });
    syncing.then(
      () => (inFlight = false),
      (err) => (failure ??= { err }),
    );
  };
  const finish = (op: number, step: Step | Buffer, r: StepResult) => {
    const path = () => JSON.stringify(o.exec.pathOf(step).toString());
    since++;
    if (r.s === S.applied || r.s === S.already) {
      append({ t: 'done', op, how: r.s === S.applied ? 'applied' : 'already' });
      o.status[op] = OP_DONE;
      if (r.s === S.applied) c.applied++;
      else c.alreadyDone++;
      if (r.freed) {
        c.bytesSaved += BigInt(r.freed);
        c.inodesFreed++;
      }
    } else if (r.s === S.drift) {
      const why = r.why ?? 'it changed';
      append({ t: 'skip', op, why });
      o.status[op] = OP_SKIPPED;
      c.skipped++;
      o.onEvent?.(`Skipped ${path()}: ${why}`);
      if (o.abortOnDrift) c.aborted = why;
    } else {
      const code = r.code ?? 'EIO';
      const why = `${r.why ?? 'failed'} (${code}, ${path()})`;
      append({ t: 'fail', op, code, why });
      o.status[op] = OP_FAILED;
      c.failed++;
      o.onEvent?.(`Operation ${op} failed: ${why}`);
      if (FATAL.has(code)) c.fatal = why;
    }
  };
  type Batch = StepUnit[];
  let batch: Batch = [];
  // Batches sent to the executor and not settled yet, oldest first: up to DEPTH, so that each
  // lane goes from one batch to the next without waiting for the other lanes or this thread.
  const sent: Array<{ units: Batch; results: Promise<StepResult[]> }> = [];
  let first = true;
  const start = () => {
    if (batch.length) sent.push({ units: batch, results: o.exec.run(batch.map((u) => u.step), o.abortOnDrift, first) });
    if (batch.length) first = false;
    batch = [];
  };
  const settle = (units: Batch, results: StepResult[]) => {
    results.forEach((r, i) => {
      const u = units[i];
      if (r.s === S.notReached) return; // the run stopped (a fatal error, an abort) before it
      if (u.op !== undefined) {
        if (r.retarget) o.onOpStep?.(stepOf(u), u.op, u.group, r, append);
        return finish(u.op, u.step, r);
      }
      o.onGroupStep?.(stepOf(u), u.group, r, append);
      if (r.s === S.drift && o.abortOnDrift) c.aborted = r.why;
      if (r.s === S.failed && FATAL.has(r.code ?? '')) c.fatal = `${r.why} (${r.code}, ${JSON.stringify(o.exec.pathOf(u.step).toString())})`;
    });
    o.onProgress?.(c.applied + c.alreadyDone + c.skipped + c.failed, c.ops);
  };
  const settleOldest = async () => {
    const ended = sent.shift()!;
    settle(ended.units, await ended.results);
  };
  const stopped = () => {
    const stop = o.stopRequested();
    if (stop) c.stoppedBy = stop;
    return Boolean(stop || c.fatal || c.aborted);
  };
  // When a batch is full it is sent (unless a signal asked to stop; after a fatal error, an
  // abort or a signal (Executor.stop) the executor starts no step of it), then, with DEPTH batches in flight, the oldest
  // one's results are awaited, journaled and, when due, checkpointed (syncfs, then the journal:
  // syncfs makes at least all of that durable) while the others run.
  const next = async (final: boolean) => {
    if (failure) throw failure.err;
    const stop = !first && stopped();
    if (!stop) start();
    while (sent.length > (stop || final ? 0 : DEPTH - 1)) await settleOldest();
    if (!inFlight && (since >= (o.checkpointEvery ?? 512) || (since > 0 && Date.now() - last >= (o.checkpointMs ?? 1000)))) checkpoint();
    await new Promise((r) => setImmediate(r)); // let SIGINT/SIGTERM handlers run
    return !stop && !c.fatal && !c.aborted;
  };
  let go = true;
  for (const u of units) {
    if ('known' in u) {
      if (u.known === 'done') c.alreadyDone++;
      else c.skipped++;
      continue;
    }
    batch.push(u);
    if (batch.length >= size && !(go = await next(false))) break;
  }
  if (go) await next(true);
  while (sent.length) await settleOldest(); // after a fatal error or an abort: not started, or stopped by the executor
  checkpoint();
  await syncing;
  c.notReached = c.ops - (c.applied + c.alreadyDone + c.skipped + c.failed);
  // A signal during the last batches stops the executor at once (Executor.stop): say so.
  if (c.notReached && !c.stoppedBy && !c.fatal && !c.aborted) c.stoppedBy = o.stopRequested();
  o.onProgress?.(c.ops - c.notReached, c.ops);
  return c;
}
