/**
 * Whether a filesystem can clone files (FICLONE), asked of the kernel: `plan` changes only
 * its plan file, so it never writes a probe into a root to find out. btrfs and bcachefs
 * always can; XFS only when made with reflink=1 (its geometry says so); nothing else can.
 */
import { statfsSync } from 'node:fs';
import { linux } from '../native/addon.js';
import { errnoCode } from '../errors.js';

const BTRFS = 0x9123683e;
const XFS = 0x58465342;
const BCACHEFS = 0xca451a4e;

/** Undefined when the filesystem holding directory `dir` can clone; otherwise why not. */
export function whyCannotClone(dir: Buffer, fsType: string): string | undefined {
  const magic = Number(statfsSync(dir).type);
  if (magic === BTRFS || magic === BCACHEFS) return undefined;
  if (magic === XFS) {
    try {
      return linux().xfsReflink(dir) ? undefined : 'an XFS filesystem made without reflink=1';
    } catch (err) {
      return `its XFS geometry cannot be read (${errnoCode(err) ?? (err as Error).message})`;
    }
  }
  return `${fsType} does not clone files`;
}
