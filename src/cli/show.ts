/**
 * `hashify show FILE`: validates a plan completely and summarises it for review — roots,
 * store, options, what will change, what it saves, the largest groups — and the digest
 * that `apply --expect` binds an approval to. `--ops` lists every operation.
 */
import { openPlan } from '../planfile/readPlan.js';
import { decodePath } from '../pathBytes.js';
import { Output, formatBytes, type GlobalOptions } from './output.js';

export interface ShowArgs extends GlobalOptions {
  plan: string;
  ops?: boolean;
  top?: number;
}

interface GroupInfo {
  group: number;
  integrity: string;
  target: string;
  size: bigint;
  paths: number;
}

export function runShow(args: ShowArgs, out: Output): number {
  const plan = openPlan(args.plan);
  try {
    const { header, trailer, totals, digest } = plan;
    const top = args.top ?? 10;
    const largest: GroupInfo[] = [];
    let current: GroupInfo | undefined;
    const flush = () => {
      if (!current) return;
      largest.push(current);
      largest.sort((a, b) => (b.size * BigInt(b.paths) > a.size * BigInt(a.paths) ? 1 : -1));
      if (largest.length > top) largest.pop();
      current = undefined;
    };
    const opLines: string[] = [];
    let pathsSharing = 0;
    for (const rec of plan.records()) {
      if (rec.type === 'store' || rec.type === 'link') {
        if (current?.group !== rec.group) {
          flush();
          const target = rec.type === 'store' ? rec : rec.target;
          current = { group: rec.group, integrity: rec.integrity, target: JSON.stringify(decodePath(target).toString()), size: BigInt((rec.stat ?? (rec.type === 'store' ? rec.keeper!.stat : undefined))!.size), paths: 0 };
        }
      }
      if (rec.type === 'link') {
        current!.paths++;
        pathsSharing++;
        if (args.ops) opLines.push(`  op ${rec.op}: ${JSON.stringify(decodePath(rec).toString())} -> ${JSON.stringify(decodePath(rec.target).toString())}`);
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
        bytesReclaimable: Number(totals.bytesReclaimable),
        storeEntries: totals.storeEntries,
        sharedInodes: totals.groups,
        link: header.link,
        roots: header.roots.map((r) => decodePath(r).toString()),
        store: header.store ? decodePath(header.store).toString() : null,
        created: header.created,
        ...(args.ops ? { operations: opLines.length } : {}),
      },
      () => [
        `Plan ${plan.file} (version ${header.version}, made by ${header.tool} at ${header.created})`,
        `  roots:    ${header.roots.map((r) => JSON.stringify(decodePath(r).toString())).join(' ')}`,
        `  store:    ${header.store ? JSON.stringify(decodePath(header.store).toString()) : 'none (links go to a kept copy)'}`,
        `  method:   ${header.link}, ${header.algorithm}, min size ${header.minSize} B, link limit ${header.linkMax}`,
        `  metadata: must match: ${(['mode', 'owner', 'mtime', 'xattrs'] as const).filter((k) => m[k]).join(', ') || 'nothing'}` +
          (ignored.length ? ` (ignored: ${ignored.join(', ')})` : ''),
        ...(header.exclude.length ? [`  excluded: ${header.exclude.map((e) => JSON.stringify(e)).join(' ')}`] : []),
        '',
        `  ${trailer.files} files scanned; ${totals.ops} paths will be replaced by a ${header.link === 'reflink' ? 'clone' : 'link'} in ${totals.groups} groups` +
          (totals.storeEntries ? ` (${totals.storeEntries} store entries)` : ''),
        `  ${formatBytes(totals.bytesReclaimable)} reclaimable; afterwards ${totals.groups} inodes are shared by ${pathsSharing + totals.groups}+ paths` +
          (header.link === 'hardlink' ? ' (one copy on disk and in the page cache each)' : ''),
        ...(trailer.skipped && Object.values(trailer.skipped).some((v) => v)
          ? [`  left out while planning: ${Object.entries(trailer.skipped).filter(([, v]) => v).map(([k, v]) => `${v} ${k}`).join(', ')}`]
          : []),
        ...(largest.length ? ['', `  Largest groups (by bytes they save):`] : []),
        ...largest.map((g) => `    group ${g.group}: ${g.paths} links x ${formatBytes(g.size)} -> ${g.target}`),
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
