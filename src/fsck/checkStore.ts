/**
 * fsck's check, read-only: every entry of the store is hashed again from its own descriptor
 * and compared with its name (an in-place write through any path that shares the inode
 * changes the entry's bytes for every one of them); everything that is not an entry is
 * reported as the walk found it (stray files, wrong names, symlinks, foreign directories).
 */
import { listEntries, type Foreign, type ListedEntry } from '../store/listEntries.js';
import { integrityOfHex } from '../store/storePath.js';
import { hashEntries } from './hashEntries.js';

/** An entry whose bytes no longer hash to its name. */
export interface Corrupt {
  entry: ListedEntry;
  /** What its bytes hash to now. */
  found: string;
}

/** An entry that could not be read (removed or replaced meanwhile, EACCES, EIO…). */
export interface Unreadable {
  entry: ListedEntry;
  why: string;
}

export interface StoreCheck {
  entries: number;
  bytes: number;
  ok: number;
  corrupt: Corrupt[];
  unreadable: Unreadable[];
  foreign: Foreign[];
}

/** Checks the store open at `storeFd` (marker already checked) on `threads` threads. */
export async function checkStore(
  storeFd: number,
  options: { threads: number; onProgress?: (bytes: number, totalBytes: number, done: number, total: number) => void },
): Promise<StoreCheck> {
  const { entries, foreign } = listEntries(storeFd);
  const totalBytes = entries.reduce((n, e) => n + Number(e.size), 0);
  const outcomes = await hashEntries(storeFd, entries, options.threads, (bytes, done) => options.onProgress?.(bytes, totalBytes, done, entries.length));
  const check: StoreCheck = { entries: entries.length, bytes: 0, ok: 0, corrupt: [], unreadable: [], foreign };
  entries.forEach((entry, i) => {
    const o = outcomes[i];
    check.bytes += o.bytes;
    if ('error' in o) {
      check.unreadable.push({ entry, why: o.error });
      return;
    }
    // Raw digests in the loop; an integrity string only for what is reported.
    if (o.hex === entry.hex) check.ok++;
    else check.corrupt.push({ entry, found: integrityOfHex(entry.algorithm, o.hex) });
  });
  return check;
}
