/**
 * Indexes the entries already in a store: which inode each one is, and which suffixes
 * each content uses, so that the planner recognises hashified files and never names a new
 * entry like an old one. Anything in the store that is not an entry is ignored.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { errnoCode } from '../errors.js';
import { joinPath } from '../pathBytes.js';
import { parseStoreEntryPath } from './storePath.js';

export interface StoreIndex {
  /** `dev:ino` → entry. */
  byInode: Map<string, { path: Buffer; integrity: string; suffix: number }>;
  suffixes: Map<string, Set<number>>;
  entries: number;
}

function list(dir: Buffer): Buffer[] {
  try {
    return readdirSync(dir, { encoding: 'buffer' });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return [];
    throw err;
  }
}

export function scanStore(store: Buffer): StoreIndex {
  const index: StoreIndex = { byInode: new Map(), suffixes: new Map(), entries: 0 };
  for (const algorithm of ['sha256', 'sha512']) {
    const top = joinPath(store, Buffer.from(algorithm));
    for (const a of list(top)) {
      const da = joinPath(top, a);
      for (const b of list(da)) {
        const db = joinPath(da, b);
        for (const name of list(db)) {
          const path = joinPath(db, name);
          const parsed = parseStoreEntryPath(store, path);
          if (!parsed) continue;
          const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
          if (!st?.isFile()) continue;
          index.entries++;
          index.byInode.set(`${st.dev}:${st.ino}`, { path, ...parsed });
          const used = index.suffixes.get(parsed.integrity);
          if (used) used.add(parsed.suffix);
          else index.suffixes.set(parsed.integrity, new Set([parsed.suffix]));
        }
      }
    }
  }
  return index;
}
