/**
 * Store garbage: entries whose link count is 1 (no file uses them any more), removed by
 * descriptor. The walk (store/listEntries.ts) opens each shard beneath the store's root and
 * never follows a symlink, and each entry is removed relative to its shard's descriptor only
 * while it is still that regular file with one link (fstatat, then unlinkat): a shard or
 * algorithm directory that a guest swapped for a symlink to a host directory is reported as
 * foreign and never entered, so nothing outside the store is ever removed.
 *
 * The caller holds the store lock, so no hashify apply or undo links to an entry meanwhile;
 * the re-check right before each unlink keeps an entry that something else linked since the
 * listing (a window of microseconds, against writers other than hashify).
 */
import { linux } from '../native/addon.js';
import { walkStore, type Foreign } from '../store/listEntries.js';

export interface GcResult {
  /** Removed (or, dry, removable) entries, relative to the store. */
  removed: Buffer[];
  /** Their apparent size. */
  bytes: bigint;
  /** Their allocated size (st_blocks × 512): what `du` sees go. */
  bytesAllocated: bigint;
  /** Empty shard directories removed (or, dry, that would be). */
  directories: number;
  /** Entries still in use (link count above 1). */
  kept: number;
  /** What the walk found that is not an entry (never touched). */
  foreign: Foreign[];
}

/** Removes (unless `dryRun`) the unused entries of the store open at `storeFd`, calling `onRemoved` with each one's relative path. */
export function collectGarbage(storeFd: number, dryRun: boolean, onRemoved: (rel: Buffer) => void): GcResult {
  const addon = linux();
  const result: GcResult = { removed: [], bytes: 0n, bytesAllocated: 0n, directories: 0, kept: 0, foreign: [] };
  for (const shard of walkStore(storeFd, (f) => result.foreign.push(f))) {
    result.foreign.push(...shard.foreign);
    let left = shard.entries.length + shard.foreign.length;
    for (const e of shard.entries) {
      if (e.nlink !== 1) {
        result.kept++;
        continue;
      }
      if (!dryRun && !addon.unlinkUnusedAt(shard.fd, e.name, e.dev, e.ino)) {
        result.kept++; // linked, replaced or removed by someone else since the listing
        continue;
      }
      left--;
      result.removed.push(e.rel);
      result.bytes += e.size;
      result.bytesAllocated += e.blocks * 512n;
      onRemoved(e.rel);
    }
    if (left === 0 && (dryRun || addon.rmdirAt(shard.parentFd, shard.name))) result.directories++;
  }
  return result;
}
