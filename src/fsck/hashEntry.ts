/**
 * Hashes one store entry from a descriptor opened beneath the store's root (openat2, no
 * symlink followed), checking that it is the inode the walk listed. Runs in fsck's worker
 * threads (which share the process's descriptors) or inline.
 */
import { fstatSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { errnoCode } from '../errors.js';
import { linux } from '../native/addon.js';

/** One entry to check: its path relative to the store, algorithm and listed inode. */
export interface EntryTask {
  rel: Uint8Array;
  algorithm: string;
  ino: bigint;
}

/** The hex digest found, or why none could be taken. */
export type EntryOutcome = { hex: string; bytes: number } | { error: string; bytes: number };

const BUFFER_BYTES = 1 << 20;
let buffer: Buffer | undefined;
let noAtime = true;

function open(storeFd: number, rel: Buffer): number {
  const addon = linux();
  const flags = addon.constants.O_NOFOLLOW | (noAtime ? addon.constants.O_NOATIME : 0);
  try {
    return addon.openBeneath(storeFd, rel, flags);
  } catch (err) {
    // O_NOATIME needs the file's owner or CAP_FOWNER: keep reading without it.
    if (errnoCode(err) !== 'EPERM' || !noAtime) throw err;
    noAtime = false;
    return open(storeFd, rel);
  }
}

/** Reads and hashes the entry `task` of the store open at `storeFd`. */
export function hashEntry(storeFd: number, task: EntryTask): EntryOutcome {
  let fd: number;
  try {
    fd = open(storeFd, Buffer.from(task.rel.buffer, task.rel.byteOffset, task.rel.byteLength));
  } catch (err) {
    return { error: errnoCode(err) === 'ENOENT' ? 'removed while checked' : `cannot open it (${errnoCode(err) ?? (err as Error).message})`, bytes: 0 };
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile() || st.ino !== task.ino) return { error: 'replaced while checked', bytes: 0 };
    buffer ??= Buffer.allocUnsafe(BUFFER_BYTES);
    const hash = createHash(task.algorithm);
    let bytes = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, BUFFER_BYTES, bytes);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      bytes += n;
    }
    return { hex: hash.digest('hex'), bytes };
  } catch (err) {
    return { error: `cannot read it (${errnoCode(err) ?? (err as Error).message})`, bytes: 0 };
  } finally {
    linux().close(fd);
  }
}
