/**
 * Copy-on-write clones (btrfs, XFS): `copyFile` with COPYFILE_FICLONE_FORCE fails rather
 * than falling back to a real copy.
 */
import { constants, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';

/** Clones `src` into the new file `dst` (which must not exist). */
export function cloneFile(src: Buffer | string, dst: Buffer | string): void {
  copyFileSync(src, dst, constants.COPYFILE_FICLONE_FORCE | constants.COPYFILE_EXCL);
}

/**
 * Probes whether the filesystem of directory `dir` can clone: makes a scratch directory
 * there, clones a small file inside it and removes both. Returns the reason when it cannot.
 */
export function canReflink(dir: Buffer): string | undefined {
  let scratch: string | undefined;
  try {
    scratch = mkdtempSync(join(dir.toString(), '.hashify-probe-'));
    writeFileSync(join(scratch, 'a'), 'hashify reflink probe\n');
    cloneFile(join(scratch, 'a'), join(scratch, 'b'));
    return undefined;
  } catch (err) {
    return errnoCode(err) ?? (err as Error).message;
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}
