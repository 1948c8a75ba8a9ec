/**
 * The one walk of a store (gc, fsck, clone and the planner's lookup use it): by descriptor,
 * from the store's root descriptor down `<algorithm>/<shard>/<entry>`, each directory opened
 * beneath its parent with openat2 (no symlink, no `..`, no mount crossing) and listed with
 * fstatat that never follows. A symlink anywhere in the store is reported, never entered, so
 * a store inside a guest's tree whose `sha256/` or shard a guest replaced by a symlink to a
 * host directory yields nothing of that directory.
 *
 * Besides entries, the walk yields everything else it finds ("foreign"): stray files, wrong
 * names, symlinks, directories that are not shards (the old two-level layout's `ab/cd/`
 * among them). The marker and hashify's lock files in the root are not foreign.
 */
import { closeSync } from 'node:fs';
import { errnoCode } from '../errors.js';
import { linux } from '../native/addon.js';
import { packedRows, type DirRow } from './packedRows.js';
import { SHARD_NAME, entryNameParts, integrityOfHex, isStoreAlgorithm, isStoreBookkeeping, type StoreAlgorithm } from './storePath.js';

/** One store entry as listed: its name's meaning, and its lstat fields as the shard's listing gave them. */
export interface ListedEntry extends Omit<DirRow, 'name' | 'kind'> {
  /** Path relative to the store: `sha256/ab/<62 hex>[-N]`. */
  rel: Buffer;
  /** Its name in its shard. */
  name: Buffer;
  algorithm: StoreAlgorithm;
  /** The hex digest its name stands for (raw, for comparisons in loops). */
  hex: string;
  /** Its SRI integrity string (made by ssri when read). */
  readonly integrity: string;
  suffix: number;
}

export type ForeignKind = 'file' | 'directory' | 'symlink' | 'other';

/** Something in the store that is not an entry. */
export interface Foreign {
  rel: Buffer;
  kind: ForeignKind;
  /** Why it is not an entry, for people. */
  why: string;
}

/** One shard directory: its entries and foreign names, and a descriptor valid until the walk moves on. */
export interface Shard {
  algorithm: StoreAlgorithm;
  /** The shard's name (two hex digits) in its algorithm directory. */
  name: Buffer;
  rel: Buffer;
  /** The shard directory, open; closed when the walk moves on. */
  fd: number;
  /** The algorithm directory, open (to remove the shard once empty). */
  parentFd: number;
  entries: ListedEntry[];
  foreign: Foreign[];
}

const KINDS: ForeignKind[] = ['other', 'file', 'directory', 'symlink', 'other'];
const SLASH = Buffer.from('/');
const join = (dir: Buffer, name: Buffer) => Buffer.concat([dir, SLASH, name]);

/** A listed entry; its integrity string is made (by ssri) only when asked for: gc never needs it. */
class Entry implements ListedEntry {
  private sri?: string;
  constructor(
    readonly rel: Buffer,
    readonly name: Buffer,
    readonly algorithm: StoreAlgorithm,
    readonly hex: string,
    readonly suffix: number,
    readonly dev: bigint,
    readonly ino: bigint,
    readonly nlink: number,
    readonly size: bigint,
    readonly blocks: bigint,
    readonly ctimeNs: bigint,
  ) {}

  get integrity(): string {
    return (this.sri ??= integrityOfHex(this.algorithm, this.hex));
  }
}

/** Opens directory `name` beneath `dirfd`; undefined (and a foreign item) when it is not a plain directory any more. */
function openDir(dirfd: number, name: Buffer, rel: Buffer, foreign: Foreign[]): number | undefined {
  const addon = linux();
  try {
    return addon.openBeneath(dirfd, name, addon.constants.O_DIRECTORY | addon.constants.O_NOFOLLOW);
  } catch (err) {
    const code = errnoCode(err);
    // Swapped for a symlink (ELOOP, ENOTDIR), removed, or a mount point (EXDEV) since listed.
    if (code === 'ELOOP' || code === 'ENOTDIR') foreign.push({ rel, kind: 'symlink', why: 'replaced by something that is not a directory while the store was walked' });
    else if (code === 'EXDEV') foreign.push({ rel, kind: 'directory', why: 'a mount point (not crossed)' });
    else if (code !== 'ENOENT') throw err;
    return undefined;
  }
}

/**
 * Walks the store open at `storeFd` (its marker already checked), shard by shard, in name
 * order. Foreign things above the shards (in the root and the algorithm directories) go to
 * `onForeign` as they are found; each shard's own are in its `foreign`.
 */
export function* walkStore(storeFd: number, onForeign: (f: Foreign) => void): Generator<Shard> {
  const addon = linux();
  for (const { name, kind } of packedRows(addon.listPackedAt(storeFd))) {
    const text = name.toString('latin1');
    if (kind === 0 || (kind === 1 && isStoreBookkeeping(text))) continue;
    if (kind !== 2 || !isStoreAlgorithm(text)) {
      onForeign({ rel: name, kind: KINDS[kind], why: kind === 3 ? 'a symlink (never followed)' : 'not part of the store layout' });
      continue;
    }
    const algorithm = text as StoreAlgorithm;
    const above: Foreign[] = [];
    const afd = openDir(storeFd, name, name, above);
    above.forEach(onForeign);
    if (afd === undefined) continue;
    try {
      for (const { name: sname, kind: skind } of packedRows(addon.listPackedAt(afd))) {
        const srel = join(name, sname);
        if (skind === 0) continue;
        if (skind !== 2 || !SHARD_NAME.test(sname.toString('latin1'))) {
          onForeign({ rel: srel, kind: KINDS[skind], why: skind === 3 ? 'a symlink (never followed)' : 'not a shard directory' });
          continue;
        }
        const foreign: Foreign[] = [];
        const sfd = openDir(afd, sname, srel, foreign);
        if (sfd === undefined) {
          foreign.forEach(onForeign);
          continue;
        }
        try {
          yield { algorithm, name: sname, rel: srel, fd: sfd, parentFd: afd, ...listShard(sfd, algorithm, sname, srel, foreign) };
        } finally {
          closeSync(sfd);
        }
      }
    } finally {
      closeSync(afd);
    }
  }
}

function listShard(sfd: number, algorithm: StoreAlgorithm, shard: Buffer, srel: Buffer, foreign: Foreign[]): { entries: ListedEntry[]; foreign: Foreign[] } {
  const entries: ListedEntry[] = [];
  const shardText = shard.toString('latin1');
  for (const { name, kind, dev, ino, nlink, size, blocks, ctimeNs } of packedRows(linux().listPackedAt(sfd))) {
    if (kind === 0) continue;
    const rel = join(srel, name);
    const parsed = entryNameParts(algorithm, shardText, name.toString('latin1'));
    if (kind === 1 && parsed) entries.push(new Entry(rel, name, algorithm, parsed.hex, parsed.suffix, dev, ino, nlink, size, blocks, ctimeNs));
    else {
      const why = kind === 3 ? 'a symlink (never followed)' : kind === 2 ? 'a directory inside a shard (the old two-level layout?)' : parsed ? 'not a regular file' : 'not named as an entry';
      foreign.push({ rel, kind: KINDS[kind], why });
    }
  }
  return { entries, foreign };
}

/** Every entry of the store open at `storeFd`, and everything foreign (see walkStore). */
export function listEntries(storeFd: number): { entries: ListedEntry[]; foreign: Foreign[] } {
  const entries: ListedEntry[] = [];
  const foreign: Foreign[] = [];
  for (const shard of walkStore(storeFd, (f) => foreign.push(f))) {
    entries.push(...shard.entries);
    foreign.push(...shard.foreign);
  }
  return { entries, foreign };
}
