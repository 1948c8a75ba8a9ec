/**
 * Deterministic crash points: the executor kills its own process (SIGKILL) right after its
 * Nth changing step when HASHIFY_CRASH_AT=N (native/executor_fs.c, ex_step). N = 1, 2, …
 * covers every step of copy-in, exchange and clean-up, until a run finishes uncrashed.
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { hashify, type CliResult } from './cli.js';

/** `hashify ARGS` killed right after its Nth changing step (or finished, when it has fewer). */
export function crashAt(n: number, args: string[], env: Record<string, string> = {}): CliResult {
  return hashify(args, { env: { HASHIFY_CRASH_AT: String(n), ...env } });
}

function walk(dir: string, rel: string, out: Map<string, fs.BigIntStats>): void {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) walk(p, r, out);
    else out.set(r, fs.lstatSync(p, { bigint: true }));
  }
}

/** Every file below `root` (relative path → lstat). */
export function filesBelow(root: string): Map<string, fs.BigIntStats> {
  const out = new Map<string, fs.BigIntStats>();
  walk(root, '', out);
  return out;
}

/** Content and metadata of every file below the roots (not inode, link count or ctime), temp names left out. */
export function contentAndMetadata(base: string, roots: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of roots) {
    for (const [rel, st] of filesBelow(`${base}/${r}`)) {
      if (rel.includes('.hashify-tmp-')) continue;
      const hash = st.isFile() ? createHash('sha256').update(fs.readFileSync(`${base}/${r}/${rel}`)).digest('hex') : 'not a file';
      out[`${r}/${rel}`] = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeNs} ${st.size} ${hash}`;
    }
  }
  return out;
}

/** Which paths share an inode: canonical sorted groups. */
export function sharing(base: string, dirs: string[]): string[] {
  const byInode = new Map<bigint, string[]>();
  for (const d of dirs) for (const [rel, st] of filesBelow(`${base}/${d}`)) byInode.set(st.ino, [...(byInode.get(st.ino) ?? []), `${d}/${rel}`]);
  return [...byInode.values()].map((g) => g.sort().join(' = ')).sort();
}

/** `.hashify-tmp-*` names anywhere below `root`. */
export function tempFiles(root: string): string[] {
  return [...filesBelow(root).keys()].filter((r) => r.includes('.hashify-tmp-'));
}

/** Store entries whose bytes do not hash to their names (sha256 layouts with one or two shard levels). */
export function unsoundEntries(store: string): string[] {
  const bad: string[] = [];
  for (const [rel] of filesBelow(`${store}/sha256`)) {
    const hex = rel.replace(/-\d+$/, '').split('/').join('');
    if (!/^[0-9a-f]{64}$/.test(hex)) continue;
    if (createHash('sha256').update(fs.readFileSync(`${store}/sha256/${rel}`)).digest('hex') !== hex) bad.push(rel);
  }
  return bad;
}
