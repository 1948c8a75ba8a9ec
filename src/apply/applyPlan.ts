/**
 * Executes a validated plan, one operation at a time, idempotently:
 *
 *   1. If the path already is the target inode, the operation is done.
 *   2. Store entry (first time a group needs it): the keeper is checked, then
 *      link(keeper, entry). An entry that exists and is the keeper's inode is done.
 *   3. The target and the file are checked (identity.ts); a drifted target skips the rest
 *      of its group, a drifted file skips its operation.
 *   4. link(target, DIR/.hashify-tmp-<plan>-<op>) then rename() over the path: the path
 *      names the old file or the new link at every instant, never nothing.
 *
 * Crash cases this order survives (tested by killing a child at every step):
 *   - after link() into the store: the entry exists and is the keeper's inode → step 2 done;
 *     the keeper's ctime/nlink changed by our link are re-verified by content.
 *   - after link() to the temp name, before rename(): the temp name is ours (deterministic)
 *     and is removed when the operation runs again.
 *   - after rename(), before the journal: the path is the target inode → step 1.
 *   - torn journal write: the frame fails its checksum and is ignored.
 * The journal is written at checkpoints, after syncfs() of every filesystem touched since
 * the last one, so it never claims a change that a power cut could take back; whatever
 * happened after the last checkpoint is found again by looking at the filesystem.
 */
import { closeSync, lstatSync, unlinkSync, type BigIntStats } from 'node:fs';
import { createHash } from 'node:crypto';
import { errnoCode } from '../errors.js';
import { basenameBytes, decodePath, dirnameBytes, joinPath } from '../pathBytes.js';
import type { LinkRecord, OpenPlanLike, StoreRecord } from './types.js';
import type { TargetRecord } from '../planfile/records.js';
import { encodePath } from '../pathBytes.js';
import { parseStoreEntryPath, storeEntryPath } from '../store/storePath.js';
import { checkIdentity, type Seen } from './identity.js';
import { openProvenDir, type ApplyFs } from './applyFs.js';
import { OP_DONE, OP_FAILED, OP_SKIPPED, type JournalRecord, type JournalState } from '../journal/journal.js';
import { sameContent } from './sameContent.js';
import { setMetadata } from './setMetadata.js';

/** Errors that stop the whole run: nothing else can succeed until the cause is fixed. */
const FATAL = new Set(['ENOSPC', 'EROFS', 'EDQUOT', 'EIO']);

export interface ApplyOptions {
  fs: ApplyFs;
  journal: { append(r: JournalRecord): void; checkpoint(): void; readonly pendingRecords: number };
  state: JournalState;
  onDrift: 'skip' | 'abort';
  verifyContent: boolean;
  /** Returns the signal name when the run must stop after the current operation. */
  stopRequested: () => string | undefined;
  onProgress?: (done: number, total: number) => void;
  onEvent?: (message: string) => void;
  checkpointEvery?: number;
  checkpointMs?: number;
}

export interface ApplyCounts {
  ops: number;
  applied: number;
  alreadyDone: number;
  skipped: number;
  failed: number;
  resumedAt: number;
  bytesSaved: bigint;
  inodesFreed: number;
  stoppedBy?: string;
  fatal?: string;
  aborted?: string;
}

interface GroupState {
  group: number;
  store?: StoreRecord;
  storeReady: boolean;
  skip?: string;
  seen: Map<string, Seen>;
  /** After EMLINK on the planned target: the file that took its place for the rest of the group. */
  override?: TargetRecord;
  /** The target whose directories were checked to be in place (no symlink swapped in). */
  placed?: Buffer;
}

const inodeKey = (dev: bigint | string, ino: bigint | string) => `${dev}:${ino}`;

export async function applyPlan(plan: OpenPlanLike, opts: ApplyOptions): Promise<ApplyCounts> {
  const { fs, journal, state } = opts;
  const counts: ApplyCounts = { ops: plan.totals.ops, applied: 0, alreadyDone: 0, skipped: 0, failed: 0, resumedAt: 0, bytesSaved: 0n, inodesFreed: 0 };
  for (const s of state.status) if (s === OP_DONE || s === OP_SKIPPED) counts.resumedAt++;
  const tmpTag = createHash('sha256').update(plan.digest).digest('hex').slice(0, 12);
  const reflink = plan.header.link === 'reflink';
  let sinceCheckpoint = 0;
  let lastCheckpoint = Date.now();
  const every = opts.checkpointEvery ?? 512;
  const everyMs = opts.checkpointMs ?? 1000;

  // One directory per filesystem touched since the last checkpoint: syncfs() on it makes
  // every link and rename there durable with one journal commit.
  const touched = new Map<bigint, Buffer>();
  const madeDirs = new Set<string>();
  const checkpoint = () => {
    // The filesystem first: the journal must never get ahead of what is durable.
    for (const dir of touched.values()) {
      try {
        fs.syncFilesystem(dir);
      } catch {
        /* the directory may be gone; its operations are re-checked on resume */
      }
    }
    touched.clear();
    journal.checkpoint();
    sinceCheckpoint = 0;
    lastCheckpoint = Date.now();
  };
  const touch = (dir: Buffer, dev: bigint | string) => {
    const d = BigInt(dev);
    if (!touched.has(d)) touched.set(d, dir);
  };
  /** A resumed run may find temp names a crash left; a first run cannot. */
  const resumed = state.exists;

  let g: GroupState = { group: -1, storeReady: true, seen: new Map() };
  let finished = 0;

  const record = (op: number, r: JournalRecord, outcome: 'applied' | 'already' | 'skipped' | 'failed') => {
    journal.append(r);
    state.status[op] = outcome === 'skipped' ? OP_SKIPPED : outcome === 'failed' ? OP_FAILED : OP_DONE;
    if (outcome === 'applied') counts.applied++;
    else if (outcome === 'already') counts.alreadyDone++;
    else if (outcome === 'skipped') counts.skipped++;
    else counts.failed++;
    sinceCheckpoint++;
  };

  /** Step 2: makes sure the group's store entry exists; sets g.skip when it cannot. */
  const ensureStore = (s: StoreRecord): void => {
    const entry = decodePath(s);
    const st = fs.lstat(entry);
    if (st) {
      if (st.dev.toString() !== s.stat.dev || st.ino.toString() !== s.stat.ino) {
        g.skip = `the store entry ${JSON.stringify(entry.toString())} is another file`;
        return;
      }
      const v = checkIdentity(entry, st, s.stat, g.seen.get(inodeKey(s.stat.dev, s.stat.ino)), s);
      if (!v.ok) g.skip = `the store entry changed since planning: ${v.drift}`;
      else g.seen.set(inodeKey(st.dev, st.ino), { ctime: st.ctimeNs, nlink: Number(st.nlink) });
      g.storeReady = !g.skip;
      return;
    }
    if (!s.from) {
      g.skip = `the store entry ${JSON.stringify(entry.toString())} is gone`;
      return;
    }
    const keeper = decodePath(s.from);
    const kst = fs.lstat(keeper);
    if (!kst) {
      g.skip = `its keeper ${JSON.stringify(keeper.toString())} is gone`;
      return;
    }
    const v = checkIdentity(keeper, kst, s.stat, undefined, s);
    if (!v.ok) {
      g.skip = `its keeper ${JSON.stringify(keeper.toString())} changed since planning: ${v.drift}`;
      return;
    }
    if (!inPlace(keeper)) {
      g.skip = `a directory above its keeper ${JSON.stringify(keeper.toString())} was replaced`;
      return;
    }
    const shard = dirnameBytes(entry);
    const shardKey = shard.toString('latin1');
    if (!madeDirs.has(shardKey)) {
      fs.mkdirp(shard);
      madeDirs.add(shardKey);
    }
    try {
      fs.link(keeper, entry);
    } catch (err) {
      if (errnoCode(err) === 'ELOOP') {
        g.skip = `a directory above its keeper ${JSON.stringify(keeper.toString())} or the store entry was replaced (symlink?)`;
        return;
      }
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    touch(shard, s.stat.dev);
    const after = fs.lstat(entry);
    if (!after || after.dev.toString() !== s.stat.dev || after.ino.toString() !== s.stat.ino) {
      g.skip = `the store entry ${JSON.stringify(entry.toString())} was taken by another file`;
      return;
    }
    g.seen.set(inodeKey(after.dev, after.ino), { ctime: after.ctimeNs, nlink: Number(after.nlink) });
    g.storeReady = true;
  };

  /** No directory above `p` was swapped for a symlink since planning. */
  const inPlace = (p: Buffer): boolean => {
    const dir = dirnameBytes(p);
    try {
      return fs.realpath(dir).equals(dir);
    } catch {
      return false;
    }
  };

  /**
   * EMLINK: the target has as many links as the filesystem allows. The file of `op` (already
   * checked) becomes the target for the rest of its group: a new store entry with the next
   * free suffix, or, without a store, the new keeper. Its path keeps its inode, so the
   * operation is done. Journaled, so a resumed run follows the new target.
   */
  const retarget = (op: LinkRecord, path: Buffer): void => {
    let newTarget = path;
    if (g.store) {
      const store = decodePath(plan.header.store!);
      const parsed = parseStoreEntryPath(store, decodePath(g.store))!;
      for (let suffix = parsed.suffix + 1; ; suffix++) {
        const entry = storeEntryPath(store, parsed.integrity, suffix);
        const st = fs.lstat(entry);
        if (st && inodeKey(st.dev, st.ino) !== inodeKey(op.stat.dev, op.stat.ino)) continue;
        if (!st) fs.link(path, entry);
        touch(dirnameBytes(entry), op.stat.dev);
        newTarget = entry;
        break;
      }
    }
    g.override = { ...encodePath(newTarget), stat: op.stat, xattrs: op.xattrs };
    const now = fs.lstat(newTarget);
    if (now) g.seen.set(inodeKey(now.dev, now.ino), { ctime: now.ctimeNs, nlink: Number(now.nlink) });
    journal.append({ t: 'retarget', group: op.group, op: op.op, path: newTarget });
    record(op.op, { t: 'done', op: op.op, how: 'retarget' }, 'applied');
    opts.onEvent?.(`The target of group ${op.group} reached the link-count limit; ${JSON.stringify(newTarget.toString())} continues it`);
  };

  const runOp = (op: LinkRecord): void => {
    const path = decodePath(op);
    const planned = g.override ?? op.target;
    const target = decodePath(planned);
    const targetKey = inodeKey(planned.stat.dev, planned.stat.ino);
    const dir = dirnameBytes(path);
    const tmp = joinPath(dir, Buffer.from(`.hashify-tmp-${tmpTag}-${op.op}`));
    /** Removes a temp name of ours left by a crash; false when something else is there. */
    const clearTmp = (): boolean => {
      const leftover = fs.lstat(tmp);
      if (!leftover) return true;
      const ours = reflink ? leftover.isFile() && leftover.uid.toString() === String(op.stat.uid) : inodeKey(leftover.dev, leftover.ino) === targetKey;
      if (!ours) {
        record(op.op, { t: 'fail', op: op.op, code: 'EEXIST', why: `an unexpected file is at the temp name ${JSON.stringify(tmp.toString())}` }, 'failed');
        return false;
      }
      fs.unlink(tmp);
      return true;
    };
    if (resumed && !clearTmp()) return;

    // 1. Already done?
    const st = fs.lstat(path);
    if (st && !reflink && inodeKey(st.dev, st.ino) === targetKey) {
      record(op.op, { t: 'done', op: op.op, how: 'already' }, 'already');
      return;
    }
    if (st && reflink && inodeKey(st.dev, st.ino) !== inodeKey(op.stat.dev, op.stat.ino) && st.isFile() && st.size.toString() === op.stat.size && st.ino !== 0n) {
      // A reflink replaces the inode: a new inode with the recorded metadata is our clone.
      if (st.mtimeNs.toString() === op.stat.mtime && Number(st.mode) === op.stat.mode && Number(st.uid) === op.stat.uid) {
        record(op.op, { t: 'done', op: op.op, how: 'already' }, 'already');
        return;
      }
    }
    if (g.skip) {
      drift(op, g.skip); // reported like any drift; stops the run under --on-drift abort
      return;
    }
    // 2. Store entry.
    if (g.store && !g.storeReady) {
      try {
        ensureStore(g.store);
      } catch (err) {
        // An error linking the keeper into the store (EPERM from protected_hardlinks, EACCES,
        // ENOSPC…) fails this operation, not the whole run; the next apply retries it.
        const code = errnoCode(err) ?? 'EIO';
        const why = `cannot make its store entry: ${describeError(code, decodePath(g.store.from ?? g.store), err)}`;
        record(op.op, { t: 'fail', op: op.op, code, why }, 'failed');
        opts.onEvent?.(`Operation ${op.op} failed: ${why}`);
        if (FATAL.has(code)) counts.fatal = why;
        return;
      }
      if (g.skip) {
        drift(op, g.skip); // reported like any drift; stops the run under --on-drift abort
        return;
      }
    }
    // 3. Target, then file.
    const tst = fs.lstat(target);
    const tv = tst ? checkIdentity(target, tst, planned.stat, g.seen.get(targetKey), { integrity: op.integrity, xattrs: planned.xattrs }) : { ok: false as const, drift: 'it is gone' };
    if (!tv.ok) {
      g.skip = `its target ${JSON.stringify(target.toString())} changed since planning: ${tv.drift}`;
      drift(op, g.skip); // reported like any drift; stops the run under --on-drift abort
      return;
    }
    g.seen.set(targetKey, { ctime: tst!.ctimeNs, nlink: Number(tst!.nlink) });
    if (!g.placed?.equals(target)) {
      // The target's path must lead to the target's own directory: a directory above it swapped
      // for a symlink (to the very directory, moved out of the roots) is drift, too.
      if (!inPlace(target)) {
        g.skip = `a directory above its target ${JSON.stringify(target.toString())} was replaced (symlink?)`;
        drift(op, g.skip); // reported like any drift; stops the run under --on-drift abort
        return;
      }
      g.placed = target;
    }
    if (!st) {
      drift(op, 'it is gone');
      return;
    }
    let fd: number;
    try {
      fd = fs.openRead(path);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ELOOP' || code === 'ENOENT') drift(op, 'it was replaced since it was checked');
      else record(op.op, { t: 'fail', op: op.op, code: code ?? 'EIO', why: `cannot open it: ${(err as Error).message}` }, 'failed');
      return;
    }
    try {
      const fst = fs.fstat(fd);
      const fileKey = inodeKey(op.stat.dev, op.stat.ino);
      const v = checkIdentity(path, fst, op.stat, g.seen.get(fileKey), op);
      if (!v.ok) return drift(op, v.drift);
      if (!inPlace(path)) return drift(op, 'a directory above it was replaced (symlink?)');
      if (opts.verifyContent && !sameContent(path, target)) return drift(op, 'its bytes differ from the target (--verify-content)');
      // 4. Replace.
      const dirFd = openCheckedDir(dir);
      if (dirFd === undefined) return drift(op, 'a directory above it was replaced (symlink?)');
      try {
        const make = () => (reflink ? fs.clone(target, tmp) : fs.link(target, tmp));
        try {
          make();
        } catch (err) {
          // The temp name is taken: ours from a crash (remove it and go on), or not ours.
          if (errnoCode(err) !== 'EEXIST') throw err;
          if (!clearTmp()) return;
          make();
        }
        if (!reflink) {
          // The new name must be the target inode: not whatever its name held by the time of link().
          const made = fs.lstat(tmp);
          if (!made || inodeKey(made.dev, made.ino) !== targetKey) {
            throw Object.assign(new Error(`ELOOP: the new link ${JSON.stringify(tmp.toString())} is not its target`), { code: 'ELOOP' });
          }
        }
        if (reflink) setMetadata(tmp, op.stat, op.xattrs);
        fs.rename(tmp, path);
      } catch (err) {
        try {
          fs.unlink(tmp);
        } catch (again) {
          // The directory was swapped away after the link: remove the temp name from it.
          if (errnoCode(again) === 'ELOOP' && !reflink) removeInDir(dirFd, basenameBytes(tmp), targetKey);
        }
        throw err;
      } finally {
        if (dirFd >= 0) closeSync(dirFd);
      }
      touch(dir, op.stat.dev);
      const xafter = fs.fstat(fd);
      g.seen.set(fileKey, { ctime: xafter.ctimeNs, nlink: Number(xafter.nlink) });
      if (xafter.nlink === 0n) {
        counts.bytesSaved += xafter.size;
        counts.inodesFreed++;
      }
      if (!reflink) {
        const tafter = fs.lstat(path);
        if (tafter) g.seen.set(targetKey, { ctime: tafter.ctimeNs, nlink: Number(tafter.nlink) });
      }
      record(op.op, { t: 'done', op: op.op, how: 'applied' }, 'applied');
    } catch (err) {
      const code = errnoCode(err) ?? 'EIO';
      if (code === 'ELOOP') {
        // A directory (or the target) was swapped while it was linked: the checked directories
        // refused it (applyFs), nothing was changed anywhere else.
        const now = fs.lstat(target);
        if (!now || inodeKey(now.dev, now.ino) !== targetKey || !inPlace(target)) {
          g.skip = `its target ${JSON.stringify(target.toString())} or a directory above it was replaced while it was linked`;
          drift(op, g.skip);
        } else drift(op, 'a directory above it was replaced (symlink?) while it was linked');
        return;
      }
      if (code === 'EMLINK' && !reflink) {
        try {
          retarget(op, path);
          return;
        } catch (again) {
          err = again;
        }
      }
      const why = describeError(errnoCode(err) ?? 'EIO', path, err);
      record(op.op, { t: 'fail', op: op.op, code, why }, 'failed');
      opts.onEvent?.(`Operation ${op.op} failed: ${why}`);
      if (FATAL.has(code)) counts.fatal = why;
    } finally {
      fs.close(fd);
    }
  };

  const drift = (op: LinkRecord, why: string) => {
    record(op.op, { t: 'skip', op: op.op, why }, 'skipped');
    opts.onEvent?.(`Skipped ${JSON.stringify(decodePath(op).toString())}: ${why}`);
    if (opts.onDrift === 'abort') counts.aborted = why;
  };

  let n = 0;
  for (const rec of plan.records()) {
    if (rec.type === 'store') {
      g = { group: rec.group, store: rec, storeReady: false, seen: new Map() };
      continue;
    }
    if (rec.type !== 'link') continue;
    if (rec.group !== g.group) g = { group: rec.group, storeReady: true, seen: new Map() };
    const status = state.status[rec.op];
    const moved = state.retargets.get(rec.group);
    if (moved?.op === rec.op && status === OP_DONE) g.override = { ...encodePath(moved.path), stat: rec.stat, xattrs: rec.xattrs };
    if (status === OP_DONE) counts.alreadyDone++;
    else if (status === OP_SKIPPED) counts.skipped++;
    else runOp(rec);
    finished++;
    if (sinceCheckpoint >= every || (sinceCheckpoint > 0 && Date.now() - lastCheckpoint >= everyMs)) checkpoint();
    if (++n % 64 === 0) {
      opts.onProgress?.(finished, counts.ops);
      await new Promise((r) => setImmediate(r)); // let SIGINT/SIGTERM handlers run
    }
    const stop = opts.stopRequested();
    if (counts.fatal || counts.aborted || stop) {
      counts.stoppedBy = stop;
      break;
    }
  }
  checkpoint();
  opts.onProgress?.(finished, counts.ops);
  return counts;
}

/**
 * The directory `dir` opened when it is the directory at that path (`openProvenDir`);
 * undefined when it is not or is gone; -1 when it cannot be opened for another reason
 * (unreadable: go on without).
 */
function openCheckedDir(dir: Buffer): number | undefined {
  try {
    return openProvenDir(dir);
  } catch (err) {
    return errnoCode(err) === 'ENOENT' ? undefined : -1;
  }
}

/** Removes `name` from the open directory `dirFd` if it is the inode `key` (our temp link). */
function removeInDir(dirFd: number, name: Buffer, key: string): void {
  if (dirFd < 0) return;
  const p = Buffer.concat([Buffer.from(`/proc/self/fd/${dirFd}/`), name]);
  try {
    const st = lstatSync(p, { bigint: true });
    if (inodeKey(st.dev, st.ino) === key) unlinkSync(p);
  } catch {
    /* gone already, or no /proc */
  }
}

function describeError(code: string, path: Buffer, err: unknown): string {
  const p = JSON.stringify(path.toString());
  switch (code) {
    case 'EPERM':
      return `not permitted to link ${p} (EPERM; fs.protected_hardlinks or an immutable file?)`;
    case 'EACCES':
      return `permission denied on ${p} or its directory (EACCES)`;
    case 'EMLINK':
      return `the target of ${p} has reached the filesystem's link-count limit (EMLINK): make a new plan`;
    case 'EXDEV':
      return `${p} and its target are on different filesystems (EXDEV)`;
    case 'ENOSPC':
      return `no space left on the filesystem of ${p} (ENOSPC)`;
    case 'EDQUOT':
      return `disk quota exceeded at ${p} (EDQUOT)`;
    case 'EROFS':
      return `the filesystem of ${p} is read-only (EROFS)`;
    default:
      return `${(err as Error).message} (${p})`;
  }
}

