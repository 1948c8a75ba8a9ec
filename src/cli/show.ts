/**
 * `hashify show FILE`: validates a plan completely and summarises it for review — roots,
 * store, options, what will change, what it saves, the largest groups — and the digest
 * that `apply --expect` binds an approval to. `--ops` lists every operation, `--groups`
 * every group: its target, the file that becomes the store entry, and every path linked.
 */
import { openPlan } from '../planfile/readPlan.js';
import { spaceText } from '../plan/spaceFigures.js';
import { decodePath, displayPath, encodePath } from '../pathBytes.js';
import type { LinkRecord, StoreRecord } from '../planfile/records.js';
import { Output, formatBytes, stdoutClosed, type GlobalOptions } from './output.js';

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

/** Runs `hashify show`; exit 0 (an invalid plan throws). */
export function runShow(args: ShowArgs, out: Output): number {
  const plan = openPlan(args.plan);
  try {
    const { header, trailer, totals, digest } = plan;
    const top = args.top ?? 10;
    const largest: GroupInfo[] = [];
    const allGroups: GroupInfo[] = [];
    let current: GroupInfo | undefined;
    let store: StoreRecord | undefined;
    const flush = () => {
      if (!current) return;
      if (args.groups) allGroups.push(current);
      else current.paths = [];
      largest.push(current);
      largest.sort((a, b) => (b.size * BigInt(b.pathCount) > a.size * BigInt(a.pathCount) ? 1 : -1));
      if (largest.length > top) largest.pop();
      current = undefined;
    };
    const opLines: string[] = [];
    const opList: ReturnType<typeof opJson>[] = [];
    let pathsSharing = 0;
    for (const rec of plan.records()) {
      if (rec.type === 'store') store = rec;
      if (rec.type === 'store' || rec.type === 'link') {
        if (current?.group !== rec.group) {
          flush();
          const target = rec.type === 'store' ? rec : rec.target;
          // The file that becomes the entry: the keeper it is copied from, or (--adopt) the one linked in.
          const source = store?.group === rec.group ? (store.keeper ?? store.from) : undefined;
          const from = source ? decodePath(source) : undefined;
          const size = rec.stat?.size ?? (rec.type === 'store' ? rec.keeper?.stat.size : undefined) ?? '0';
          current = { group: rec.group, integrity: rec.integrity, target: decodePath(target), from, size: BigInt(size), paths: [], pathCount: 0 };
        }
      }
      if (rec.type === 'link') {
        current!.pathCount++;
        if (args.groups) current!.paths.push(decodePath(rec));
        pathsSharing++;
        if (args.ops && args.json) opList.push(opJson(rec));
        else if (args.ops && !stdoutClosed()) opLines.push(`  op ${rec.op}: ${displayPath(decodePath(rec))} -> ${displayPath(decodePath(rec.target))}`);
      }
    }
    flush();
    const m = header.match;
    const ignored = (['mode', 'owner', 'mtime', 'xattrs'] as const).filter((k) => !m[k]);
    out.result(
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
        largest: largest.map((g) => groupJson(g, !!args.groups)),
        ...(args.groups ? { groupList: allGroups.map((g) => groupJson(g, true)) } : {}),
        ...(args.ops ? { operations: opList } : {}),
      },
      () => [
        `Plan ${displayPath(plan.file)} (version ${header.version}, made by ${header.tool} at ${header.created})`,
        `  roots:    ${header.roots.map((r) => displayPath(decodePath(r))).join(' ')}`,
        `  store:    ${header.store ? displayPath(decodePath(header.store)) : 'none (links go to a kept copy)'}`,
        `  method:   ${header.link}, ${header.algorithm}, min size ${header.minSize} B, link limit ${header.linkMax}`,
        `  metadata: must match: ${(['mode', 'owner', 'mtime', 'xattrs'] as const).filter((k) => m[k]).join(', ') || 'nothing'}` +
          (ignored.length ? ` (ignored: ${ignored.join(', ')})` : ''),
        ...(header.exclude.length ? [`  excluded: ${header.exclude.map((e) => JSON.stringify(e)).join(' ')}`] : []),
        '',
        `  ${trailer.files} files scanned; ${totals.ops} paths will be replaced by a ${header.link === 'reflink' ? 'clone' : 'link'} in ${totals.groups} groups` +
          (totals.storeEntries ? ` (${totals.storeEntries} store entries)` : ''),
        `  ${spaceText(trailer.space, totals.bytesReclaimable, formatBytes)} reclaimable; afterwards ${pathsSharing + totals.groups} or more paths share ${totals.groups} inodes` +
          (header.link === 'hardlink' ? ' (one copy on disk and in the page cache each)' : ''),
        ...(trailer.skipped && Object.values(trailer.skipped).some((v) => v)
          ? [`  left out while planning: ${Object.entries(trailer.skipped).filter(([, v]) => v).map(([k, v]) => `${v} ${k}`).join(', ')}`]
          : []),
        ...(largest.length && !args.groups ? ['', `  Largest groups (by bytes they save):`, ...largest.flatMap((g) => groupLines(g, false))] : []),
        ...(args.groups ? ['', '  Groups (each path below is linked to the target):', ...allGroups.flatMap((g) => groupLines(g, true))] : []),
        ...(args.ops ? ['', '  Operations:', ...opLines] : []),
        '',
        `Digest: ${digest}`,
        `Approve and apply exactly this plan with: hashify apply ${plan.file} --expect ${digest}`,
      ],
    );
    return 0;
  } finally {
    plan.close();
  }
}
