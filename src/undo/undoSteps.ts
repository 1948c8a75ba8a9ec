/**
 * Undo's steps, in plan order. Each group's target (the inode its paths were relinked to:
 * the store entry, or the keeper) is checked and held; each operation then restores its
 * path from that descriptor: a copy (holes kept, or a clone) in an O_TMPFILE in the path's
 * own directory, hashed, given the recorded metadata, linked and exchanged with the path,
 * and only if the path still is the shared inode. Further paths of one original inode get
 * links to its restored copy, so hard-link sets come back. A store entry this plan made is
 * removed at its group's end when nothing else uses it. Every run retries every path not
 * yet restored: a skip is never final. As in apply, every step of a group goes to the lane
 * (thread) its content's digest picks: the groups of one content, and so every inode they
 * touch, share a lane, and the result is that of a run on one thread.
 */
import { OP_DONE, type JournalState } from '../journal/journal.js';
import { EXP, K, digestOf, encodeExpect, encodeXattrs, laneOf, placeOfRecord, type Executor, type Step } from '../run/executor.js';
import type { Unit } from '../run/runSteps.js';
import type { LinkRecord, StoreRecord } from '../planfile/records.js';
import type { OpenPlanLike } from '../apply/types.js';
import { tmpTag } from '../apply/applySteps.js';

type Digest = ReturnType<typeof digestOf>;

/** The group's shared inode, of content `digest`: checked by its fixed fields (its bytes are hashed as they are copied). */
function targetStep(exec: Executor, store: StoreRecord | undefined, first: LinkRecord, applied: JournalState, { g, a }: Digest): Step {
  const made = store ? applied.entries.get(store.group) : undefined;
  const stat = store?.stat ?? store?.keeper?.stat ?? first.target.stat;
  const xattrs = store ? (store.keeper ? store.keeper.xattrs : store.xattrs) : first.target.xattrs;
  // A copied-in entry's inode is the journaled one (any, if a crash lost that record).
  const flags = EXP.noContent | (store?.keeper && !made ? 0 : EXP.inode);
  return { k: K.target, ...placeOfRecord(exec, store ?? first.target), e: encodeExpect(stat, flags, made ?? {}), g, a, x: encodeXattrs(xattrs) };
}

export function* undoSteps(plan: OpenPlanLike, exec: Executor, applied: JournalState, lanes = 1): Generator<Unit> {
  const tag = tmpTag(plan.digest);
  let l = 0; // the lane of the current group's content
  const reflink = plan.header.link === 'reflink';
  let store: StoreRecord | undefined;
  let group = -1;
  let started = false;
  let pending: LinkRecord[] = [];
  let pendingInode = '';
  const release = function* (): Generator<Unit> {
    // Only an entry this plan made: a copy (one link left) or an adopted keeper (its own links + this one).
    if (store && started && (store.keeper || store.from)) {
      const nlink = store.keeper ? 1 : store.stat!.nlink + 1;
      yield { step: { k: K.release, l, ...placeOfRecord(exec, store), e: releaseExpect(store, nlink) }, group };
    }
  };
  for (const rec of plan.records()) {
    if (rec.type === 'store') {
      yield* flush();
      yield* release();
      store = rec;
      group = rec.group;
      started = false;
      continue;
    }
    if (rec.type !== 'link') continue;
    if (rec.group !== group) {
      yield* flush();
      yield* release();
      store = undefined;
      group = rec.group;
      started = false;
    }
    if (!started) {
      const digest = digestOf(rec.integrity);
      l = laneOf(digest.g, lanes);
      yield { step: { ...(reflink ? { k: K.end, r: 0, d: Buffer.alloc(0), n: Buffer.alloc(0) } : targetStep(exec, store, rec, applied, digest)), l }, group };
      started = true;
    }
    // The paths of one original inode are adjacent: probe them all for the original inode
    // first, so that paths apply relinked are linked back to it rather than copied.
    const inode = `${rec.stat.dev}:${rec.stat.ino}`;
    if (inode !== pendingInode) yield* flush();
    pendingInode = inode;
    pending.push(rec);
  }
  yield* flush();
  yield* release();

  function* flush(): Generator<Unit> {
    if (pending.length > 1) for (const rec of pending) yield { step: { k: K.sibling, l, ...placeOfRecord(exec, rec), e: encodeExpect(rec.stat, 0) }, group: rec.group };
    for (const rec of pending) {
      const { g, a } = digestOf(rec.integrity);
      const notApplied = applied.status[rec.op] !== OP_DONE ? EXP.notApplied : 0;
      yield {
        op: rec.op,
        group: rec.group,
        step: { k: K.restore, l, ...placeOfRecord(exec, rec), t: Buffer.from(`.hashify-tmp-${tag}-u${rec.op}`), t2: Buffer.from(`.hashify-tmp-${tag}-${rec.op}`), e: encodeExpect(rec.stat, notApplied), g, a, x: encodeXattrs(rec.xattrs) },
      };
    }
    pending = [];
  }
}

/** The release step's expectation: only the link count is read (the inode is the held target). */
function releaseExpect(store: StoreRecord, nlink: number): Buffer {
  return encodeExpect({ ...(store.stat ?? store.keeper!.stat), nlink }, 0);
}
