/**
 * The roots and the store of a plan, settled before any work: each root canonical (real
 * path, a directory, each given once, none inside another), the store where the SPEC puts
 * it, and every root on one filesystem with the store, since links cannot cross them.
 */
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { HashifyError, errnoCode } from '../errors.js';
import { absoluteBytes, dirnameBytes, displayPath, isWithin, joinPath } from '../pathBytes.js';
import type { LinkMode } from '../planfile/records.js';
import { describeFilesystem, deviceOf, filesystemOf, type Filesystem } from './filesystemOf.js';
import { whyCannotClone } from './canClone.js';

/** The roots and store options as given on the command line. */
export interface RootsRequest {
  roots: string[];
  /** `--store DIR`; ignored when `noStore` or for reflinks (a clone needs no store). */
  store?: string;
  noStore: boolean;
  link: LinkMode;
}

/** Canonical roots, the store (null without one) and their filesystem. */
export interface ResolvedRoots {
  roots: Buffer[];
  store: Buffer | null;
  /** The filesystem of the first root (they are all on it). */
  filesystem: Filesystem;
}

/** The deepest directory that holds every root. */
function commonAncestor(roots: Buffer[]): Buffer {
  let common = roots[0];
  for (const r of roots.slice(1)) {
    while (!isWithin(r, common)) common = dirnameBytes(common);
  }
  return common;
}

function canonicalRoot(root: string): Buffer {
  let real: Buffer;
  try {
    real = realpathSync.native(absoluteBytes(root), { encoding: 'buffer' });
  } catch (err) {
    throw new HashifyError('USAGE', `Cannot scan root ${displayPath(root)}: ${errnoCode(err) === 'ENOENT' ? 'it does not exist' : (err as Error).message}`);
  }
  if (!statSync(real).isDirectory()) throw new HashifyError('USAGE', `Root ${displayPath(root)} is not a directory`);
  return real;
}

function chooseStore(request: RootsRequest, roots: Buffer[]): Buffer {
  let store: Buffer;
  if (request.store !== undefined) {
    const abs = absoluteBytes(request.store);
    let parent: Buffer;
    try {
      parent = realpathSync.native(dirnameBytes(abs), { encoding: 'buffer' });
    } catch {
      throw new HashifyError('USAGE', `The parent directory of store ${displayPath(request.store)} does not exist`);
    }
    store = abs.length === 1 ? parent : joinPath(parent, abs.subarray(abs.lastIndexOf(0x2f) + 1));
    if (store.length === 1) throw new HashifyError('USAGE', 'The store cannot be / itself: name a directory for it with --store DIR');
  } else {
    const common = commonAncestor(roots);
    // `/.hash` would put hashify's store in the system's root directory: never by default.
    if (common.length === 1) {
      throw new HashifyError('USAGE', `The roots have no common directory but /, so there is no default place for the store`, {
        hint: 'name one with --store DIR (on the roots\' filesystem), or use --no-store',
      });
    }
    store = joinPath(common, Buffer.from('.hash'));
  }
  const st = lstatSync(store, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw new HashifyError('USAGE', `Store ${displayPath(store)} exists and is not a directory`);
  return store;
}

/** Settles roots and store (see the module comment); exit 2 for anything a plan cannot use. */
export function resolveRoots(request: RootsRequest): ResolvedRoots {
  if (request.roots.length === 0) throw new HashifyError('USAGE', 'plan needs at least one ROOT directory');
  let roots = [...new Map(request.roots.map(canonicalRoot).map((r) => [r.toString('latin1'), r])).values()];
  // A root inside another root would be scanned twice.
  roots = roots.filter((r) => !roots.some((o) => o !== r && isWithin(r, o)));
  const reflink = request.link === 'reflink';
  const filesystems = roots.map(filesystemOf);
  // Hard links need one device (a btrfs subvolume is its own); clones one filesystem.
  const same = (a: Filesystem, b: Filesystem) => (reflink ? a.type === b.type && a.source === b.source : a.device === b.device);
  if (filesystems.some((f) => !same(f, filesystems[0]))) {
    throw new HashifyError('ROOTS_SPLIT', `The roots are on different filesystems, and ${reflink ? 'clones' : 'hard links'} cannot cross them:\n` +
      roots.map((r, i) => `  ${displayPath(r)}: ${describeFilesystem(filesystems[i])}`).join('\n'), { hint: 'plan each filesystem apart' });
  }
  let store: Buffer | null = null;
  if (!request.noStore && !reflink) {
    store = chooseStore(request, roots);
    const storeDev = deviceOf(store);
    if (storeDev !== lstatSync(roots[0], { bigint: true }).dev) {
      throw new HashifyError('ROOTS_SPLIT', `The store ${displayPath(store)} is on another filesystem than the roots, and hard links cannot cross them:\n` +
        [`  store ${displayPath(store)}: ${describeFilesystem(filesystemOf(store))}`, ...roots.map((r, i) => `  root ${displayPath(r)}: ${describeFilesystem(filesystems[i])}`)].join('\n'),
        { hint: 'put the store on the roots\' filesystem (--store DIR), or use --no-store' });
    }
  }
  if (reflink) {
    for (const [i, r] of roots.entries()) {
      const why = whyCannotClone(r, filesystems[i].type);
      if (why) {
        throw new HashifyError('REFLINK_UNSUPPORTED', `Cannot plan reflinks: the filesystem of ${displayPath(r)} (${describeFilesystem(filesystems[i])}) cannot clone files: ${why}`, {
          hint: 'use --link hardlink, or a btrfs or XFS (reflink=1) filesystem',
        });
      }
    }
  }
  return { roots, store, filesystem: filesystems[0] };
}
