/**
 * The filesystem calls apply and undo make, as an interface: tests wrap it to inject
 * EMLINK, ENOSPC, EROFS or a crash at any call.
 */
import * as fs from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { cloneFile } from './reflink.js';
import { linux } from '../native/addon.js';

const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

export interface ApplyFs {
  lstat(p: Buffer): BigIntStats | undefined;
  /** Opens a file for reading without following a final symlink or blocking. */
  openRead(p: Buffer): number;
  fstat(fd: number): BigIntStats;
  close(fd: number): void;
  link(existing: Buffer, newPath: Buffer): void;
  rename(from: Buffer, to: Buffer): void;
  unlink(p: Buffer): void;
  mkdirp(p: Buffer): void;
  realpath(p: Buffer): Buffer;
  /** Makes everything written on the filesystem holding directory `p` durable (syncfs). */
  syncFilesystem(p: Buffer): void;
  clone(src: Buffer, dst: Buffer): void;
}

export const realFs: ApplyFs = {
  lstat: (p) => fs.lstatSync(p, { bigint: true, throwIfNoEntry: false }),
  openRead: (p) => fs.openSync(p, READ_FLAGS),
  fstat: (fd) => fs.fstatSync(fd, { bigint: true }),
  close: (fd) => fs.closeSync(fd),
  link: (a, b) => fs.linkSync(a, b),
  rename: (a, b) => fs.renameSync(a, b),
  unlink: (p) => fs.unlinkSync(p),
  mkdirp: (p) => void fs.mkdirSync(p, { recursive: true, mode: 0o755 }),
  realpath: (p) => fs.realpathSync.native(p, { encoding: 'buffer' }),
  syncFilesystem: (p) => {
    const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      linux().syncfs(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  clone: (src, dst) => cloneFile(src, dst),
};
