import { closeSync, fsyncSync, openSync, constants } from 'node:fs';

/** Makes a directory's entries (a rename, a link) durable. */
export function fsyncDir(dir: string | Buffer): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
