/**
 * Opens a file that a plan names (a store entry, a keeper, a linked path) by descriptor,
 * resolved by the kernel beneath the plan root or store that holds it: a symlink anywhere on
 * the way, a `..` or a mount point fails instead of leading out of the tree. Read-only, no
 * atime change (O_NOATIME, where the caller may), no blocking on a FIFO.
 */
import { closeSync, constants } from 'node:fs';
import { linux } from '../native/addon.js';
import { decodePath, isWithin } from '../pathBytes.js';
import { errnoCode } from '../errors.js';
import type { HeaderRecord } from '../planfile/records.js';

const READ = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** The plan's roots and store, each opened once as a directory to resolve beneath. */
export class PlanFiles {
  private bases: Array<{ path: Buffer; fd: number | undefined; error?: string }>;
  private noatime = constants.O_NOATIME;
  private store: Buffer | undefined;

  constructor(header: HeaderRecord) {
    const paths = header.roots.map(decodePath);
    this.store = header.store ? decodePath(header.store) : undefined;
    if (this.store) paths.push(this.store);
    // The deepest base first: a store inside a root is resolved beneath the store.
    this.bases = paths.sort((a, b) => b.length - a.length).map((path) => ({ path, fd: undefined }));
  }

  /** True when `path` lies in the plan's store. */
  inStore(path: Buffer): boolean {
    return this.store !== undefined && this.bases.find((b) => isWithin(path, b.path) && path.length > b.path.length)?.path === this.store;
  }

  /** A read-only descriptor of the file at `path`; throws an errno error (ELOOP, EXDEV, ENOENT…). */
  open(path: Buffer): number {
    const base = this.bases.find((b) => isWithin(path, b.path) && path.length > b.path.length);
    if (!base) throw Object.assign(new Error(`${JSON.stringify(path.toString())} is outside the plan's roots and store`), { code: 'EXDEV' });
    if (base.fd === undefined) base.fd = linux().openRoot(base.path);
    const rel = path.subarray(base.path.length + (base.path.length === 1 ? 0 : 1));
    try {
      return linux().openBeneath(base.fd, rel, READ | this.noatime);
    } catch (err) {
      // O_NOATIME needs ownership or CAP_FOWNER: without it, read with atime updates.
      if (errnoCode(err) !== 'EPERM' || !this.noatime) throw err;
      this.noatime = 0;
      return linux().openBeneath(base.fd, rel, READ);
    }
  }

  close(): void {
    for (const b of this.bases) if (b.fd !== undefined) closeSync(b.fd);
  }
}
