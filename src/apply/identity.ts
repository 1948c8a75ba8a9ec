/**
 * Is the file at a path still the one that was planned? Type, device, inode, size, mode,
 * owner and mtime must be exactly as recorded. ctime and link count must be as recorded or
 * as hashify itself last saw them after one of its own links or renames. When they are
 * neither (a crash lost that observation, or someone else touched the inode), the content
 * and the xattrs are read again: only a file whose bytes and attributes are exactly as
 * hashed is accepted; anything else is drift.
 */
import type { BigIntStats } from 'node:fs';
import { runHashTask } from '../hash/hashTask.js';
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

/** Checks `st` (just taken) of `path` against the plan's record. */
export function checkIdentity(
  path: Buffer,
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
  const dash = content.integrity.indexOf('-');
  const r = runHashTask({
    kind: 'full',
    path,
    algorithm: content.integrity.slice(0, dash),
    dev: st.dev,
    ino: st.ino,
    size: st.size,
    mtime: st.mtimeNs,
    ctime: st.ctimeNs,
    xattrs: true,
  });
  if (r.changed) return { ok: false, drift: `it changed while it was checked (${r.changed})` };
  if (r.error) return { ok: false, drift: `its status changed and it cannot be read to check it (${r.error})` };
  if (Buffer.from(r.digest!).toString('base64') !== content.integrity.slice(dash + 1)) return { ok: false, drift: 'its content changed' };
  if (!sameXattrs(r.xattrs ?? [], content.xattrs)) return { ok: false, drift: 'its extended attributes changed' };
  return OK;
}
