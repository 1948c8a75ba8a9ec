/**
 * Is a file still the one that was planned? Type, device, inode, size, mode,
 * owner and mtime must be exactly as recorded. ctime and link count must be as recorded or
 * as hashify itself last saw them after one of its own links or renames. When they are
 * neither (a crash lost that observation, or someone else touched the inode), the content
 * and the xattrs are read again: only a file whose bytes and attributes are exactly as
 * hashed is accepted; anything else is drift.
 */
import type { BigIntStats } from 'node:fs';
import { errnoCode } from '../errors.js';
import { integrityParts } from '../integrity.js';
import { readXattrs } from '../native/xattr.js';
import { hashOpenFile } from '../verify/hashOpenFile.js';
import type { StatRecord, XattrRecord } from '../planfile/records.js';

/** ctime and link count hashify observed right after its own step on an inode. */
export interface Seen {
  ctime: bigint;
  nlink: number;
}

export type Verdict = { ok: true } | { ok: false; drift: string };

const OK: Verdict = { ok: true };

/** The exact fields; undefined when they match, else the drift reason. */
export function fixedFieldsDrift(st: BigIntStats, rec: StatRecord): string | undefined {
  if (!st.isFile()) return st.isSymbolicLink() ? 'it was replaced by a symlink' : 'it is no longer a regular file';
  if (st.dev.toString() !== rec.dev || st.ino.toString() !== rec.ino) return 'it was replaced by another file';
  if (st.size.toString() !== rec.size) return `its size changed (${rec.size} → ${st.size})`;
  if (Number(st.mode) !== rec.mode) return `its mode changed (${rec.mode.toString(8)} → ${Number(st.mode).toString(8)})`;
  if (Number(st.uid) !== rec.uid || Number(st.gid) !== rec.gid) return 'its owner changed';
  if (st.mtimeNs.toString() !== rec.mtime) return 'it was modified (mtime changed)';
  return undefined;
}

function sameXattrs(found: Array<[string, Uint8Array]>, rec: XattrRecord | undefined): boolean {
  const want = Object.entries(rec ?? {}).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return found.length === want.length && found.every(([n, v], i) => n === want[i][0] && Buffer.from(v).toString('base64') === want[i][1]);
}

/**
 * Checks `st` (just taken through `fd`) against the plan's record. `fd` is a read-only
 * descriptor of the file, opened beneath its root: the deep check reads it, never a path.
 */
export function checkIdentity(
  fd: number,
  st: BigIntStats,
  rec: StatRecord,
  seen: Seen | undefined,
  content: { integrity: string; xattrs?: XattrRecord },
): Verdict {
  const fixed = fixedFieldsDrift(st, rec);
  if (fixed) return { ok: false, drift: fixed };
  const nlink = Number(st.nlink);
  if (st.ctimeNs.toString() === rec.ctime && nlink === rec.nlink) return OK;
  if (seen && st.ctimeNs === seen.ctime && nlink === seen.nlink) return OK;
  let found;
  try {
    found = hashOpenFile(fd, integrityParts(content.integrity).algorithm);
  } catch (err) {
    return { ok: false, drift: `its status changed and it cannot be read to check it (${errnoCode(err) ?? (err as Error).message})` };
  }
  if ('changed' in found) return { ok: false, drift: `it changed while it was checked (${found.changed})` };
  if (found.integrity !== content.integrity) return { ok: false, drift: 'its content changed' };
  if (!sameXattrs(readXattrs(fd), content.xattrs)) return { ok: false, drift: 'its extended attributes changed' };
  return OK;
}

/**
 * Does the path hold the clone a reflink apply made of its recorded file? A new inode (not
 * the recorded one) on the path's own device, with the type, size, mode, owner, mtime and
 * xattrs apply gave it from the record: the evidence on which the executor's rerun also
 * takes a reflink operation for done (native/executor_ops.c, ex_replace). Any other file
 * at the path (another size, mode, owner, mtime or xattrs) is not apply's.
 */
export function isAppliedClone(fd: number, st: BigIntStats, rec: StatRecord, xattrs: XattrRecord | undefined): boolean {
  if (st.dev.toString() !== rec.dev || st.ino.toString() === rec.ino) return false;
  if (fixedFieldsDrift(st, { ...rec, ino: st.ino.toString() })) return false;
  try {
    return sameXattrs(readXattrs(fd), xattrs);
  } catch {
    return false;
  }
}
