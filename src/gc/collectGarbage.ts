/**
 * Store garbage: entries whose link count is 1 (no file uses them any more). The caller
 * holds the store lock, so no hashify apply or undo links to an entry meanwhile; the link
 * count is read again right before each unlink, which keeps an entry that something else
 * linked since the scan (a remaining window of microseconds, against non-hashify writers only).
 */
import { lstatSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { errnoCode } from '../errors.js';
import { joinPath } from '../pathBytes.js';
import { parseStoreEntryPath } from '../store/storePath.js';

export interface GcResult {
  removed: Buffer[];
  bytes: bigint;
  kept: number;
}

function list(dir: Buffer): Buffer[] {
  try {
    return readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return [];
    throw err;
  }
}

export function collectGarbage(store: Buffer, dryRun: boolean, onRemoved: (p: Buffer) => void): GcResult {
  const result: GcResult = { removed: [], bytes: 0n, kept: 0 };
  for (const algorithm of ['sha256', 'sha512']) {
    const top = joinPath(store, Buffer.from(algorithm));
    {
      const da = top;
      for (const b of list(da)) {
        const db = joinPath(da, b);
        for (const name of list(db)) {
          const path = joinPath(db, name);
          if (!parseStoreEntryPath(store, path)) continue;
          const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
          if (!st?.isFile()) continue;
          if (st.nlink !== 1n) {
            result.kept++;
            continue;
          }
          if (!dryRun) {
            const again = lstatSync(path, { bigint: true, throwIfNoEntry: false });
            if (!again || again.nlink !== 1n || again.ino !== st.ino) {
              result.kept++;
              continue;
            }
            unlinkSync(path);
          }
          result.removed.push(path);
          result.bytes += st.size;
          onRemoved(path);
        }
        if (!dryRun) removeIfEmpty(db);
      }
    }
  }
  return result;
}

function removeIfEmpty(dir: Buffer): void {
  try {
    rmdirSync(dir);
  } catch {
    /* not empty (or gone): fine */
  }
}
