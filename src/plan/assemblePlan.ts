/**
 * The planner: pure, no I/O. Identical-content groups of inodes in, store and link records
 * out. Within a content group, inodes are split by their metadata key; each part gets one
 * target inode — an existing store entry if one is there, else a keeper — and every path
 * of every other inode gets a link operation to it. A part that would push the target past
 * the filesystem's link-count limit continues on a new target (a new store entry, or a new
 * keeper).
 *
 * Keeper rule (stable, documented in the README): the inode with the most links, then the
 * one whose first path sorts first bytewise. It keeps the largest existing hard-link set as
 * it is and makes the fewest changes.
 */
import { encodePath } from '../pathBytes.js';
import { storeEntryPath } from '../store/storePath.js';
import type { PlanInode } from './planInode.js';
import type { SpaceFigures } from './spaceFigures.js';
import type { BodyRecord, LinkMode, LinkRecord, MatchOptions, StatRecord, StoreRecord, TargetRecord, XattrRecord } from '../planfile/records.js';

export { recordInode, type PlanInode, type RecordInode } from './planInode.js';

export interface PlanContent {
  integrity: string;
  inodes: PlanInode[];
  /** Suffixes of the entries for this content already in the store (new entries avoid them). */
  storeSuffixes?: number[];
}

export interface PlannerContext {
  store: Buffer | null;
  link: LinkMode;
  match: MatchOptions;
  linkMax: number;
  /** `plan --adopt`: a new store entry is the keeper's own inode instead of a copy of it. */
  adopt?: boolean;
}

export interface PlanCounters {
  group: number;
  op: number;
  storeEntries: number;
  /** Apparent bytes of the inodes apply frees (what the plan's checker recomputes). */
  bytesReclaimable: bigint;
  /** The space figures as du will see them (spaceFigures.ts), when the caller wants them. */
  space?: SpaceFigures;
}

/**
 * Where the planner's records go: the plan writer (which serialises each path's link line
 * from its bytes, with no record object per path), or an array of records (`recordSink`).
 */
export interface PlanSink {
  store(rec: StoreRecord): void;
  /** One link record for each path of `inode`, numbered from op `first`, in path order. */
  links(first: number, group: number, inode: PlanInode, integrity: string, target: TargetRecord): void;
}

/** The link record of one path: what `PlanSink.links` stands for, path by path. */
export function linkRecord(op: number, group: number, path: Buffer, inode: PlanInode, integrity: string, target: TargetRecord): LinkRecord {
  return withXattrs({ type: 'link' as const, op, group, ...encodePath(path), stat: inode.stat(), integrity, target }, inode.xattrs);
}

/** A sink that appends the records to `out`. */
export function recordSink(out: BodyRecord[]): PlanSink {
  return {
    store: (rec) => out.push(rec),
    links(first, group, inode, integrity, target) {
      for (let k = 0; k < inode.pathCount; k++) out.push(linkRecord(first + k, group, inode.path(k), inode, integrity, target));
    },
  };
}

export function newCounters(): PlanCounters {
  return { group: 0, op: 0, storeEntries: 0, bytesReclaimable: 0n };
}

function byKeeperRule(a: PlanInode, b: PlanInode): number {
  if (a.nlink !== b.nlink) return b.nlink - a.nlink;
  return a.comparePath(b);
}

/** The first inode by the keeper rule among those `ok` accepts (what a stable sort would put first). */
function first(inodes: PlanInode[], ok: (i: PlanInode) => boolean): PlanInode | undefined {
  let best: PlanInode | undefined;
  for (const i of inodes) if (ok(i) && (best === undefined || byKeeperRule(i, best) < 0)) best = i;
  return best;
}

function byFirstPath(a: PlanInode, b: PlanInode): number {
  return a.comparePath(b);
}

function withXattrs<T extends object>(rec: T, xattrs: XattrRecord | undefined): T & { xattrs?: XattrRecord } {
  return xattrs && Object.keys(xattrs).length ? { ...rec, xattrs } : rec;
}

/** Plans one content group; hands its records to `sink` (or appends them to an array) and advances the counters. */
export function planContent(content: PlanContent, ctx: PlannerContext, counters: PlanCounters, sink: PlanSink | BodyRecord[]): void {
  const out = Array.isArray(sink) ? recordSink(sink) : sink;
  const used = new Set<number>(ctx.store ? content.storeSuffixes : []);
  for (const part of splitByKey(content.inodes, ctx)) {
    if (part.length < 2) continue;
    planPart(content.integrity, part, ctx, counters, used, out);
  }
}

/** The content's inodes split by metadata key, each part and the parts in first-path order. */
function splitByKey(inodes: PlanInode[], ctx: PlannerContext): PlanInode[][] {
  // A clone keeps each file's own inode and metadata: nothing needs to match but content.
  // Nearly always every inode has one key: one part, and no key made.
  if (ctx.link === 'reflink' || inodes.every((i) => i.sameKey(inodes[0], ctx.match))) return [inodes.slice().sort(byFirstPath)];
  const parts = new Map<string, PlanInode[]>();
  for (const inode of inodes) {
    const k = inode.key(ctx.match);
    const list = parts.get(k);
    if (list) list.push(inode);
    else parts.set(k, [inode]);
  }
  return [...parts.values()].map((p) => p.sort(byFirstPath)).sort((a, b) => byFirstPath(a[0], b[0]));
}

function planPart(integrity: string, part: PlanInode[], ctx: PlannerContext, counters: PlanCounters, used: Set<number>, out: PlanSink): void {
  const hardlink = ctx.link === 'hardlink';
  let rest = part;
  // Each round either emits a group or drops its target from `rest`, so it ends.
  while (rest.length >= 2) {
    // Target: an existing store entry with room (most links first), else the keeper.
    const entry = ctx.store && hardlink ? first(rest, (i) => i.storeEntry !== undefined && i.nlink < ctx.linkMax) : undefined;
    const target = entry ?? first(rest, () => true)!;
    let storePath: Buffer | undefined;
    let newSuffix: number | undefined;
    let nlink = target.nlink;
    if (ctx.store && hardlink) {
      if (target.storeEntry) storePath = target.storeEntry.path;
      else {
        newSuffix = 0;
        while (used.has(newSuffix)) newSuffix++;
        used.add(newSuffix);
        storePath = storeEntryPath(ctx.store, integrity, newSuffix);
        // A copied-in entry is a new inode: one link of its own plus the keeper's paths.
        nlink = ctx.adopt ? nlink + 1 : 1 + target.pathCount;
      }
    }
    // Whole inodes only: the links of one inode always move together.
    const take: PlanInode[] = [];
    const left: PlanInode[] = [];
    for (const inode of rest) {
      if (inode === target) continue;
      if (!hardlink && inode.nlink > 1) continue; // a clone would split its hard links
      if (hardlink && nlink + inode.pathCount > ctx.linkMax) left.push(inode);
      else {
        take.push(inode);
        nlink += inode.pathCount;
      }
    }
    if (take.length === 0) {
      if (newSuffix !== undefined) used.delete(newSuffix);
    } else {
      emitGroup(integrity, target, storePath, take, ctx, counters, out);
    }
    rest = left;
  }
}

function emitGroup(
  integrity: string,
  target: PlanInode,
  storePath: Buffer | undefined,
  take: PlanInode[],
  ctx: PlannerContext,
  counters: PlanCounters,
  out: PlanSink,
): void {
  const group = counters.group++;
  let targetRef: { path: string; path64?: string };
  let ops = take;
  let cost = 0n;
  if (storePath) {
    let store: StoreRecord;
    if (!target.storeEntry) counters.space?.newEntry(storePath.subarray(ctx.store!.length === 1 ? 1 : ctx.store!.length + 1).toString('latin1'));
    if (target.storeEntry || ctx.adopt) {
      store = withXattrs({ type: 'store' as const, group, integrity, ...encodePath(storePath), stat: target.stat() }, target.xattrs);
      if (!target.storeEntry) store.from = encodePath(target.path(0));
    } else {
      // Copy-in: the entry is a new inode made from the keeper's checked bytes, and the
      // keeper's own paths are relinked to it like every other path of the group.
      const keeper = withXattrs({ ...encodePath(target.path(0)), stat: target.stat() }, target.xattrs);
      store = { type: 'store' as const, group, integrity, ...encodePath(storePath), keeper };
      ops = [target, ...take];
      cost = target.size;
      counters.space?.copied(cost);
    }
    out.store(store);
    counters.storeEntries++;
    targetRef = encodePath(storePath);
  } else {
    targetRef = encodePath(target.path(0));
  }
  const targetRecord = withXattrs({ ...targetRef, stat: target.stat() }, target.xattrs);
  let freed = 0n;
  for (const inode of ops) {
    if (inode.pathCount >= inode.nlink) {
      const size = inode.size;
      freed += size;
      counters.space?.freed(size);
    }
    out.links(counters.op, group, inode, integrity, targetRecord);
    counters.op += inode.pathCount;
  }
  if (freed > cost) counters.bytesReclaimable += freed - cost;
}
