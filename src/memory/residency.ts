/**
 * Resident bytes of an open file: cachestat(2) counts its pages in the page cache. Where the
 * kernel cannot or will not tell (ENOSYS before Linux 6.5, EPERM under a seccomp filter,
 * EOPNOTSUPP on hugetlbfs), the answer is null: an unknown, never an estimate.
 */
import { linux } from '../native/addon.js';
import { errnoCode } from '../errors.js';

const UNKNOWN = new Set(['ENOSYS', 'EPERM', 'EOPNOTSUPP', 'EACCES', 'EINVAL']);

/** Bytes of the file behind `fd` that are in the page cache, or null when the kernel will not say. */
export function residentBytes(fd: number, cachestat: (fd: number) => { cache: number } = (f) => linux().cachestat(f)): number | null {
  try {
    return cachestat(fd).cache;
  } catch (err) {
    if (UNKNOWN.has(errnoCode(err) ?? '')) return null;
    throw err;
  }
}
