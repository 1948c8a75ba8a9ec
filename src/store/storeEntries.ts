/**
 * The entries a store already has for one content, for the planner: it recognises
 * hashified inodes by them and names new entries apart. By descriptor, like every walk of
 * the store (listEntries.ts): the store's root is opened once, each algorithm directory is
 * listed once, and each shard is read once (names only) into a small index the first time a
 * content of that shard is looked up; a look-up then costs one fstatat per entry of that
 * content, and a content whose shard does not exist (every content, in a new store) costs
 * no system call at all. Shard directories stay open until `close()`.
 */
import { closeSync } from 'node:fs';
import { errnoCode } from '../errors.js';
import { joinPath } from '../pathBytes.js';
import { linux } from '../native/addon.js';
import { checkStoreMarkerAt, isStoreBookkeeping, STORE_MARKER } from './marker.js';
import { ENTRY_NAME, integrityHex, storeEntryRel } from './storePath.js';

export interface StoreEntry {
  path: Buffer;
  suffix: number;
  dev: bigint;
  ino: bigint;
  nlink: number;
  size: bigint;
  ctimeNs: bigint;
}

/** Looks up one content's entries; `close()` releases the store's descriptors. */
export interface StoreLookup {
  (integrity: string): StoreEntry[];
  /** Whether `rel` ('' the store itself, the marker, an algorithm or shard directory) exists now (from the same listings). */
  has(rel: string): boolean;
  close(): void;
}

/** The hex digits of an entry's name that key a shard's index (28 bits: a small integer). */
const KEY_DIGITS = 7;

interface ShardIndex {
  fd: number;
  /** Key of the name → the suffixes of the entries with that key (a number when there is one). */
  suffixes: Map<number, number | number[]>;
}

/**
 * Opens the store at `store` for look-ups. A store that does not exist yet, or holds only
 * hashify's lock files, has no entries; any other directory must carry this layout's
 * marker (STORE_INVALID otherwise, exit 2).
 */
export function storeLookup(store: Buffer): StoreLookup {
  const addon = linux();
  let rootFd: number | undefined;
  try {
    rootFd = addon.openRoot(store);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  const fds: number[] = [];
  const algorithms = new Map<string, { fd: number; shards: Set<string> } | undefined>();
  const shards = new Map<string, ShardIndex | undefined>();
  let names: string[] = [];
  if (rootFd !== undefined) {
    fds.push(rootFd);
    names = addon.listAt(rootFd, false).map(([n]) => n.toString('latin1'));
    if (names.includes(STORE_MARKER) || names.some((n) => !isStoreBookkeeping(n))) checkStoreMarkerAt(rootFd, store);
  }
  const openDir = (dirfd: number, name: string): number | undefined => {
    try {
      const fd = addon.openBeneath(dirfd, Buffer.from(name), addon.constants.O_DIRECTORY | addon.constants.O_NOFOLLOW);
      fds.push(fd);
      return fd;
    } catch (err) {
      // Absent, or not a real directory (a symlink is never entered): no entries there.
      if (['ENOENT', 'ENOTDIR', 'ELOOP', 'EXDEV'].includes(errnoCode(err)!)) return undefined;
      throw err;
    }
  };
  const algorithmDir = (algorithm: string) => {
    if (!algorithms.has(algorithm)) {
      const fd = rootFd === undefined ? undefined : openDir(rootFd, algorithm);
      algorithms.set(algorithm, fd === undefined ? undefined : { fd, shards: new Set(addon.listAt(fd, false).map(([n]) => n.toString('latin1'))) });
    }
    return algorithms.get(algorithm);
  };
  const shardIndex = (algorithm: string, shard: string): ShardIndex | undefined => {
    const key = `${algorithm}/${shard}`;
    if (!shards.has(key)) {
      const dir = algorithmDir(algorithm);
      const fd = dir?.shards.has(shard) ? openDir(dir.fd, shard) : undefined;
      let index: ShardIndex | undefined;
      if (fd !== undefined) {
        index = { fd, suffixes: new Map() };
        for (const [name] of addon.listAt(fd, false)) {
          const m = ENTRY_NAME.exec(name.toString('latin1'));
          if (!m || m[1].length < KEY_DIGITS) continue;
          const k = parseInt(m[1].slice(0, KEY_DIGITS), 16);
          const suffix = m[2] ? Number(m[2]) : 0;
          const had = index.suffixes.get(k);
          index.suffixes.set(k, had === undefined ? suffix : Array.isArray(had) ? [...had, suffix] : [had, suffix]);
        }
      }
      shards.set(key, index);
    }
    return shards.get(key);
  };
  const lookup = ((integrity: string): StoreEntry[] => {
    if (rootFd === undefined) return [];
    const { algorithm, hex } = integrityHex(integrity);
    const index = shardIndex(algorithm, hex.slice(0, 2));
    const found = index?.suffixes.get(parseInt(hex.slice(2, 2 + KEY_DIGITS), 16));
    if (found === undefined) return [];
    const out: StoreEntry[] = [];
    // Several contents may share a key: the exact name is what counts.
    for (const suffix of new Set(Array.isArray(found) ? found : [found])) {
      const rel = storeEntryRel(integrity, suffix);
      const row = addon.statAt(index!.fd, Buffer.from(rel.slice(rel.lastIndexOf('/') + 1)));
      if (!row || row[1] !== 1) continue;
      const [, , dev, ino, nlink, size, , ctimeNs] = row;
      out.push({ path: joinPath(store, Buffer.from(rel)), suffix, dev, ino, nlink, size, ctimeNs });
    }
    return out.sort((a, b) => a.suffix - b.suffix);
  }) as StoreLookup;
  lookup.has = (rel: string): boolean => {
    if (rootFd === undefined) return false;
    if (rel === '') return true;
    if (rel === STORE_MARKER) return names.includes(STORE_MARKER);
    const [algorithm, shard] = rel.split('/');
    const dir = algorithmDir(algorithm);
    return shard === undefined ? dir !== undefined : Boolean(dir?.shards.has(shard));
  };
  lookup.close = () => {
    for (const fd of fds.splice(0)) closeSync(fd);
    rootFd = undefined;
  };
  return lookup;
}

/** The entries of one content in `store` (a one-off look-up). */
export function storeEntriesFor(store: Buffer, integrity: string): StoreEntry[] {
  const lookup = storeLookup(store);
  try {
    return lookup(integrity);
  } finally {
    lookup.close();
  }
}
