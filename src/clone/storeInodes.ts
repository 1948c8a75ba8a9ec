/**
 * The store a clone links from: opened and its marker checked by src/store, its entries found
 * by inode. The native walk lists the regular files two levels below `sha256/` and `sha512/`
 * (by descriptor, no symlink entered); only those named as entries by the store's naming rule
 * (storePath.ts) are kept. One fstatat per file: listing a store of 5,000 entries costs milliseconds.
 */
import { closeSync, realpathSync } from 'node:fs';
import { errnoCode } from '../errors.js';
import { linux } from '../native/addon.js';
import { absoluteBytes } from '../pathBytes.js';
import { openStore } from '../store/marker.js';
import { ENTRY_NAME, HEX_LENGTH, SHARD_NAME, isStoreAlgorithm } from '../store/storePath.js';
import { defaultStore } from './defaultStore.js';

export interface CloneStore {
  /** The store's root, open (-1: no store); the clone takes it over. */
  fd: number;
  path: Buffer | null;
  /** Every entry's inode and path below the store (NUL after each), as native cloneStart takes them. */
  entries: { dev: BigUint64Array; ino: BigUint64Array; rels: Buffer };
}

const NONE = { dev: new BigUint64Array(0), ino: new BigUint64Array(0), rels: Buffer.alloc(0) };

/** A rule's pattern without its anchors, to be used inside a longer one. */
const inner = (re: RegExp): string => re.source.replace(/^\^/, '').replace(/\$$/, '');

/**
 * One listed path `ALGORITHM/SHARD/NAME` and its NUL, by the same rules (SHARD_NAME, ENTRY_NAME
 * with its digits as long as the algorithm's digest less the shard's two): matched over the
 * whole listing at once, in the regexp engine rather than a loop of JS, which a fresh process
 * runs slowly (10 ms for 5,000 entries). null when ENTRY_NAME's digits are not the run this
 * fixes the length of (every name is then checked alone).
 */
const ONE_ENTRY = ((): RegExp | null => {
  const digits = '([0-9a-f]+)';
  if (!inner(ENTRY_NAME).startsWith(digits)) return null;
  const paths = Object.entries(HEX_LENGTH).map(([algorithm, hex]) => `${algorithm}/${inner(SHARD_NAME)}/${inner(ENTRY_NAME).replace(digits, `[0-9a-f]{${hex - 2}}`)}`);
  return new RegExp(`(?:${paths.join('|')})\\0`, 'g');
})();

/**
 * The listed files that are entries by the store's own rule (entryNameParts without making
 * the integrity string, which costs more than the walk). A store holds nothing else, so the
 * listing is returned as it is when every name passes (the usual case, ONE_ENTRY); otherwise
 * each shard's directory is checked once, then each name, and the entries are copied out.
 */
function onlyEntries(files: CloneStore['entries']): CloneStore['entries'] {
  // the usual case: nothing is left once every path that is an entry is taken out (each match
  // ends at a NUL and holds none, so an empty rest means every path matched whole)
  if (ONE_ENTRY && files.rels.toString('latin1').replace(ONE_ENTRY, '') === '') return files;
  const rels = files.rels.toString('latin1').split('\0');
  const keep: number[] = [];
  let shard: string | undefined;
  let hexLength = 0; // of the current shard's algorithm; 0: not a shard
  for (let i = 0; i < files.dev.length; i++) {
    const cut = rels[i].lastIndexOf('/');
    if (rels[i].slice(0, cut) !== shard) {
      shard = rels[i].slice(0, cut);
      const [algorithm, name, more] = shard.split('/');
      hexLength = more === undefined && isStoreAlgorithm(algorithm) && SHARD_NAME.test(name) ? HEX_LENGTH[algorithm] : 0;
    }
    const m = hexLength ? ENTRY_NAME.exec(rels[i].slice(cut + 1)) : null;
    if (m !== null && m[1].length + 2 === hexLength) keep.push(i);
  }
  if (keep.length === files.dev.length) return files;
  return {
    dev: BigUint64Array.from(keep, (i) => files.dev[i]),
    ino: BigUint64Array.from(keep, (i) => files.ino[i]),
    rels: Buffer.from(keep.map((i) => rels[i] + '\0').join(''), 'latin1'),
  };
}

/**
 * `--store DIR` must be a store of this layout (exit 2 otherwise). Without it, the default
 * store (as `plan` would choose for SRC and DST) is used when it exists; when it does not,
 * `onNoStore` is told and every file is copied.
 */
export function openCloneStore(store: string | undefined, src: Buffer, dst: Buffer, onNoStore?: (path: Buffer) => void): CloneStore {
  let path: Buffer;
  if (store !== undefined) path = absoluteBytes(store);
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
    return { fd, path, entries: onlyEntries(linux().listStoreFiles(fd)) };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}
