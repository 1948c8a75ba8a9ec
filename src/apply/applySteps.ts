/**
 * The compiled steps of a plan (src/apply/compileSteps.ts) read back as the runner's units,
 * in plan order, with what depends on this run settled: operations the journal shows
 * finished are not sent; a group's target step is sent only when one of its operations
 * still needs work; temp names get the plan's tag; every step of a group goes to the lane
 * (thread) its content's digest picks, so that groups of one content (and so the store names
 * NAME, NAME-1, … and every inode they touch) share a lane, and the lanes' results are
 * exactly those of one thread. Without a store, a group whose target moved to an
 * operation's own inode in an earlier run (EMLINK, journaled `retarget`) continues on it.
 */
import { createHash } from 'node:crypto';
import { OP_DONE, OP_SKIPPED, type JournalState } from '../journal/journal.js';
import { EXP, K, laneOf, type Executor } from '../run/executor.js';
import { decodeStep, encodeStep, fieldOf } from '../run/stepCodec.js';
import type { Unit } from '../run/runSteps.js';
import { TMP_PREFIX, UNIT_HEAD, U_TARGET, type StepCompiler } from './compileSteps.js';

export interface StepOptions {
  exec: Executor;
  state: JournalState;
  /** Threads the executor runs the steps on: a group goes to the lane of its content. */
  lanes: number;
}

/** The deterministic temp name tag of a plan (a resumed run knows its own leftovers). */
export function tmpTag(digest: string): string {
  return createHash('sha256').update(digest).digest('hex').slice(0, 12);
}

/** The step's lane, from the first byte of its content's digest. */
function setLane(step: Buffer, lanes: number): void {
  const g = fieldOf(step, 'g');
  step[1] = laneOf(step.subarray(g.at, g.at + g.length), lanes);
}

/** The retarget step: the group continues on the inode at `path`, checked as the one `moved` recorded. */
function movedTarget(o: StepOptions, path: Buffer, movedStep: Buffer, current: Buffer): Buffer | undefined {
  const p = o.exec.place(path);
  if (!p) return undefined;
  const was = decodeStep(movedStep);
  const now = decodeStep(current);
  // The moved operation's recorded identity, expected as an inode (its own flags dropped).
  const fields = was.e!.toString('latin1').split(' ');
  fields[fields.length - 1] = String(EXP.inode);
  return encodeStep({ k: K.target, l: now.l, ...p, e: Buffer.from(fields.join(' '), 'latin1'), g: now.g, a: now.a, x: now.x });
}

export function* applySteps(compiled: StepCompiler, digest: string, o: StepOptions): Generator<Unit> {
  const tag = Buffer.from(tmpTag(digest), 'latin1');
  let target: { step: Buffer; group: number; bytes: bigint } | undefined;
  let targetSent = false;
  let moved: { op: number; path: Buffer; step?: Buffer; sent: boolean } | undefined;
  for (const chunk of compiled.spill.read()) {
    for (let at = 0; at < chunk.length; ) {
      const len = chunk.readUInt32LE(at);
      const kind = chunk.readUInt32LE(at + 4);
      const op = chunk.readInt32LE(at + 8);
      const group = chunk.readInt32LE(at + 12);
      const step = chunk.subarray(at + UNIT_HEAD, at + UNIT_HEAD + len);
      if (kind === U_TARGET) {
        target = { step, group, bytes: chunk.readBigUInt64LE(at + 16) };
        targetSent = false;
        const r = o.state.retargets.get(group);
        moved = r && { op: r.op, path: r.path, sent: false };
      }
      at += UNIT_HEAD + len;
      if (kind === U_TARGET) continue;
      setLane(step, o.lanes);
      if (moved?.op === op) moved.step = step;
      const status = o.state.status[op];
      if (status === OP_DONE || status === OP_SKIPPED) {
        yield { known: status === OP_DONE ? 'done' : 'skipped', op };
        continue;
      }
      if (!targetSent && target) {
        setLane(target.step, o.lanes);
        yield { step: target.step, group, ...(target.bytes ? { bytes: target.bytes } : {}) };
        targetSent = true;
      }
      if (moved && op > moved.op && !moved.sent && moved.step) {
        const t = movedTarget(o, moved.path, moved.step, step);
        if (t) yield { step: t, group };
        moved.sent = true;
      }
      const t = fieldOf(step, 't');
      tag.copy(step, t.at + TMP_PREFIX.length);
      yield { op, group, step };
    }
  }
}
