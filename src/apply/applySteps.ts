/**
 * A plan's records as executor steps, in plan order. Each group begins with its target
 * step, sent only when one of its operations still needs work:
 *   - a store entry to copy in (`keeper`): the checked keeper's bytes go into a new inode
 *     in the store, hashed from that inode and named only when they match;
 *   - an existing store entry, or (`--no-store`, reflink) the keeper: checked and held open;
 *   - an adopted keeper (`plan --adopt`): checked, held, and linked into the store.
 * Then one replace step per operation (temp link or clone, exchange, check, unlink).
 * Every step of a group goes to the lane (thread) its content's digest picks: groups of one
 * content (and so the store names NAME, NAME-1, … and every inode they touch) share a lane,
 * and the lanes' results are exactly those of one thread.
 */
import { createHash } from 'node:crypto';
import { decodePath } from '../pathBytes.js';
import { OP_DONE, OP_SKIPPED, type JournalState } from '../journal/journal.js';
import { EXP, K, digestOf, encodeExpect, encodeXattrs, type Executor, type Step } from '../run/executor.js';
import type { Unit } from '../run/runSteps.js';
import type { LinkRecord, StoreRecord } from '../planfile/records.js';
import type { OpenPlanLike } from './types.js';
import type { LinkMethod } from './linkMethod.js';

export interface StepOptions {
  exec: Executor;
  storeRoot: number;
  method: LinkMethod;
  verifyContent: boolean;
  state: JournalState;
  /** Threads the executor runs the steps on: a group goes to the lane of its content. */
  lanes: number;
}

/** The deterministic temp name tag of a plan (a resumed run knows its own leftovers). */
export function tmpTag(digest: string): string {
  return createHash('sha256').update(digest).digest('hex').slice(0, 12);
}

function placeOf(exec: Executor, rec: { path: string; path64?: string }) {
  const p = exec.place(decodePath(rec));
  if (!p) throw new Error(`${JSON.stringify(rec.path)} is in none of the plan's roots`);
  return p;
}

/** The target step of a group (see the file comment). */
function targetStep(o: StepOptions, store: StoreRecord | undefined, first: LinkRecord): Step {
  const { g, a } = digestOf(first.integrity);
  if (store?.keeper) {
    const s = placeOf(o.exec, store);
    return {
      k: K.copyIn, ...placeOf(o.exec, store.keeper), e: encodeExpect(store.keeper.stat, EXP.inode), g, a,
      x: encodeXattrs(store.keeper.xattrs), sr: s.r, sd: s.d, sn: s.n, bytes: BigInt(store.keeper.stat.size),
    };
  }
  if (store?.from) {
    const s = placeOf(o.exec, store);
    return { k: K.target, ...placeOf(o.exec, store.from), e: encodeExpect(store.stat!, EXP.inode), g, a, x: encodeXattrs(store.xattrs), lease: 1, sr: s.r, sd: s.d, sn: s.n };
  }
  const t = store ?? first.target;
  return { k: K.target, ...placeOf(o.exec, t), e: encodeExpect(t.stat!, EXP.inode), g, a, x: encodeXattrs(t.xattrs), lease: store ? 0 : o.method.targetFlags };
}

export function* applySteps(plan: OpenPlanLike, o: StepOptions): Generator<Unit> {
  const tag = tmpTag(plan.digest);
  let store: StoreRecord | undefined;
  let group = -1;
  let targetSent = false;
  /** The group's entry place, for EMLINK: further entries are NAME-1, NAME-2, … */
  let entry: { sr: number; sd: Buffer; sn: Buffer } | undefined;
  /** No store, after EMLINK in an earlier run: the op whose inode continues the group. */
  let moved: { op: number; stat?: LinkRecord['stat']; sent: boolean } | undefined;
  for (const rec of plan.records()) {
    if (rec.type === 'store') {
      store = rec;
      group = rec.group;
      targetSent = false;
      const s = placeOf(o.exec, rec);
      entry = o.method.name === 'hardlink' ? { sr: s.r, sd: s.d, sn: Buffer.from(s.n.toString('latin1').replace(/-[0-9]+$/, ''), 'latin1') } : undefined;
      moved = undefined;
      continue;
    }
    if (rec.type !== 'link') continue;
    if (rec.group !== group) {
      store = undefined;
      entry = undefined;
      group = rec.group;
      targetSent = false;
      const r = o.state.retargets.get(group);
      moved = r && { op: r.op, sent: false };
    }
    if (moved?.op === rec.op) moved.stat = rec.stat;
    const status = o.state.status[rec.op];
    if (status === OP_DONE || status === OP_SKIPPED) {
      yield { known: status === OP_DONE ? 'done' : 'skipped', op: rec.op };
      continue;
    }
    if (!targetSent) {
      const step = targetStep(o, store, rec);
      step.l = step.g![0] % o.lanes;
      yield { step, group };
      targetSent = true;
    }
    if (moved && rec.op > moved.op && !moved.sent && moved.stat) {
      const { g, a } = digestOf(rec.integrity);
      const path = o.state.retargets.get(group)!.path;
      const p = o.exec.place(path);
      if (p) yield { step: { k: K.target, l: g[0] % o.lanes, ...p, e: encodeExpect(moved.stat, EXP.inode), g, a, x: encodeXattrs(rec.xattrs) }, group };
      moved.sent = true;
    }
    const { g, a } = digestOf(rec.integrity);
    yield {
      op: rec.op,
      group,
      step: {
        k: o.method.replaceKind, l: g[0] % o.lanes, ...placeOf(o.exec, rec), t: Buffer.from(`.hashify-tmp-${tag}-${rec.op}`),
        e: encodeExpect(rec.stat, EXP.inode | (o.verifyContent ? EXP.content : 0)), g, a, x: encodeXattrs(rec.xattrs),
        ...(entry ?? {}),
      },
    };
  }
}
