/**
 * `hashify fsck STORE [--plan PLAN]`: re-hashes every store entry and reports each whose
 * bytes no longer match its name (with its link count, and with `--plan` the paths that
 * share it), and everything in the store that is not an entry. Changes nothing.
 * Exit 0 when every entry matches its name (SPEC), also with foreign things reported beside
 * them; 3 when an entry is corrupt; 1 when an entry could not be read (and none is corrupt).
 */
import { closeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { EXIT } from '../errors.js';
import { absoluteBytes, joinPath } from '../pathBytes.js';
import { openStore } from '../store/marker.js';
import { checkStore } from '../fsck/checkStore.js';
import { planPaths } from '../fsck/planPaths.js';
import { Output, formatBytes, type GlobalOptions } from './output.js';

export interface FsckArgs extends GlobalOptions {
  store: string;
  plan?: string;
  threads?: number;
}

export async function runFsck(args: FsckArgs, out: Output): Promise<number> {
  const store = absoluteBytes(args.store);
  const shared = args.plan ? planPaths(args.plan) : undefined; // a bad plan is refused before the work
  const fd = openStore(store);
  let check;
  try {
    check = await checkStore(fd, {
      threads: args.threads ?? Math.max(1, availableParallelism()),
      onProgress: (bytes, total, done, entries) =>
        out.progress(`fsck: ${done}/${entries} entries, ${formatBytes(bytes)} of ${formatBytes(total)}${total ? ` (${Math.floor((100 * bytes) / total)}%)` : ''}`),
    });
  } finally {
    closeSync(fd);
  }
  const path = (rel: Buffer) => joinPath(store, rel);
  const corrupt = check.corrupt.map((c) => {
    const entry = path(c.entry.rel);
    const paths = shared?.get(entry.toString('latin1'));
    return { entry: entry.toString(), links: c.entry.nlink, expected: c.entry.integrity, found: c.found, ...(shared ? { paths: (paths ?? []).map((p) => p.toString()) } : {}) };
  });
  const foreign = check.foreign.map((f) => ({ path: path(f.rel).toString(), kind: f.kind, why: f.why }));
  const unreadable = check.unreadable.map((u) => ({ entry: path(u.entry.rel).toString(), why: u.why }));
  out.result({ store: store.toString(), entries: check.entries, ok: check.ok, corrupt, foreign, unreadable, bytes: check.bytes }, () => [
    ...check.corrupt.flatMap((c, i) => [
      `corrupt: ${path(c.entry.rel).toString()} (${c.entry.nlink} links): its bytes hash to ${c.found}`,
      ...(corrupt[i].paths ?? []).map((p) => `  shared by ${p}`),
    ]),
    ...check.foreign.map((f) => `foreign ${f.kind}: ${path(f.rel).toString()}: ${f.why}`),
    ...check.unreadable.map((u) => `unreadable: ${path(u.entry.rel).toString()}: ${u.why}`),
    `Checked ${check.entries} store entries (${formatBytes(check.bytes)}): ${check.ok} sound, ${check.corrupt.length} corrupt, ${check.foreign.length} foreign, ${check.unreadable.length} unreadable.`,
    ...(check.corrupt.length
      ? ['A corrupt entry was written in place through one of the paths that share it: every path sharing it now holds those bytes.']
      : []),
  ]);
  if (check.corrupt.length) return EXIT.drift;
  return check.unreadable.length ? EXIT.failure : EXIT.ok;
}
