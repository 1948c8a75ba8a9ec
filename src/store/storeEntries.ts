/**
 * The entries a store already has for one content: its shard directory is read (a few
 * names) instead of walking the whole store, so a plan pays only for the contents it links.
 * The planner uses them to recognise hashified inodes and to name new entries apart.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { errnoCode } from '../errors.js';
import { dirnameBytes, joinPath } from '../pathBytes.js';
import { parseStoreEntryPath, storeEntryPath } from './storePath.js';

export interface StoreEntry {
  path: Buffer;
  suffix: number;
  dev: bigint;
  ino: bigint;
}

export function storeEntriesFor(store: Buffer, integrity: string): StoreEntry[] {
  const first = storeEntryPath(store, integrity, 0);
  const shard = dirnameBytes(first);
  let names: Buffer[];
  try {
    names = readdirSync(shard, { encoding: 'buffer' });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return [];
    throw err;
  }
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
