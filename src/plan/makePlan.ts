/**
 * The plan pipeline, one stage after another: scan the roots, hash the candidates (with the
 * hash cache), turn each content group into the planner's input, assemble the records and
 * write them atomically. It prints nothing: the caller hears of progress through `events`.
 */
import { excludeMatcher } from '../scan/excludeMatcher.js';
import { scanParallel } from '../scan/scanParallel.js';
import { findDuplicates } from '../hash/findDuplicates.js';
import type { HashCache } from '../hash/hashCache.js';
import { WorkerPool } from '../workers/workerPool.js';
import { statSync, statfsSync } from 'node:fs';
import { storeLookup } from '../store/storeEntries.js';
import { PlanWriter } from '../planfile/writePlan.js';
import { PLAN_KIND, PLAN_VERSION, type Algorithm, type HeaderRecord, type LinkMode, type MatchOptions, type SpaceRecord } from '../planfile/records.js';
import { bytesOfText, encodePath } from '../pathBytes.js';
import { VERSION } from '../version.js';
import { newCounters, planContent } from './assemblePlan.js';
import { SpaceFigures } from './spaceFigures.js';
import { planInput } from './planInput.js';
import { RowStats } from './rowStat.js';
import { stopYoungGenerationGrowth } from './youngGeneration.js';

/** Everything a plan is made from, settled and checked beforehand (src/cli/plan.ts). */
export interface PlanRequest {
  /** Canonical roots and store (see resolveRoots). */
  roots: Buffer[];
  store: Buffer | null;
  /** The absolute path of the plan file to write. */
  output: string;
  link: LinkMode;
  algorithm: Algorithm;
  minSize: bigint;
  exclude: string[];
  match: MatchOptions;
  linkMax: number;
  /** `--adopt`: a new store entry is the keeper's own inode (trusted trees), not a copy of it. */
  adopt?: boolean;
  threads: number;
  cache: HashCache;
}

/** What the stages report while they run; all optional (tests pass none). */
export interface PlanEvents {
  warn?(message: string): void;
  scanned?(files: number): void;
  /** Hashing starts: at most this many bytes of this many files will be read. */
  hashStart?(bytes: number, files: number): void;
  hashed?(bytes: number, files: number): void;
  /** A stage ended (HASHIFY_TIMING prints these). */
  phase?(name: string): void;
}

/** The written plan's digest and the counts a summary needs. */
export interface MadePlan {
  digest: string;
  files: number;
  bytesScanned: number;
  groups: number;
  ops: number;
  storeEntries: number;
  /** Allocated bytes freed minus the store's new directories (what du will see). */
  bytesReclaimable: bigint;
  /** The freed inodes' sizes. */
  bytesApparent: bigint;
  space: SpaceRecord;
  bytesRead: number;
  filesHashed: number;
  cacheHits: number;
  changedWhileScanning: number;
}

/** Runs the stages; `signal` aborting removes the half-written plan (the caller then exits). */
export async function makePlan(req: PlanRequest, events: PlanEvents = {}, signal?: AbortSignal): Promise<MadePlan> {
  const warn = (m: string) => events.warn?.(m);
  const header: HeaderRecord = {
    type: 'header',
    kind: PLAN_KIND,
    version: PLAN_VERSION,
    tool: `hashify ${VERSION}`,
    created: new Date().toISOString(),
    roots: req.roots.map(encodePath),
    store: req.store ? encodePath(req.store) : null,
    link: req.link,
    algorithm: req.algorithm,
    minSize: req.minSize.toString(),
    match: req.match,
    exclude: req.exclude,
    linkMax: req.linkMax,
    ...(req.adopt && req.store ? { adopt: true } : {}),
  };
  // The plan and the files beside it are hashify's, also when they lie inside a root.
  const skip: Buffer[] = ['', '.journal', '.undo.journal', '.journals', '.lock'].map((ext) => bytesOfText(req.output + ext));
  if (req.store) skip.push(req.store);

  // Scan and hash on every core (libuv's pool, `threads` requests at a time).
  const pool = new WorkerPool(req.threads);
  const scan = await scanParallel(
    { roots: req.roots, skip, minSize: req.minSize, exclude: excludeMatcher(req.exclude), onProgress: (files) => events.scanned?.(files), onWarning: warn },
    pool,
  );
  events.phase?.(`scan (${scan.files} files)`);
  const dups = await findDuplicates(scan.table, {
    algorithm: req.algorithm,
    // A clone keeps each file's own inode and metadata: only the content must match.
    match: req.link === 'reflink' ? { mtime: false, owner: false, mode: false } : req.match,
    // and it may be made from a file of another device of the one filesystem (a btrfs subvolume).
    acrossDevices: req.link === 'reflink',
    pool,
    cache: req.cache,
    onStart: (bytes, files) => events.hashStart?.(bytes, files),
    onProgress: (bytes, files) => events.hashed?.(bytes, files),
    onWarning: warn,
  });
  events.phase?.(`hash (${dups.bytesRead} bytes read, ${dups.filesHashed} files hashed)`);
  req.cache.save(warn);
  events.phase?.('save cache');

  // Assemble and write, one content group at a time.
  stopYoungGenerationGrowth();
  const counters = newCounters();
  const writer = new PlanWriter(req.output, header);
  const abort = () => writer.abort();
  signal?.addEventListener('abort', abort);
  let written;
  try {
    const lookup = req.store ? storeLookup(req.store) : undefined;
    const root = req.roots.length ? req.roots[0] : undefined;
    // The first root's own blocks say whether directories take blocks on this filesystem.
    counters.space = new SpaceFigures(root ? statfsSync(root).bsize : 4096, lookup, root ? statSync(root).blocks > 0 : true);
    const ctx = { store: req.store, link: req.link, match: req.match, linkMax: req.linkMax, adopt: req.adopt };
    const stats = new RowStats(scan.table);
    for (let g = 0; g < dups.groups.count; g++) {
      const integrity = dups.groups.integrity(g);
      planContent(planInput(g, integrity, scan.table, stats, dups, lookup ? lookup(integrity) : []), ctx, counters, writer);
    }
    lookup?.close();
    written = writer.finish({
      files: scan.files,
      groups: counters.group,
      ops: counters.op,
      storeEntries: counters.storeEntries,
      bytesReclaimable: counters.bytesReclaimable.toString(),
      sharedInodes: counters.group,
      space: counters.space.record(),
      skipped: { otherDevice: scan.otherDevice, unreadable: scan.unreadable + dups.unreadable, changedWhileScanning: dups.changed + scan.vanished },
    });
  } catch (err) {
    writer.abort();
    throw err;
  } finally {
    signal?.removeEventListener('abort', abort);
  }
  events.phase?.('assemble and write');
  return {
    digest: written.digest,
    files: scan.files,
    bytesScanned: Number(scan.bytes),
    groups: counters.group,
    ops: counters.op,
    storeEntries: counters.storeEntries,
    bytesReclaimable: counters.space!.bytesReclaimable,
    bytesApparent: counters.space!.bytesApparent,
    space: counters.space!.record(),
    bytesRead: dups.bytesRead,
    filesHashed: dups.filesHashed,
    cacheHits: req.cache.hits,
    changedWhileScanning: dups.changed + scan.vanished,
  };
}
