/**
 * `hashify show FILE`: validates a plan completely and summarises it for review — roots,
 * store, options, what will change, what it saves, the largest groups — and the digest
 * that `apply --expect` binds an approval to. `--ops` lists every operation, `--groups`
 * every group: its target, the file that becomes the store entry, and every path linked.
 */
import { openPlan } from '../planfile/readPlan.js';
import { spaceText } from '../plan/spaceFigures.js';
import { decodePath, displayPath, encodePath, shellWord } from '../pathBytes.js';
import type { LinkRecord, PlanRecord, StoreRecord } from '../planfile/records.js';
import { Output, formatBytes, type GlobalOptions } from './output.js';

export interface ShowArgs extends GlobalOptions {
  plan: string;
  ops?: boolean;
  groups?: boolean;
  top?: number;
}

interface GroupInfo {
  group: number;
  integrity: string;
  /** What every path of the group will be linked to: a store entry or a kept file. */
  target: Buffer;
  /** The file whose bytes become the new store entry (none when the entry exists or without a store). */
  from?: Buffer;
  size: bigint;
  paths: Buffer[];
  pathCount: number;
}

/** One operation for `--json --ops`. */
function opJson(rec: LinkRecord) {
  const target = encodePath(decodePath(rec.target));
  return { op: rec.op, group: rec.group, ...encodePath(decodePath(rec)), target: target.path, ...(target.path64 ? { target64: target.path64 } : {}), integrity: rec.integrity, size: Number(rec.stat.size) };
}

/** A group for `--json`: its paths are listed with `--groups` only (an empty list would read as "no paths"). */
function groupJson(g: GroupInfo, withPaths: boolean) {
  const from = g.from && encodePath(g.from);
  return {
    group: g.group,
    integrity: g.integrity,
    size: Number(g.size),
    target: encodePath(g.target),
    ...(from ? { from } : {}),
    pathCount: g.pathCount,
    ...(withPaths ? { paths: g.paths.map(encodePath) } : {}),
  };
}

function groupLines(g: GroupInfo, withPaths: boolean): string[] {
  return [
    `    group ${g.group}: ${g.pathCount} link${g.pathCount === 1 ? '' : 's'} x ${formatBytes(g.size)} -> ${displayPath(g.target)}`,
    ...(g.from ? [`      new store entry made from ${displayPath(g.from)}`] : []),
    ...(withPaths ? g.paths.map((p) => `      ${displayPath(p)}`) : []),
  ];
}

/**
 * The plan's groups in order, each with its path count (and its paths when asked): one group
 * in memory at a time.
 */
function* groupsOf(records: Iterable<PlanRecord>, withPaths: boolean): Generator<GroupInfo> {
  let current: GroupInfo | undefined;
  let store: StoreRecord | undefined;
  for (const rec of records) {
    if (rec.type === 'store') store = rec;
    if (rec.type !== 'store' && rec.type !== 'link') continue;
    if (current?.group !== rec.group) {
      if (current) yield current;
      const target = rec.type === 'store' ? rec : rec.target;
      // The file that becomes the entry: the keeper it is copied from, or (--adopt) the one linked in.
      const source = store?.group === rec.group ? (store.keeper ?? store.from) : undefined;
      const from = source ? decodePath(source) : undefined;
      const size = rec.stat?.size ?? (rec.type === 'store' ? rec.keeper?.stat.size : undefined) ?? '0';
      current = { group: rec.group, integrity: rec.integrity, target: decodePath(target), from, size: BigInt(size), paths: [], pathCount: 0 };
    }
    if (rec.type === 'link') {
      current.pathCount++;
      if (withPaths) current.paths.push(decodePath(rec));
    }
  }
  if (current) yield current;
}

function* linksOf(records: Iterable<PlanRecord>): Generator<LinkRecord> {
  for (const rec of records) if (rec.type === 'link') yield rec;
}

/**
 * Runs `hashify show`; exit 0 (an invalid plan throws). The plan is read once for the summary
 * and the largest groups, then again for `--groups` and `--ops`, which are written as they
 * are read: a plan of millions of operations is listed in bounded memory.
 */
export function runShow(args: ShowArgs, out: Output): number {
  const plan = openPlan(args.plan);
  try {
    const { header, trailer, totals, digest } = plan;
    const top = args.top ?? 10;
    const withPaths = Boolean(args.groups);
    const bytesSavedBy = (g: GroupInfo) => g.size * BigInt(g.pathCount);
    const largest: GroupInfo[] = [];
    let pathsSharing = 0;
    for (const g of groupsOf(plan.records(), withPaths)) {
      pathsSharing += g.pathCount;
      if (largest.length === top && bytesSavedBy(g) <= bytesSavedBy(largest[top - 1])) continue;
      largest.push(g);
      largest.sort((a, b) => (bytesSavedBy(b) > bytesSavedBy(a) ? 1 : -1));
      if (largest.length > top) largest.pop();
    }
    const m = header.match;
    const ignored = (['mode', 'owner', 'mtime', 'xattrs'] as const).filter((k) => !m[k]);
    const lists: Record<string, () => Iterable<unknown>> = {};
    if (args.groups) lists.groupList = () => map(groupsOf(plan.records(), true), (g) => groupJson(g, true));
    if (args.ops) lists.operations = () => map(linksOf(plan.records()), opJson);
    out.resultStreamed(
      {
        digest,
        files: trailer.files,
        groups: totals.groups,
        ops: totals.ops,
        bytesReclaimable: Number(trailer.space?.bytesReclaimable ?? totals.bytesReclaimable),
        bytesApparent: Number(totals.bytesReclaimable),
        storeEntries: totals.storeEntries,
        sharedInodes: totals.groups,
        link: header.link,
        roots: header.roots.map((r) => decodePath(r).toString()),
        store: header.store ? decodePath(header.store).toString() : null,
        created: header.created,
        largest: largest.map((g) => groupJson(g, withPaths)),
      },
      lists,
      function* () {
        yield `Plan ${displayPath(plan.file)} (version ${header.version}, made by ${header.tool} at ${header.created})`;
        yield `  roots:    ${header.roots.map((r) => displayPath(decodePath(r))).join(' ')}`;
        yield `  store:    ${header.store ? displayPath(decodePath(header.store)) : 'none (links go to a kept copy)'}`;
        yield `  method:   ${header.link}, ${header.algorithm}, min size ${header.minSize} B, link limit ${header.linkMax}`;
        yield `  metadata: must match: ${(['mode', 'owner', 'mtime', 'xattrs'] as const).filter((k) => m[k]).join(', ') || 'nothing'}` +
          (ignored.length ? ` (ignored: ${ignored.join(', ')})` : '');
        if (header.exclude.length) yield `  excluded: ${header.exclude.map((e) => JSON.stringify(e)).join(' ')}`;
        yield '';
        yield `  ${trailer.files} files scanned; ${totals.ops} paths will be replaced by a ${header.link === 'reflink' ? 'clone' : 'link'} in ${totals.groups} groups` +
          (totals.storeEntries ? ` (${totals.storeEntries} store entries)` : '');
        yield `  ${spaceText(trailer.space, totals.bytesReclaimable, formatBytes)} reclaimable; afterwards ${pathsSharing + totals.groups} or more paths share ${totals.groups} inodes` +
          (header.link === 'hardlink' ? ' (one copy on disk and in the page cache each)' : '');
        if (trailer.skipped && Object.values(trailer.skipped).some((v) => v)) {
          yield `  left out while planning: ${Object.entries(trailer.skipped).filter(([, v]) => v).map(([k, v]) => `${v} ${k}`).join(', ')}`;
        }
        if (largest.length && !args.groups) yield* ['', `  Largest groups (by bytes they save):`, ...largest.flatMap((g) => groupLines(g, false))];
        if (args.groups) {
          yield* ['', '  Groups (each path below is linked to the target):'];
          for (const g of groupsOf(plan.records(), true)) yield* groupLines(g, true);
        }
        if (args.ops) {
          yield* ['', '  Operations:'];
          for (const rec of linksOf(plan.records())) yield `  op ${rec.op}: ${displayPath(decodePath(rec))} -> ${displayPath(decodePath(rec.target))}`;
        }
        yield '';
        yield `Digest: ${digest}`;
        yield `Approve and apply exactly this plan with: hashify apply ${shellWord(plan.file)} --expect ${digest}`;
      },
    );
    return 0;
  } finally {
    plan.close();
  }
}

function* map<T, U>(items: Iterable<T>, f: (item: T) => U): Generator<U> {
  for (const item of items) yield f(item);
}
