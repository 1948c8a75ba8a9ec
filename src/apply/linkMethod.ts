/**
 * How a path is replaced, chosen once per plan (pnpm's importer): a hard link to the
 * group's target inode, or a copy-on-write clone of it with the path's own metadata.
 */
import { K } from '../run/executor.js';
import type { LinkMode } from '../planfile/records.js';

export interface LinkMethod {
  name: LinkMode;
  /** The executor's replace step. */
  replaceKind: number;
  /**
   * Target step flags: 1 = a read lease must be had (a keeper open for writing is drift);
   * 2 = a private clone of the target is made and hashed, so no writer can change what the
   * group's clones are made from.
   */
  targetFlags: number;
}

const hardlink: LinkMethod = { name: 'hardlink', replaceKind: K.link, targetFlags: 1 };
const reflink: LinkMethod = { name: 'reflink', replaceKind: K.reflink, targetFlags: 2 };

export function linkMethodOf(mode: LinkMode): LinkMethod {
  return mode === 'reflink' ? reflink : hardlink;
}
