/**
 * Undo: every path that this plan's apply relinked gets its own inode again. For each
 * original inode of the plan (its paths are adjacent operations):
 *
 *   - a path that is the group's target inode was relinked: the first such path gets a
 *     copy of the shared content (hashed while copied: content that changed since planning
 *     is refused) with the mode, owner, xattrs, atime and mtime the plan recorded, in a
 *     temp file beside it, renamed over it; the inode's other paths are linked to that copy,
 *     so paths that shared an inode before planning share one again;
 *   - a path that still is its original inode was never relinked: nothing to do;
 *   - a path that is neither, but matches the recorded size, mode, owner and mtime, is a
 *     copy an earlier (interrupted) undo made: done;
 *   - anything else changed since apply and is left alone, and reported.
 *
 * A store entry this plan created (linked from its keeper) is removed at the end of its
 * group when nothing but the keeper's own paths uses it any more, so the keeper's link count
 * is what it was before apply. Entries that other plans have linked to since are kept.
 *
 * Same crash safety as apply: deterministic temp names removed on resume, rename() so the
 * path always names a complete file, a journal written at checkpoints after syncfs.
 */
import type { BigIntStats } from 'node:fs';
import { createHash } from 'node:crypto';
import { errnoCode } from '../errors.js';
import { decodePath, dirnameBytes, joinPath } from '../pathBytes.js';
import type { ApplyFs } from '../apply/applyFs.js';
import type { OpenPlanLike } from '../apply/types.js';
import type { LinkRecord, StatRecord, StoreRecord } from '../planfile/records.js';
import { OP_DONE, OP_FAILED, OP_SKIPPED, type JournalRecord, type JournalState } from '../journal/journal.js';
import { fixedFieldsDrift } from '../apply/identity.js';
import { setMetadata } from '../apply/setMetadata.js';
import { copyVerified } from './copyVerified.js';

const FATAL = new Set(['ENOSPC', 'EROFS', 'EDQUOT', 'EIO']);

export interface UndoOptions {
  fs: ApplyFs;
  journal: { append(r: JournalRecord): void; checkpoint(): void };
  /** The undo journal's state. */
  state: JournalState;
  /** The apply journal's state (for targets moved after EMLINK). */
  applied: JournalState;
  stopRequested: () => string | undefined;
  onProgress?: (done: number, total: number) => void;
  onEvent?: (message: string) => void;
}

export interface UndoCounts {
  ops: number;
  restored: number;
  alreadyDone: number;
  skipped: number;
  failed: number;
  stoppedBy?: string;
  fatal?: string;
}

const key = (dev: bigint | string, ino: bigint | string) => `${dev}:${ino}`;

/** Same size, mode, owner and mtime as recorded (a restored copy, or the original). */
const looksRestored = (st: BigIntStats, rec: StatRecord) => fixedFieldsDrift(st, { ...rec, dev: st.dev.toString(), ino: st.ino.toString() }) === undefined;

export async function undoPlan(plan: OpenPlanLike, opts: UndoOptions): Promise<UndoCounts> {
  const { fs, journal, state } = opts;
  const counts: UndoCounts = { ops: plan.totals.ops, restored: 0, alreadyDone: 0, skipped: 0, failed: 0 };
  const tmpTag = createHash('sha256').update(plan.digest).digest('hex').slice(0, 12);
  const touched = new Map<bigint, Buffer>();
  let since = 0;
  let last = Date.now();
  const checkpoint = () => {
    for (const dir of touched.values()) {
      try {
        fs.syncFilesystem(dir);
      } catch {
        /* re-checked on resume */
      }
    }
    touched.clear();
    journal.checkpoint();
    since = 0;
    last = Date.now();
  };
  const record = (op: number, r: JournalRecord, outcome: 'restored' | 'already' | 'skipped' | 'failed') => {
    journal.append(r);
    state.status[op] = outcome === 'skipped' ? OP_SKIPPED : outcome === 'failed' ? OP_FAILED : OP_DONE;
    if (outcome === 'restored') counts.restored++;
    else if (outcome === 'already') counts.alreadyDone++;
    else if (outcome === 'skipped') counts.skipped++;
    else counts.failed++;
    since++;
  };

  let group = -1;
  let store: StoreRecord | undefined;
  let groupClean = true;
  /** Removes the group's store entry if this plan made it and nothing else uses it now. */
  const releaseEntry = () => {
    if (!store?.from || !groupClean) return;
    const entry = decodePath(store);
    const st = fs.lstat(entry);
    if (st && key(st.dev, st.ino) === key(store.stat.dev, store.stat.ino) && Number(st.nlink) === store.stat.nlink + 1) {
      fs.unlink(entry);
      if (!touched.has(st.dev)) touched.set(st.dev, dirnameBytes(entry));
    }
  };
  let target: { path: Buffer; key: string } | undefined;
  let inode = '';
  /** The restored inode of the current original inode, once its first path has one. */
  let copy: { path: Buffer; key: string } | undefined;

  const runOp = (op: LinkRecord): void => {
    const path = decodePath(op);
    const dir = dirnameBytes(path);
    const tmp = joinPath(dir, Buffer.from(`.hashify-tmp-${tmpTag}-u${op.op}`));
    const leftover = fs.lstat(tmp);
    if (leftover) fs.unlink(tmp); // ours: only undo makes this name
    const st = fs.lstat(path);
    if (!st) {
      record(op.op, { t: 'skip', op: op.op, why: 'it is gone' }, 'skipped');
      return;
    }
    const here = key(st.dev, st.ino);
    // Its original inode, or a copy an earlier undo made: either way its size, mode, owner
    // and mtime are the recorded ones. (The inode number alone proves nothing: once apply
    // freed the original, the filesystem may give its number to a new file.)
    if (here !== target!.key && looksRestored(st, op.stat)) {
      // Never relinked, or restored by an earlier run.
      if (!copy) copy = { path, key: here };
      record(op.op, { t: 'done', op: op.op, how: 'already' }, 'already');
      return;
    }
    if (here !== target!.key) {
      record(op.op, { t: 'skip', op: op.op, why: 'it changed since apply (it is neither the shared inode nor its own)' }, 'skipped');
      opts.onEvent?.(`Left alone ${JSON.stringify(path.toString())}: it changed since apply`);
      return;
    }
    try {
      if (copy) {
        // Another path of an inode already restored: share that inode again.
        const c = fs.lstat(copy.path);
        if (!c || key(c.dev, c.ino) !== copy.key) {
          record(op.op, { t: 'skip', op: op.op, why: `its restored sibling ${JSON.stringify(copy.path.toString())} changed` }, 'skipped');
          return;
        }
        fs.link(copy.path, tmp);
      } else {
        // The hash taken while copying is the check: the shared content must be what was planned.
        const algorithm = op.integrity.slice(0, op.integrity.indexOf('-'));
        const got = copyVerified(path, tmp, algorithm);
        if (got !== op.integrity) {
          fs.unlink(tmp);
          record(op.op, { t: 'skip', op: op.op, why: 'the shared content changed since apply (hash differs)' }, 'skipped');
          return;
        }
        setMetadata(tmp, op.stat, op.xattrs);
      }
      fs.rename(tmp, path);
      const now = fs.lstat(path)!;
      if (!copy) copy = { path, key: key(now.dev, now.ino) };
      if (!touched.has(now.dev)) touched.set(now.dev, dir);
      record(op.op, { t: 'done', op: op.op, how: 'applied' }, 'restored');
    } catch (err) {
      try {
        fs.unlink(tmp);
      } catch {
        /* not made */
      }
      const code = errnoCode(err) ?? 'EIO';
      const why = `cannot restore ${JSON.stringify(path.toString())}: ${(err as Error).message}`;
      record(op.op, { t: 'fail', op: op.op, code, why }, 'failed');
      opts.onEvent?.(why);
      if (FATAL.has(code)) counts.fatal = why;
    }
  };

  let n = 0;
  let finished = 0;
  for (const rec of plan.records()) {
    if (rec.type === 'store') {
      releaseEntry();
      store = rec;
      group = rec.group;
      groupClean = true;
      target = { path: decodePath(rec), key: key(rec.stat.dev, rec.stat.ino) };
      inode = '';
      continue;
    }
    if (rec.type !== 'link') continue;
    if (rec.group !== group) {
      releaseEntry();
      store = undefined;
      groupClean = true;
      group = rec.group;
      target = { path: decodePath(rec.target), key: key(rec.target.stat.dev, rec.target.stat.ino) };
      inode = '';
    }
    // After EMLINK the apply moved the group's target to another inode (journaled).
    const moved = opts.applied.retargets.get(group);
    if (moved && rec.op > moved.op) {
      const st = fs.lstat(moved.path);
      if (st) target = { path: moved.path, key: key(st.dev, st.ino) };
    }
    const k = key(rec.stat.dev, rec.stat.ino);
    if (k !== inode) {
      inode = k;
      copy = undefined;
    }
    const status = state.status[rec.op];
    if (status === OP_DONE) {
      counts.alreadyDone++;
      const st = fs.lstat(decodePath(rec));
      if (!copy && st) copy = { path: decodePath(rec), key: key(st.dev, st.ino) };
    } else if (status === OP_SKIPPED) counts.skipped++;
    else runOp(rec);
    finished++;
    if (since >= 512 || (since > 0 && Date.now() - last >= 1000)) checkpoint();
    if (++n % 64 === 0) {
      opts.onProgress?.(finished, counts.ops);
      await new Promise((r) => setImmediate(r));
    }
    const stop = opts.stopRequested();
    if (counts.fatal || stop) {
      counts.stoppedBy = stop;
      break;
    }
  }
  if (!counts.stoppedBy && !counts.fatal) releaseEntry();
  checkpoint();
  return counts;
}
