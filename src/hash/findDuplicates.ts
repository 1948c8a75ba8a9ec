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
import type { WorkerPool } from '../workers/workerPool.js';
import type { HashCache } from './hashCache.js';
import { STATUS_CHANGED, STATUS_OK, digestBytes, type BatchResult } from './hashRows.js';
import type { HashBatch } from '../workers/workerPool.js';
import { integrityOf, type Algorithm } from '../integrity.js';
import { digestRuns } from './digestRuns.js';

const SMALL = 64n * 1024n;
/** Rows in one comparison batch (open files at once). */
const COMPARE_BATCH = 64;
/** Rows and bytes of candidate groups packed into one request (fewer messages between threads). */
const BATCH_ROWS = 256;
const BATCH_BYTES = 16n << 20n;
/** Candidate groups of files this large are shared out over the threads (each hashes the first). */
const SPLIT_COMPARE_AT = 16n << 20n;

export interface ContentGroup {
  dev: bigint;
  integrity: string;
  /** Primary rows of the distinct inodes with this content (each row stands for its inode). */
  rows: number[];
}

export interface DuplicateResult {
  groups: ContentGroup[];
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
  pool: WorkerPool;
  cache: HashCache;
  /** Before any read: the candidates' total size and count (what hashing reads at most, comparisons aside). */
  onStart?: (bytes: number, files: number) => void;
  onProgress?: (bytes: number, files: number) => void;
  onWarning?: (message: string) => void;
}

/** Chains rows under keys without an array per key: head[key] → row → next[row] → … */
class Chains<K> {
  heads = new Map<K, number>();
  counts = new Map<K, number>();
  constructor(private next: Int32Array) {}
  add(key: K, row: number): void {
    const head = this.heads.get(key);
    this.next[row] = head ?? -1;
    this.heads.set(key, row);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  members(key: K): number[] {
    const out: number[] = [];
    for (let r = this.heads.get(key) ?? -1; r >= 0; r = this.next[r]) out.push(r);
    return out;
  }
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
  const n = table.length;
  const warn = opts.onWarning ?? (() => {});
  const result: DuplicateResult = { groups: [], aliases: new Map(), xattrs: new Map(), changed: 0, unreadable: 0, bytesRead: 0, filesHashed: 0 };
  const algorithm = opts.algorithm;
  const fullLen = digestBytes('full', algorithm);

  // 1. One row per inode: the first path seen; the others become its aliases.
  const firstOfInode = new Map<string, number>();
  const isPrimary = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    if (table.nlink[i] < 2) continue;
    const key = `${table.dev[i]}:${table.ino[i]}`;
    const first = firstOfInode.get(key);
    if (first === undefined) firstOfInode.set(key, i);
    else {
      isPrimary[i] = 0;
      const list = result.aliases.get(first);
      if (list) list.push(i);
      else result.aliases.set(first, [i]);
    }
  }
  firstOfInode.clear();

  // 2. Distinct inodes by (device, size, metadata that must match).
  const next = new Int32Array(n);
  const { mode, owner, mtime } = opts.match;
  const statKey = (i: number): string => {
    let k = `${table.dev[i]}:${table.size[i]}`;
    if (mode) k += `:${table.mode[i]}`;
    if (owner) k += `:${table.uid[i]}:${table.gid[i]}`;
    if (mtime) k += `:${table.mtime[i]}`;
    return k;
  };
  const bySize = new Chains<string>(next);
  for (let i = 0; i < n; i++) if (isPrimary[i]) bySize.add(statKey(i), i);

  // Full digests of candidate rows live in one arena; `has` marks which are filled.
  const digests = new Uint8Array(n * fullLen);
  const has = new Uint8Array(n); // 1 digest known, 2 digest known and no xattrs to read
  const key = (i: number) => ({ dev: table.dev[i], ino: table.ino[i], size: table.size[i], mtime: table.mtime[i], ctime: table.ctime[i] });
  let progressFiles = 0;
  const reported = new Set<number>(); // a row can be in several comparison batches
  const account = (rows: Int32Array, r: BatchResult): void => {
    result.bytesRead += r.bytesRead;
    progressFiles += rows.length;
    opts.onProgress?.(result.bytesRead, progressFiles);
    for (let k = 0; k < rows.length; k++) {
      if (r.status[k] !== STATUS_CHANGED || reported.has(rows[k])) continue;
      reported.add(rows[k]);
      result.changed++;
    }
    for (const [k, code] of r.errors) {
      if (reported.has(rows[k])) continue;
      reported.add(rows[k]);
      result.unreadable++;
      warn(`Cannot read ${JSON.stringify(table.path(rows[k]).toString())}: ${code}; left out of the plan`);
    }
  };

  const fullRows: number[] = [];
  const partialRows: number[] = [];
  const compareGroups: number[][] = [];
  const smallGroups: number[][] = [];
  {
    for (const [k, count] of bySize.counts) {
      if (count < 2) continue;
      const members = bySize.members(k);
      let known = 0;
      const unknown: number[] = [];
      for (const i of members) {
        const hit = opts.cache.get(key(i), algorithm);
        if (hit) {
          digests.set(hit.digest, i * fullLen);
          has[i] = hit.xattrs ? 1 : 2;
          known++;
        } else unknown.push(i);
      }
      if (unknown.length === 0) continue;
      // (A loop, not push(...rows): a group can hold more rows than the stack has room for.)
      const small = table.size[members[0]] <= SMALL;
      if (small && known === 0) smallGroups.push(unknown.sort((a, b) => a - b));
      else for (const i of unknown) (small ? fullRows : partialRows).push(i);
    }
  }

  if (opts.onStart) {
    let total = 0n;
    for (const i of fullRows) total += table.size[i];
    for (const i of partialRows) total += table.size[i];
    opts.onStart(Number(total), fullRows.length + partialRows.length);
  }

  // 3. Partial hashes; rows whose (device, size, head+tail) is unique are done.
  if (partialRows.length) {
    const partial = new Chains<string>(next);
    await opts.pool.hash(table, partialRows, 'partial', algorithm, (rows, r) => {
      account(rows, r);
      const len = digestBytes('partial', algorithm);
      for (let k = 0; k < rows.length; k++) {
        if (r.status[k] !== STATUS_OK) continue;
        const i = rows[k];
        partial.add(`${statKey(i)}:${Buffer.from(r.digests.buffer, r.digests.byteOffset + k * len, len).toString('base64')}`, i);
      }
    });
    for (const [k, count] of partial.counts) if (count >= 2) compareGroups.push(partial.members(k).sort((a, b) => a - b));
  }

  // 4. Full hashes (and xattrs, with the file already open): rows one by one, and candidate
  // groups compared side by side.
  const onFull = (rows: Int32Array, r: BatchResult): void => {
    account(rows, r);
    const withXattrs = new Set<number>();
    for (const [k, list] of r.xattrs) {
      result.xattrs.set(rows[k], list);
      withXattrs.add(k);
    }
    for (let k = 0; k < rows.length; k++) {
      if (r.status[k] !== STATUS_OK) continue;
      const i = rows[k];
      const d = r.digests.subarray(k * fullLen, (k + 1) * fullLen);
      digests.set(d, i * fullLen);
      has[i] = 2;
      result.filesHashed++;
      opts.cache.set(key(i), algorithm, d, withXattrs.has(k));
    }
  };
  await opts.pool.hash(table, fullRows, 'full', algorithm, onFull);
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
  for (const g of smallGroups) for (let s = 0; s < g.length; s += COMPARE_BATCH) chunks.push(g.slice(s, s + COMPARE_BATCH));
  await opts.pool.hashBatches(table, packGroups(table, chunks), 'compare', algorithm, onFull);

  // 5. Group by (device, digest); a digest held by one inode is done. The rows with a digest
  // are sorted by (device, digest bytes) in one Int32Array: no string or map entry per row.
  const needXattrs: number[] = [];
  for (const rows of digestRuns(table, digests, has, fullLen)) {
    const at = rows[0] * fullLen;
    // Once per group, not per row: the integrity string names the group's content.
    const integrity = integrityOf(algorithm, digests.subarray(at, at + fullLen));
    result.groups.push({ dev: table.dev[rows[0]], integrity, rows });
    for (const i of rows) if (has[i] === 1) needXattrs.push(i);
  }

  // 6. Xattrs of cached inodes that had some and are in a group (content not read this time).
  const dropped = new Set<number>();
  await opts.pool.hash(table, needXattrs, 'xattrs', algorithm, (rows, r) => {
    account(rows, r);
    for (const [k, list] of r.xattrs) result.xattrs.set(rows[k], list);
    for (let k = 0; k < rows.length; k++) if (r.status[k] !== STATUS_OK) dropped.add(rows[k]);
  });
  if (dropped.size) {
    result.groups = result.groups.map((g) => ({ ...g, rows: g.rows.filter((i) => !dropped.has(i)) })).filter((g) => g.rows.length >= 2);
  }
  result.groups.sort((a, b) => (a.dev !== b.dev ? (a.dev < b.dev ? -1 : 1) : a.integrity < b.integrity ? -1 : a.integrity > b.integrity ? 1 : 0));
  return result;
}

/** Candidate groups packed into requests of about BATCH_ROWS rows or BATCH_BYTES bytes, in order. */
function packGroups(table: FileTable, chunks: number[][]): HashBatch[] {
  const out: HashBatch[] = [];
  let rows: number[] = [];
  let ends: number[] = [];
  let bytes = 0n;
  for (const chunk of chunks) {
    for (const i of chunk) rows.push(i);
    ends.push(rows.length);
    bytes += table.size[chunk[0]] * BigInt(chunk.length);
    if (rows.length >= BATCH_ROWS || bytes >= BATCH_BYTES) {
      out.push({ rows: Int32Array.from(rows), ends: Int32Array.from(ends) });
      rows = [];
      ends = [];
      bytes = 0n;
    }
  }
  if (rows.length) out.push({ rows: Int32Array.from(rows), ends: Int32Array.from(ends) });
  return out;
}
