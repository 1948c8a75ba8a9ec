/** The store a clone links from: opened and checked by src/store, its entries listed by inode. */
import { closeSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { errnoCode } from '../errors.js';
import { listEntries } from '../store/listEntries.js';
import { openStore } from '../store/marker.js';
import { defaultStore } from './defaultStore.js';

export interface CloneStore {
  /** The store's root, open (-1: no store); the clone takes it over. */
  fd: number;
  path: Buffer | null;
  /** Every entry's inode and path below the store, in the form native cloneStart takes. */
  entries: { dev: BigUint64Array; ino: BigUint64Array; rels: Buffer };
}

const NONE = { dev: new BigUint64Array(0), ino: new BigUint64Array(0), rels: Buffer.alloc(0) };

/**
 * `--store DIR` must be a store of this layout (exit 2 otherwise). Without it, the default
 * store (as `plan` would choose for SRC and DST) is used when it exists; when it does not,
 * `onNoStore` is told and every file is copied.
 */
export function openCloneStore(store: string | undefined, src: Buffer, dst: Buffer, onNoStore?: (path: Buffer) => void): CloneStore {
  let path: Buffer;
  if (store !== undefined) path = Buffer.from(resolve(store));
  else {
    path = defaultStore([src, dst]);
    try {
      path = realpathSync.native(path, { encoding: 'buffer' });
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      onNoStore?.(path);
      return { fd: -1, path: null, entries: NONE };
    }
  }
  const fd = openStore(path);
  try {
    const { entries } = listEntries(fd);
    const dev = new BigUint64Array(entries.length);
    const ino = new BigUint64Array(entries.length);
    const rels: Buffer[] = [];
    entries.forEach((e, i) => {
      dev[i] = e.dev;
      ino[i] = e.ino;
      rels.push(e.rel, Buffer.alloc(1));
    });
    return { fd, path, entries: { dev, ino, rels: Buffer.concat(rels) } };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
