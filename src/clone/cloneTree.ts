/**
 * `clone SRC DST`: DST is built under a temp name beside it by the native walker
 * (native/clone.c) and renamed into place last, so DST exists whole or not at all.
 *
 * Crash cases this sequence survives:
 * - killed while building: only `.DST.hashify-clone-tmp` exists; the next clone to DST takes
 *   its lock, removes it by descriptor and starts again.
 * - killed after the rename, or a power cut: DST is whole. Before the rename, everything the
 *   clone wrote is made durable, or (on a filesystem whose journal commits in order) ordered
 *   before the rename's own commit: native/clone_sync.c says which and how.
 * - another clone to the same DST is running: it holds the temp tree's lock; this one exits 4.
 */
import { closeSync, fsyncSync, fstatSync, mkdirSync, realpathSync } from 'node:fs';
import { HashifyError, errnoCode } from '../errors.js';
import { linux, type CloneProgress } from '../native/addon.js';
import { absoluteBytes, displayPath, joinPath, textOfBytes } from '../pathBytes.js';
import { isWithin } from './defaultStore.js';
import { openParent } from './openParent.js';
import { openCloneStore } from './storeInodes.js';
import { cloneTempName } from './tempName.js';

export interface CloneOptions {
  src: string;
  dst: string;
  /** The store to link from; undefined: the default one, if it exists. */
  store?: string;
  /** Entries per native batch (progress is reported between batches). */
  batch?: number;
  onProgress?: (p: CloneProgress) => void;
  /** Told when the default store does not exist (everything is then copied). */
  onNoStore?: (store: Buffer) => void;
}

export interface CloneResult extends CloneProgress {
  src: string;
  dst: string;
  store: string | null;
  seconds: number;
  /** How DST was made durable before its rename: its filesystem's journal orders it after everything the clone wrote (the copies' data waited for), or syncfs. */
  sync: 'journal' | 'syncfs';
}

/**
 * The same directory opened again with O_NOATIME, so that reading SRC's root does not move
 * its atime after the clone copied it (as its subdirectories are read); the original
 * descriptor where the flag is not allowed (not the owner, no CAP_FOWNER).
 */
function withoutAtime(fd: number): number {
  const native = linux();
  try {
    const again = native.openBeneath(fd, Buffer.from('.'), native.constants.O_DIRECTORY | native.constants.O_NOATIME);
    closeSync(fd);
    return again;
  } catch (err) {
    if (errnoCode(err) !== 'EPERM') {
      closeSync(fd);
      throw err;
    }
    return fd;
  }
}

function openSrc(src: string): { fd: number; path: Buffer } {
  const abs = absoluteBytes(src);
  try {
    const fd = withoutAtime(linux().openRoot(abs));
    return { fd, path: realpathSync.native(abs, { encoding: 'buffer' }) };
  } catch (err) {
    const code = errnoCode(err);
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' || code === 'ELOOP' ? 'is not a directory' : `cannot be opened (${code})`;
    throw new HashifyError('USAGE', `Clone source ${displayPath(src)} ${why}`);
  }
}

/**
 * Removes a temp tree a killed clone left, unless a running clone holds it (exit 4).
 * The lock is taken on the tree's own directory, so the removal never races its builder.
 */
function removeStale(parentFd: number, tmp: Buffer, dst: Buffer): void {
  const native = linux();
  const st = native.lstatAt(parentFd, tmp);
  if (!st) return;
  if ((st.mode & 0o170000) === 0o040000) {
    const fd = native.openBeneath(parentFd, tmp, native.constants.O_DIRECTORY);
    try {
      if (!native.tryLock(fd)) throw new HashifyError('LOCKED', `Another clone to ${displayPath(dst)} is running (it holds ${displayPath(tmp)})`);
      native.removeTree(parentFd, tmp);
    } finally {
      closeSync(fd);
    }
  } else {
    native.removeTree(parentFd, tmp);
  }
}

/** Clones SRC to DST (see the file comment); throws HashifyError for every refusal. */
export function cloneTree(opts: CloneOptions): CloneResult {
  const started = process.hrtime.bigint();
  const phase = phases();
  const native = linux();
  const src = openSrc(opts.src);
  const fds: number[] = [src.fd];
  let srcOwned = true;
  try {
    const dst = openParent(opts.dst, 'Clone destination');
    fds.push(dst.fd);
    if (native.lstatAt(dst.fd, dst.name)) throw new HashifyError('EXISTS', `Clone destination ${displayPath(dst.path)} already exists`, { hint: 'clone makes a new tree; remove it or choose another name' });
    if (isWithin(dst.path, src.path)) throw new HashifyError('USAGE', `Clone destination ${displayPath(dst.path)} is inside the source ${displayPath(src.path)}`);

    const tmp = cloneTempName(dst.name);
    removeStale(dst.fd, tmp, dst.path);
    mkdirSync(joinPath(dst.parent, tmp), { mode: 0o700 });
    const tmpFd = native.openBeneath(dst.fd, tmp, native.constants.O_DIRECTORY);
    fds.push(tmpFd);
    const now = native.lstatAt(dst.fd, tmp);
    if (!native.tryLock(tmpFd) || !now || now.ino !== fstatSync(tmpFd, { bigint: true }).ino) {
      throw new HashifyError('LOCKED', `Another clone to ${displayPath(dst.path)} is running`);
    }

    phase('temp tree made');
    let finished = false;
    try {
      const store = openCloneStore(opts.store, src.path, dst.path, opts.onNoStore);
      phase('store listed');
      srcOwned = false; // cloneStart owns src, a duplicate of the temp root and the store from here
      const handle = native.cloneStart(src.fd, dupFd(tmpFd), store.fd, store.entries);
      let progress: CloneProgress;
      do {
        try {
          progress = native.cloneStep(handle, opts.batch ?? 4096);
        } catch (err) {
          const where = (err as { path?: Buffer }).path;
          throw new HashifyError('IO', `Cannot clone ${displayPath(where ? joinPath(src.path, where) : src.path)}: ${(err as Error).message}`, { cause: err });
        }
        opts.onProgress?.(progress);
      } while (!progress.done);
      phase('tree walked');

      const sync = native.cloneSync(handle);
      phase(`synced (${sync})`);
      try {
        native.renameAt2(dst.fd, tmp, dst.fd, dst.name, native.constants.RENAME_NOREPLACE);
      } catch (err) {
        if (errnoCode(err) === 'EEXIST') throw new HashifyError('EXISTS', `Clone destination ${displayPath(dst.path)} appeared while cloning`);
        throw err;
      }
      finished = true;
      fsyncSync(dst.fd);
      phase('renamed into place');
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      return { ...progress, src: textOfBytes(src.path), dst: textOfBytes(dst.path), store: store.path ? textOfBytes(store.path) : null, seconds, sync };
    } finally {
      if (!finished) {
        try {
          native.removeTree(dst.fd, tmp);
        } catch {
          // the error that stopped the clone is the one to report; the next clone removes it
        }
      }
    }
  } finally {
    for (const fd of srcOwned ? fds : fds.slice(1)) closeSync(fd);
  }
}

/** The temp root once more (Node has no dup): the walker owns and closes its own descriptor. */
function dupFd(fd: number): number {
  return linux().openBeneath(fd, Buffer.from('.'), linux().constants.O_DIRECTORY);
}

/** HASHIFY_TIMING=1: each phase's duration on stderr. */
function phases(): (name: string) => void {
  let last = process.hrtime.bigint();
  if (process.env.HASHIFY_TIMING) process.stderr.write(`clone: started ${performance.now().toFixed(1)} ms after the process (Node, modules, checks)\n`);
  return (name) => {
    if (!process.env.HASHIFY_TIMING) return;
    const now = process.hrtime.bigint();
    process.stderr.write(`clone: ${name} in ${(Number(now - last) / 1e6).toFixed(1)} ms\n`);
    last = now;
  };
}
