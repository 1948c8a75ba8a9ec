/**
 * The entries a store already has for one content: its shard directory is read (a few
 * names) instead of walking the whole store, so a plan pays only for the contents it links.
 * The planner uses them to recognise hashified inodes and to name new entries apart. The
 * two directory levels above the shards are listed once each and remembered, so a content
 * whose shard does not exist (every content, in a new store) costs no system call.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { errnoCode } from '../errors.js';
import { basenameBytes, dirnameBytes, joinPath } from '../pathBytes.js';
import { parseStoreEntryPath, storeEntryPath } from './storePath.js';

export interface StoreEntry {
  path: Buffer;
  suffix: number;
  dev: bigint;
  ino: bigint;
}

/** The names in `dir`, or undefined when it does not exist. */
function list(dir: Buffer): Buffer[] | undefined {
  try {
    return readdirSync(dir, { encoding: 'buffer' });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** Looks up the entries of one content after another in `store` (see storeEntriesFor). */
export function storeLookup(store: Buffer): (integrity: string) => StoreEntry[] {
  const listings = new Map<string, Set<string> | undefined>();
  const has = (dir: Buffer, name: Buffer): boolean => {
    const key = dir.toString('latin1');
    let names = listings.get(key);
    if (!listings.has(key)) {
      const listed = list(dir);
      names = listed && new Set(listed.map((n) => n.toString('latin1')));
      listings.set(key, names);
    }
    return names?.has(name.toString('latin1')) ?? false;
  };
  return (integrity) => {
    const shard = dirnameBytes(storeEntryPath(store, integrity, 0));
    const upper = dirnameBytes(shard);
    if (!has(dirnameBytes(upper), basenameBytes(upper)) || !has(upper, basenameBytes(shard))) return [];
    return storeEntriesFor(store, integrity);
  };
}

export function storeEntriesFor(store: Buffer, integrity: string): StoreEntry[] {
  const first = storeEntryPath(store, integrity, 0);
  const shard = dirnameBytes(first);
  const names = list(shard);
  if (!names) return [];
  const out: StoreEntry[] = [];
  for (const name of names) {
    const path = joinPath(shard, name);
    const parsed = parseStoreEntryPath(store, path);
    if (!parsed || parsed.integrity !== integrity) continue;
    const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    out.push({ path, suffix: parsed.suffix, dev: st.dev, ino: st.ino });
  }
  return out;
}
