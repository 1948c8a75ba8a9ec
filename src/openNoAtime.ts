import { constants, openSync } from 'node:fs';
import { errnoCode } from './errors.js';

const READ = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Opens a file to read it without following a final symlink, blocking on a FIFO, or
 * touching its atime (O_NOATIME needs ownership or CAP_FOWNER; without it, atime may change).
 */
export function openNoAtime(path: Buffer | string): number {
  try {
    return openSync(path, READ | constants.O_NOATIME);
  } catch (err) {
    if (errnoCode(err) !== 'EPERM') throw err;
    return openSync(path, READ);
  }
}
