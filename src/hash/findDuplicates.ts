/**
 * From scanned files to groups of identical content, reading no byte it need not:
 * distinct inodes are grouped by (device, size); a size shared by nobody is done. Files
 * up to SMALL bytes are hashed whole at once (one read either way); larger ones get a
 * partial hash of head and tail first, and only those that still collide are read whole.
 * A cached digest (same inode, size, mtime, ctime) replaces reading the file.
 */
import type { FileTable } from '../scan/fileTable.js';
import type { HashPool } from './hashPool.js';
import type { HashCache } from './hashCache.js';
import type { HashResult, HashTask } from './hashTask.js';

const SMALL = 64n * 1024n;

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
  /** Extended attributes read for the rows of `groups`. */
  xattrs: Map<number, Array<[string, Uint8Array]>>;
  changed: number;
  unreadable: number;
  bytesRead: number;
  filesHashed: number;
}

export interface FindOptions {
  algorithm: string;
  pool: HashPool;
  cache: HashCache;
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
  *members(key: K): Generator<number> {
    for (let r = this.heads.get(key) ?? -1; r >= 0; r = this.next[r]) yield r;
  }
}

export async function findDuplicates(table: FileTable, opts: FindOptions): Promise<DuplicateResult> {
  const n = table.length;
  const warn = opts.onWarning ?? (() => {});
  const result: DuplicateResult = { groups: [], aliases: new Map(), xattrs: new Map(), changed: 0, unreadable: 0, bytesRead: 0, filesHashed: 0 };

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

  // 2. Distinct inodes by (device, size).
  const next = new Int32Array(n);
  const bySize = new Chains<string>(next);
  for (let i = 0; i < n; i++) if (isPrimary[i]) bySize.add(`${table.dev[i]}:${table.size[i]}`, i);

  const digests = new Map<number, Uint8Array>();
  const expected = (i: number, kind: HashTask['kind']): HashTask => ({
    kind,
    path: table.path(i),
    algorithm: opts.algorithm,
    dev: table.dev[i],
    ino: table.ino[i],
    size: table.size[i],
    mtime: table.mtime[i],
    ctime: table.ctime[i],
    xattrs: kind === 'full',
  });
  const key = (i: number) => ({ dev: table.dev[i], ino: table.ino[i], size: table.size[i], mtime: table.mtime[i], ctime: table.ctime[i] });
  let progressBytes = 0;
  let progressFiles = 0;
  const account = (r: HashResult, i: number): boolean => {
    progressBytes += r.bytesRead;
    progressFiles++;
    result.bytesRead += r.bytesRead;
    opts.onProgress?.(progressBytes, progressFiles);
    if (r.changed) {
      result.changed++;
      return false;
    }
    if (r.error) {
      result.unreadable++;
      warn(`Cannot read ${JSON.stringify(table.path(i).toString())}: ${r.error}; left out of the plan`);
      return false;
    }
    return true;
  };

  const fullRows: number[] = [];
  const partialRows: number[] = [];
  for (const [k, count] of bySize.counts) {
    if (count < 2) continue;
    const members = [...bySize.members(k)];
    const unknown = members.filter((i) => {
      const d = opts.cache.get(key(i), opts.algorithm);
      if (d) digests.set(i, d);
      return !d;
    });
    if (unknown.length === 0) continue;
    if (table.size[members[0]] <= SMALL || unknown.length < members.length) fullRows.push(...unknown);
    else partialRows.push(...unknown);
  }

  // 3. Partial hashes; rows whose (size, head+tail) is unique are done.
  if (partialRows.length) {
    const partial = new Chains<string>(next);
    await opts.pool.run(partialRows.map((i) => expected(i, 'partial')), (t, r) => {
      const i = partialRows[t];
      if (account(r, i)) partial.add(`${table.dev[i]}:${table.size[i]}:${Buffer.from(r.digest!).toString('base64')}`, i);
    });
    for (const [k, count] of partial.counts) if (count >= 2) fullRows.push(...partial.members(k));
  }

  // 4. Full hashes (and xattrs, with the file already open).
  await opts.pool.run(fullRows.map((i) => expected(i, 'full')), (t, r) => {
    const i = fullRows[t];
    if (!account(r, i)) return;
    result.filesHashed++;
    digests.set(i, r.digest!);
    result.xattrs.set(i, r.xattrs ?? []);
    opts.cache.set(key(i), opts.algorithm, r.digest!);
  });

  // 5. Group by (device, digest); a digest held by one inode is done.
  const byDigest = new Chains<string>(next);
  for (const [i, d] of digests) byDigest.add(`${table.dev[i]}:${Buffer.from(d).toString('base64')}`, i);
  digests.clear();
  const needXattrs: number[] = [];
  for (const [k, count] of byDigest.counts) {
    if (count < 2) continue;
    const rows = [...byDigest.members(k)].sort((a, b) => a - b);
    const colon = k.indexOf(':');
    result.groups.push({ dev: BigInt(k.slice(0, colon)), integrity: `${opts.algorithm}-${k.slice(colon + 1)}`, rows });
    for (const i of rows) if (!result.xattrs.has(i)) needXattrs.push(i);
  }

  // 6. Xattrs of cached inodes that are in a group (their content was not read this time).
  const dropped = new Set<number>();
  await opts.pool.run(needXattrs.map((i) => expected(i, 'xattrs')), (t, r) => {
    const i = needXattrs[t];
    if (account(r, i)) result.xattrs.set(i, r.xattrs ?? []);
    else dropped.add(i);
  });
  if (dropped.size) {
    result.groups = result.groups.map((g) => ({ ...g, rows: g.rows.filter((i) => !dropped.has(i)) })).filter((g) => g.rows.length >= 2);
  }
  result.groups.sort((a, b) => (a.dev !== b.dev ? (a.dev < b.dev ? -1 : 1) : a.integrity < b.integrity ? -1 : a.integrity > b.integrity ? 1 : 0));
  return result;
}
