/**
 * `hashify plan ROOT... -o FILE`: scan, hash, assemble and write the plan. Changes nothing
 * but FILE and the hash cache.
 */
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { HashifyError, errnoCode } from '../errors.js';
import { dirnameBytes, encodePath, isWithin, joinPath } from '../pathBytes.js';
import { scanParallel } from '../scan/scanParallel.js';
import { excludeMatcher } from '../scan/excludeMatcher.js';
import { findDuplicates } from '../hash/findDuplicates.js';
import { WorkerPool } from '../workers/workerPool.js';
import { HashCache, defaultCachePath } from '../hash/hashCache.js';
import { storeLookup, type StoreEntry } from '../store/storeEntries.js';
import { linkMaxOf } from '../store/linkMax.js';
import { canReflink } from '../apply/reflink.js';
import { planContent, newCounters, type PlanContent } from '../plan/assemblePlan.js';
import { PlanWriter } from '../planfile/writePlan.js';
import { PLAN_KIND, PLAN_VERSION, type Algorithm, type BodyRecord, type HeaderRecord, type LinkMode, type XattrRecord } from '../planfile/records.js';
import { Output, formatBytes, type GlobalOptions } from './output.js';
import { VERSION } from '../version.js';

export interface PlanArgs extends GlobalOptions {
  roots: string[];
  output: string;
  store?: string;
  noStore?: boolean;
  /** The keeper's own inode becomes a new store entry instead of a copy of it (trusted writers). */
  adopt?: boolean;
  link: LinkMode;
  minSize: string;
  exclude: string[];
  algorithm: Algorithm;
  ignoreMtime?: boolean;
  ignoreOwner?: boolean;
  ignoreMode?: boolean;
  ignoreXattrs?: boolean;
  cache?: string | false;
  linkMax?: number;
  threads?: number;
}

export interface PlanSummary {
  digest: string;
  files: number;
  groups: number;
  ops: number;
  bytesReclaimable: number;
}

/** The deepest directory that holds every root. */
function commonAncestor(roots: Buffer[]): Buffer {
  let common = roots[0];
  for (const r of roots.slice(1)) {
    while (!isWithin(r, common)) common = dirnameBytes(common);
  }
  return common;
}

function canonicalRoot(root: string): Buffer {
  let real: Buffer;
  try {
    real = realpathSync.native(resolve(root), { encoding: 'buffer' });
  } catch (err) {
    throw new HashifyError('USAGE', `Cannot scan root ${JSON.stringify(root)}: ${errnoCode(err) === 'ENOENT' ? 'it does not exist' : (err as Error).message}`);
  }
  if (!statSync(real).isDirectory()) throw new HashifyError('USAGE', `Root ${JSON.stringify(root)} is not a directory`);
  return real;
}

/** The device a path is on, or will be on once created (its nearest existing ancestor's). */
function deviceOf(p: Buffer): bigint {
  for (let q = p; ; q = dirnameBytes(q)) {
    const st = lstatSync(q, { bigint: true, throwIfNoEntry: false });
    if (st) return st.dev;
    if (q.length === 1) throw new Error('no existing ancestor');
  }
}

function xattrRecord(list: Array<[string, Uint8Array]> | undefined): XattrRecord | undefined {
  if (!list || list.length === 0) return undefined;
  const rec: XattrRecord = {};
  for (const [name, value] of list) rec[name] = Buffer.from(value).toString('base64');
  return rec;
}

/** HASHIFY_TIMING=1 prints how long each phase took (for `make bench` and profiling). */
function phaseTimer(out: Output): (phase: string) => void {
  let last = process.hrtime.bigint();
  const on = Boolean(process.env.HASHIFY_TIMING);
  return (phase) => {
    const now = process.hrtime.bigint();
    if (on) out.info(`timing: ${phase} ${(Number(now - last) / 1e6).toFixed(0)} ms (rss ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MiB)`);
    last = now;
  };
}

export async function runPlan(args: PlanArgs, out: Output): Promise<PlanSummary> {
  const started = process.hrtime.bigint();
  const phase = phaseTimer(out);
  if (args.roots.length === 0) throw new HashifyError('USAGE', 'plan needs at least one ROOT directory');
  if (!/^[0-9]+$/.test(args.minSize)) throw new HashifyError('USAGE', `--min-size must be a whole number of bytes, not ${JSON.stringify(args.minSize)}`);
  const minSize = BigInt(args.minSize) < 1n ? 1n : BigInt(args.minSize);
  let roots = [...new Map(args.roots.map(canonicalRoot).map((r) => [r.toString('latin1'), r])).values()];
  // A root inside another root would be scanned twice.
  roots = roots.filter((r) => !roots.some((o) => o !== r && isWithin(r, o)));
  const reflink = args.link === 'reflink';
  let store: Buffer | null = null;
  if (!args.noStore && !reflink) {
    if (args.store) {
      const abs = Buffer.from(resolve(args.store));
      let parent: Buffer;
      try {
        parent = realpathSync.native(dirname(abs.toString()), { encoding: 'buffer' });
      } catch {
        throw new HashifyError('USAGE', `The parent directory of store ${JSON.stringify(args.store)} does not exist`);
      }
      store = joinPath(parent, abs.subarray(abs.lastIndexOf(0x2f) + 1));
    } else {
      store = joinPath(commonAncestor(roots), Buffer.from('.hash'));
    }
    const st = lstatSync(store, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) throw new HashifyError('USAGE', `Store ${JSON.stringify(store.toString())} exists and is not a directory`);
    const storeDev = deviceOf(store);
    roots = roots.filter((r) => {
      if (lstatSync(r, { bigint: true }).dev === storeDev) return true;
      out.warn(`Root ${JSON.stringify(r.toString())} is on another filesystem than the store ${JSON.stringify(store!.toString())}: not planned (hard links cannot cross filesystems)`);
      return false;
    });
  }
  if (reflink) {
    for (const r of roots) {
      const why = canReflink(r);
      if (why) throw new HashifyError('REFLINK_UNSUPPORTED', `Cannot plan reflinks: the filesystem of ${JSON.stringify(r.toString())} cannot clone files (${why})`, { hint: 'use --link hardlink, or a btrfs or XFS filesystem' });
    }
  }
  const output = resolve(args.output);
  const match = { mtime: !args.ignoreMtime, owner: !args.ignoreOwner, mode: !args.ignoreMode, xattrs: !args.ignoreXattrs };
  const linkMax = args.linkMax ?? (roots.length ? linkMaxOf(roots[0]) : 65000);
  const header: HeaderRecord = {
    type: 'header',
    kind: PLAN_KIND,
    version: PLAN_VERSION,
    tool: `hashify ${VERSION}`,
    created: new Date().toISOString(),
    roots: roots.map(encodePath),
    store: store ? encodePath(store) : null,
    link: args.link,
    algorithm: args.algorithm,
    minSize: minSize.toString(),
    match,
    exclude: args.exclude,
    linkMax,
    ...(args.adopt && store ? { adopt: true } : {}),
  };

  const skip: Buffer[] = [Buffer.from(output), Buffer.from(output + '.journal')];
  if (store) skip.push(store);
  // Scan and hash on every core; the pool's threads keep the process alive until closed.
  const threads = args.threads ?? Math.max(1, availableParallelism());
  let pool = new WorkerPool(threads);
  const cacheFile = args.cache === false ? undefined : args.cache || defaultCachePath();
  const cache = cacheFile ? HashCache.load(cacheFile, (m) => out.warn(m)) : HashCache.disabled();
  let scan, dups;
  try {
    scan = await scanParallel(
      {
        roots,
        skip,
        minSize,
        exclude: excludeMatcher(args.exclude),
        onProgress: (files) => out.progress(`scanning: ${files} files`),
        onWarning: (m) => out.warn(m),
      },
      args.exclude,
      pool,
    );
    phase(`scan (${scan.files} files)`);
    // Fresh threads for hashing: the scanning ones may still hold the tables they handed
    // back until their collectors run; ending them frees that memory now (~60 ms).
    await pool.close();
    pool = new WorkerPool(threads);
    const hashStart = Date.now();
    dups = await findDuplicates(scan.table, {
      algorithm: args.algorithm,
      // A clone keeps each file's own inode and metadata: only the content must match.
      match: args.link === 'reflink' ? { mtime: false, owner: false, mode: false } : match,
      pool,
      cache,
      onProgress: (bytes, files) => {
        const secs = (Date.now() - hashStart) / 1000;
        out.progress(`hashing: ${files} files, ${formatBytes(bytes)} read, ${formatBytes(secs > 0 ? bytes / secs : 0)}/s`);
      },
      onWarning: (m) => out.warn(m),
    });
  } finally {
    await pool.close();
  }
  phase(`hash (${dups.bytesRead} bytes read, ${dups.filesHashed} files hashed)`);
  cache.save((m) => out.warn(m));
  phase('save cache');

  // Assemble and write, one content group at a time.
  const table = scan.table;
  const counters = newCounters();
  const writer = new PlanWriter(output, header);
  let written;
  try {
    let entries: StoreEntry[] = [];
    const ctx = {
      store,
      link: args.link,
      match,
      linkMax,
      adopt: Boolean(args.adopt),
      usedSuffixes: () => new Set(entries.map((e) => e.suffix)),
    };
    const records: BodyRecord[] = [];
    const lookup = store ? storeLookup(store) : undefined;
    for (const g of dups.groups) {
      entries = lookup ? lookup(g.integrity) : [];
      const content: PlanContent = {
        integrity: g.integrity,
        inodes: g.rows.map((row) => {
          const paths = [row, ...(dups.aliases.get(row) ?? [])].map((r) => table.path(r)).sort((x, y) => Buffer.compare(x, y));
          const entry = entries.find((e) => e.dev === table.dev[row] && e.ino === table.ino[row]);
          return {
            stat: table.stat(row),
            paths,
            xattrs: xattrRecord(dups.xattrs.get(row)),
            storeEntry: entry ? { path: entry.path, suffix: entry.suffix } : undefined,
          };
        }),
      };
      planContent(content, ctx, counters, records);
      for (const r of records) writer.write(r);
      records.length = 0;
    }
    written = writer.finish({
      files: scan.files,
      groups: counters.group,
      ops: counters.op,
      storeEntries: counters.storeEntries,
      bytesReclaimable: counters.bytesReclaimable.toString(),
      sharedInodes: counters.group,
      skipped: { otherDevice: scan.otherDevice, unreadable: scan.unreadable + dups.unreadable, changedWhileScanning: dups.changed + scan.vanished },
    });
  } catch (err) {
    writer.abort();
    throw err;
  }
  phase('assemble and write');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const summary: PlanSummary = {
    digest: written.digest,
    files: scan.files,
    groups: counters.group,
    ops: counters.op,
    bytesReclaimable: Number(counters.bytesReclaimable),
  };
  out.result({ ...summary, storeEntries: counters.storeEntries, bytesRead: dups.bytesRead, cacheHits: cache.hits, seconds: Number(seconds.toFixed(3)), plan: output }, () => [
    `Scanned ${scan.files} files (${formatBytes(scan.bytes)}) in ${roots.length} root(s); read ${formatBytes(dups.bytesRead)} to hash ${dups.filesHashed} files (${cache.hits} from the cache).`,
    `Planned ${counters.op} links in ${counters.group} groups${store ? `, ${counters.storeEntries} store entries in ${store.toString()}` : ''}: ${formatBytes(counters.bytesReclaimable)} reclaimable.`,
    ...(dups.changed + scan.vanished ? [`${dups.changed + scan.vanished} files changed while scanning and were left out.`] : []),
    `Plan written to ${output} in ${seconds.toFixed(2)}s.`,
    `Digest: ${written.digest}`,
    `Review it with: hashify show ${output}`,
  ]);
  return summary;
}
