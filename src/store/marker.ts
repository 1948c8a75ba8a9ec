/**
 * The store's marker: `hashify-store.json` in the store's root says "this directory is a
 * hashify store, of layout 2" (one shard level, see storePath.ts), as cacache keeps its
 * format version in its layout. Commands that remove or trust what is in a store (gc, fsck,
 * apply, undo, plan's lookup) refuse a directory without it or with another layout, so
 * `gc /` or `gc` of a store written by an older hashify never touches anything.
 *
 * `ensureStoreMarker` stamps a new store: only a directory holding nothing but hashify's
 * lock files, or nothing but entries of this layout, gets a marker, so an older store (its
 * shards hold directories) or an unrelated directory is never adopted.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { HashifyError, errnoCode } from '../errors.js';
import { linux } from '../native/addon.js';
import { absoluteBytes, displayPath } from '../pathBytes.js';
import { SHARD_NAME, STORE_MARKER, isStoreAlgorithm, isStoreBookkeeping } from './storePath.js';
import { listEntries } from './listEntries.js';
import { packedRows } from './packedRows.js';

/** The layout this version reads and writes. Layout 1 (no marker) had `sha256/ab/cd/<rest>`. */
export const STORE_LAYOUT = 2;
export { STORE_MARKER, isStoreBookkeeping };
const MARKER_TEXT = JSON.stringify({ kind: 'hashify-store', layout: STORE_LAYOUT }) + '\n';
const MARKER_MAX = 4096;

const quote = (p: Buffer | string) => displayPath(p);

/** What the marker in the directory at `fd` says: its layout, or 'absent'. Throws STORE_INVALID on a marker that is not hashify's. */
function readMarker(fd: number, where: Buffer | string): number | 'absent' {
  const addon = linux();
  let mfd: number;
  try {
    mfd = addon.openBeneath(fd, Buffer.from(STORE_MARKER), addon.constants.O_NOFOLLOW);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'absent';
    if (errnoCode(err) === 'ELOOP') throw new HashifyError('STORE_INVALID', `The marker of store ${quote(where)} is a symlink: not a hashify store`);
    throw err;
  }
  try {
    if (!fstatSync(mfd).isFile()) throw new HashifyError('STORE_INVALID', `The marker of store ${quote(where)} is not a regular file`);
    const buf = Buffer.alloc(MARKER_MAX);
    const n = readSync(mfd, buf, 0, MARKER_MAX, 0);
    let parsed: unknown;
    try {
      parsed = JSON.parse(buf.subarray(0, n).toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const m = parsed as { kind?: unknown; layout?: unknown } | undefined;
    if (!m || m.kind !== 'hashify-store' || typeof m.layout !== 'number') {
      throw new HashifyError('STORE_INVALID', `${quote(where)} has a ${STORE_MARKER} that hashify did not write`);
    }
    return m.layout;
  } finally {
    closeSync(mfd);
  }
}

/** Why a directory without a marker is not a store this version may use, as an error. */
function unmarked(fd: number, where: Buffer | string, names: string[]): HashifyError {
  const addon = linux();
  const algorithms = names.filter(isStoreAlgorithm);
  // Layout 1: shards two levels deep (`sha256/ab/cd/<rest>`).
  let twoLevels = false;
  for (const a of algorithms) {
    let afd: number | undefined;
    try {
      afd = addon.openBeneath(fd, Buffer.from(a), addon.constants.O_DIRECTORY);
      for (const { name, kind } of packedRows(addon.listPackedAt(afd))) {
        if (kind !== 2 || !SHARD_NAME.test(name.toString('latin1'))) continue;
        const sfd = addon.openBeneath(afd, name, addon.constants.O_DIRECTORY);
        try {
          twoLevels = packedRows(addon.listPackedAt(sfd)).some((r) => r.kind === 2 && SHARD_NAME.test(r.name.toString('latin1')));
        } finally {
          closeSync(sfd);
        }
        break;
      }
    } catch {
      /* unreadable or a symlink: not evidence of layout 1 */
    } finally {
      if (afd !== undefined) closeSync(afd);
    }
    if (twoLevels) break;
  }
  if (twoLevels || algorithms.length) {
    return new HashifyError('STORE_INVALID', `Store ${quote(where)} was made by an older hashify (${twoLevels ? 'two shard levels, sha256/ab/cd/…' : 'no layout marker'}); this version reads only layout ${STORE_LAYOUT} (${STORE_MARKER})`, {
      hint: 'undo the plans applied with it using the hashify version that applied them; or run that version\'s gc, then plan again with a new --store (and gc the old store with the old version afterwards)',
    });
  }
  return new HashifyError('STORE_INVALID', `${quote(where)} is not a hashify store (it has no ${STORE_MARKER})`, {
    hint: names.length ? 'name the directory that hashify apply made as the store' : 'a store is made by hashify apply; an empty directory is not one yet',
  });
}

/**
 * Whether the unmarked directory at `fd` (holding `names`) may become a store of this layout:
 * when it holds nothing but hashify's lock files, or nothing but entries of this layout (a
 * store this layout's code began before its marker was written). An older store's shards
 * hold directories, and anything else is foreign: those are never adopted.
 */
export function mayStamp(fd: number, names: string[]): boolean {
  const content = names.filter((n) => !isStoreBookkeeping(n));
  if (content.length === 0) return true;
  return content.every(isStoreAlgorithm) && listEntries(fd).foreign.length === 0;
}

/** Refuses (STORE_INVALID, exit 2) the store open at `fd` unless its marker names this layout. */
export function checkStoreMarkerAt(fd: number, where: Buffer | string): void {
  const layout = readMarker(fd, where);
  if (layout === 'absent') throw unmarked(fd, where, linux().listAt(fd).map(([n]) => n.toString('latin1')));
  if (layout !== STORE_LAYOUT) {
    throw new HashifyError('STORE_INVALID', `Store ${quote(where)} has layout ${layout}; this version of hashify reads layout ${STORE_LAYOUT}`, {
      hint: 'use the hashify version that made it',
    });
  }
}

/**
 * Makes sure the directory open at `storeDirFd` is a store of this layout: a directory that
 * holds nothing but hashify's lock files (or only entries of this layout) gets the marker (written whole: O_TMPFILE, then a
 * name); a marked one is checked; anything else is refused (STORE_INVALID), never adopted.
 */
export function ensureStoreMarker(storeDirFd: number, where: Buffer | string = `/proc/self/fd/${storeDirFd}`): void {
  if (readMarker(storeDirFd, where) === 'absent') {
    const names = linux()
      .listAt(storeDirFd)
      .map(([n]) => n.toString('latin1'));
    if (!mayStamp(storeDirFd, names)) throw unmarked(storeDirFd, where, names);
    linux().createWholeAt(storeDirFd, Buffer.from(STORE_MARKER), Buffer.from(MARKER_TEXT), 0o644);
  }
  // Also when another process made it meanwhile (createWholeAt returned false): read what is there.
  checkStoreMarkerAt(storeDirFd, where);
}

/**
 * Opens the store at `storePath` (its last component is not followed: a store that is a
 * symlink is refused) and checks its marker; the caller closes the descriptor.
 */
export function openStore(storePath: Buffer | string): number {
  const abs = Buffer.isBuffer(storePath) ? storePath : absoluteBytes(storePath);
  let fd: number;
  try {
    fd = linux().openRoot(abs);
  } catch (err) {
    const code = errnoCode(err);
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ELOOP' ? 'is a symlink (a store is named by its real path)' : code === 'ENOTDIR' ? 'is not a directory' : `cannot be opened (${code})`;
    throw new HashifyError(code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR' ? 'STORE_INVALID' : 'IO', `Store ${quote(storePath)} ${why}`);
  }
  try {
    if (!fstatSync(fd).isDirectory()) throw new HashifyError('STORE_INVALID', `Store ${quote(storePath)} is not a directory`);
    checkStoreMarkerAt(fd, storePath);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** Refuses (STORE_INVALID, exit 2) a `storePath` that is not a store of this layout: missing, without the marker, or of another layout. */
export function checkStoreMarker(storePath: Buffer | string): void {
  closeSync(openStore(storePath));
}

/** Checks, or stamps when new (see ensureStoreMarker), the store directory at `storePath`, which must exist. */
export function ensureStoreMarkerAt(storePath: Buffer): void {
  const fd = linux().openRoot(storePath);
  try {
    ensureStoreMarker(fd, storePath);
  } finally {
    closeSync(fd);
  }
}
