/**
 * From scanned files to groups of identical content, reading no byte it need not:
 * distinct inodes are grouped by (device, size) and the stat metadata that must match
 * (mode, owner, mtime: files that differ there are never linked, so never read); a group
 * of one is done. A group of files up to SMALL bytes is read whole into memory and its
 * members compared byte for byte, one digest per distinct content (one read either way);
 * larger ones get a partial hash of head and tail first, and only those that still collide
 * are read whole: side by side, one of them hashed and the others compared with it byte for
 * byte (native/compare.c), so n equal files cost one hash, not n. Every member of a group is
 * confirmed by its full bytes (digest or comparison) before it is grouped.
 * A cached digest (same inode, size, mtime, ctime) replaces reading the file.
 */
import type { FileTable } from '../scan/fileTable.js';
import { closeRoots } from '../scan/walk.js';
import { linux } from '../native/addon.js';
import type { WorkerPool } from '../workers/workerPool.js';
import type { HashCache } from './hashCache.js';
import { STATUS_CHANGED, STATUS_OK, digestBytes, type BatchResult } from './hashRows.js';
import type { Algorithm } from '../integrity.js';
import { DigestSet } from './digestSet.js';
import { ContentGroups } from './contentGroups.js';
import { COMPARE_BATCH, Chains, RowList, packBatches, primaryRows, release, type Chunk } from './candidates.js';
import { linkDomains, statGroups } from './statGroups.js';

const SMALL = 64n * 1024n;
/** Candidate groups of files this large are shared out over the threads (each hashes the first). */
const SPLIT_COMPARE_AT = 16n << 20n;

export interface DuplicateResult {
  groups: ContentGroups;
  /** Other rows (paths) of an inode, keyed by its primary row. */
  aliases: Map<number, number[]>;
  /** Extended attributes of the rows of `groups` that have any. */
  xattrs: Map<number, Array<[string, Uint8Array]>>;
  changed: number;
  unreadable: number;
  bytesRead: number;
  filesHashed: number;
}

export interface FindOptions {
  algorithm: Algorithm;
  /** The stat fields that must match for two inodes to be linked (xattrs are compared after reading). */
  match: { mode: boolean; owner: boolean; mtime: boolean };
  /** Clones: files of different devices of the roots' one filesystem (btrfs subvolumes) may be grouped (linkDomains). */
  acrossDevices?: boolean;
  pool: WorkerPool;
  cache: HashCache;
  /** Before any read: the candidates' total size and count, small files compared whole included (what hashing reads at most, comparisons aside). */
  onStart?: (bytes: number, files: number) => void;
  onProgress?: (bytes: number, files: number) => void;
  onWarning?: (message: string) => void;
}

/**
 * Finds the groups of identical content among the table's rows. Closes the roots'
 * descriptors the scan opened (`table.roots`) when done: no file is read after this.
 */
export async function findDuplicates(table: FileTable, opts: FindOptions): Promise<DuplicateResult> {
  try {
    return await find(table, opts);
  } finally {
    closeRoots(table.roots);
  }
}

async function find(table: FileTable, opts: FindOptions): Promise<DuplicateResult> {
  linux().trimMemory(); // what the scan's listings left free in the malloc arenas of libuv's threads
  const n = table.length;
  const warn = opts.onWarning ?? (() => {});
  const aliases = new Map<number, number[]>();
  const xattrs = new Map<number, Array<[string, Uint8Array]>>();
  const counts = { changed: 0, unreadable: 0, bytesRead: 0, filesHashed: 0 };
  const algorithm = opts.algorithm;
  const fullLen = digestBytes('full', algorithm);

  // 1. One row per inode: the first path seen; the others become its aliases.
  const isPrimary = primaryRows(table, aliases);
  const domains = linkDomains(table, opts.acrossDevices);

  // Full digests of candidate rows: an id per row into one set of distinct digests (-1: none);
  // `has` marks how far a row is: 1 digest known, 2 digest known and no xattrs to read.
  const set = new DigestSet(fullLen);
  const ids = new Int32Array(n).fill(-1);
  const has = new Uint8Array(n);
  const key = (i: number) => ({ dev: table.devOf(i), ino: table.ino[i], size: table.size[i], mtime: table.mtime[i], ctime: table.ctime[i] });
  let progressFiles = 0;
  const reported = new Set<number>(); // a row can be in several comparison batches
  const account = (rows: Int32Array, r: BatchResult): void => {
    counts.bytesRead += r.bytesRead;
    progressFiles += rows.length;
    opts.onProgress?.(counts.bytesRead, progressFiles);
    for (let k = 0; k < rows.length; k++) {
      if (r.status[k] !== STATUS_CHANGED || reported.has(rows[k])) continue;
      reported.add(rows[k]);
      counts.changed++;
    }
    for (const [k, code] of r.errors) {
      if (reported.has(rows[k])) continue;
      reported.add(rows[k]);
      counts.unreadable++;
      warn(`Cannot read ${JSON.stringify(table.path(rows[k]).toString())}: ${code}; left out of the plan`);
    }
  };

  // Steps 2 to 4 in a function of their own: their candidate lists and batches are garbage
  // once it returns, before the groups are made.
  const digestCandidates = async (): Promise<void> => {
    // 2. Distinct inodes by (device, or filesystem for clones; size; metadata that must match).
    const byStat = statGroups(table, isPrimary, opts.match, domains);
    release(isPrimary);
    const fullRows = new RowList();
    const partialRows = new RowList();
    /** The stat group of each partial row (its partial digest is compared within it). */
    let groupOf: Int32Array | undefined;
    const compareGroups: number[][] = [];
    // Stat groups of small files none of which is cached (compared whole, in place in byStat.rows).
    const smallGroups = new RowList();
    const unknown = new RowList();
    for (let g = 0; g < byStat.count; g++) {
      const members = byStat.rows.subarray(byStat.start[g], byStat.end[g]);
      let known = 0;
      unknown.length = 0;
      for (const i of members) {
        const hit = opts.cache.holdsAny ? opts.cache.get(key(i), algorithm) : undefined;
        if (hit) {
          ids[i] = set.intern(hit.digest);
          has[i] = hit.xattrs ? 1 : 2;
          known++;
        } else unknown.push(i);
      }
      if (unknown.length === 0) continue;
      const small = table.size[members[0]] <= SMALL;
      const rest = unknown.view();
      if (small && known === 0) smallGroups.push(g);
      else if (small) for (const i of rest) fullRows.push(i);
      else {
        groupOf ??= new Int32Array(n);
        for (const i of rest) {
          partialRows.push(i);
          groupOf[i] = g;
        }
      }
    }

    if (opts.onStart) {
      let total = 0n;
      let files = fullRows.length + partialRows.length;
      for (const i of fullRows.view()) total += table.size[i];
      for (const i of partialRows.view()) total += table.size[i];
      for (const g of smallGroups.view()) {
        files += byStat.end[g] - byStat.start[g];
        for (let k = byStat.start[g]; k < byStat.end[g]; k++) total += table.size[byStat.rows[k]];
      }
      opts.onStart(Number(total), files);
    }

    // 3. Partial hashes; rows whose (device, size, head+tail) is unique are done.
    if (partialRows.length) {
      const next = new Int32Array(n);
      const partial = new Chains<string>(next);
      await opts.pool.hash(table, partialRows.view(), 'partial', algorithm, (rows, r) => {
        account(rows, r);
        const len = digestBytes('partial', algorithm);
        for (let k = 0; k < rows.length; k++) {
          if (r.status[k] !== STATUS_OK) continue;
          const i = rows[k];
          partial.add(`${groupOf![i]}:${Buffer.from(r.digests.buffer, r.digests.byteOffset + k * len, len).toString('base64')}`, i);
        }
      });
      for (const [k, count] of partial.counts) if (count >= 2) compareGroups.push(partial.members(k));
      release(next, groupOf!);
    }

    // 4. Full hashes (and xattrs, with the file already open): rows one by one, and candidate
    // groups compared side by side.
    const onFull = (rows: Int32Array, r: BatchResult): void => {
      account(rows, r);
      const withXattrs = new Set<number>();
      for (const [k, list] of r.xattrs) {
        xattrs.set(rows[k], list);
        withXattrs.add(k);
      }
      for (let k = 0; k < rows.length; k++) {
        if (r.status[k] !== STATUS_OK) continue;
        const i = rows[k];
        ids[i] = set.intern(r.digests, k * fullLen);
        has[i] = 2;
        counts.filesHashed++;
        if (opts.cache.saves) opts.cache.set(key(i), algorithm, r.digests.subarray(k * fullLen, (k + 1) * fullLen), withXattrs.has(k));
      }
    };
    await opts.pool.hash(table, fullRows.view(), 'full', algorithm, onFull);
    // Candidate groups in chunks (a large group's chunks each start with its first row, the
    // one hashed), largest first so that the threads finish together, then packed into requests.
    const chunks: number[][] = [];
    for (const g of compareGroups) {
      const others = g.length - 1;
      const spread = table.size[g[0]] >= SPLIT_COMPARE_AT ? Math.ceil(others / Math.max(1, opts.pool.threads)) : others;
      const per = Math.min(COMPARE_BATCH - 1, spread);
      for (let s = 1; s <= others; s += per) chunks.push([g[0], ...g.slice(s, s + per)]);
    }
    const bytes = (c: number[]) => table.size[c[0]] * BigInt(c.length);
    chunks.sort((a, b) => (bytes(a) > bytes(b) ? -1 : bytes(a) < bytes(b) ? 1 : 0));
    // A last chunk of one small row is simply hashed: its digest still meets its equals below.
    function* all(): Generator<Chunk> {
      for (const c of chunks) yield [c, 0, c.length];
      for (const g of smallGroups.view()) yield [byStat.rows, byStat.start[g], byStat.end[g]];
    }
    await opts.pool.hashBatches(table, packBatches(table, all()), 'compare', algorithm, onFull);
    release(byStat.rows, byStat.start, byStat.end);
  };
  await digestCandidates();
  // What the batches left free in the pool threads' malloc arenas goes before the groups are made.
  linux().trimMemory();

  // 5. Group by (device or filesystem, digest); a digest held by one inode is done.
  const groups = ContentGroups.of(table, set, ids, algorithm, domains);
  release(ids);
  set.freeze();
  const needXattrs: number[] = [];
  for (let g = 0; g < groups.count; g++) for (const i of groups.members(g)) if (has[i] === 1) needXattrs.push(i);
  release(has);

  // 6. Xattrs of cached inodes that had some and are in a group (content not read this time).
  const dropped = new Set<number>();
  await opts.pool.hash(table, needXattrs, 'xattrs', algorithm, (rows, r) => {
    account(rows, r);
    for (const [k, list] of r.xattrs) xattrs.set(rows[k], list);
    for (let k = 0; k < rows.length; k++) if (r.status[k] !== STATUS_OK) dropped.add(rows[k]);
  });
  if (dropped.size) groups.without(dropped);
  return { groups, aliases, xattrs, ...counts };
}
