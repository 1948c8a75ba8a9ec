import * as fs from 'node:fs';
import { errnoCode } from '../errors.js';
import { dirnameBytes } from '../pathBytes.js';

/**
 * `mkdir -p` that reports the real error. Node's `mkdirSync(p, { recursive: true })` turns
 * EROFS (among others) on a directory that does not exist yet into ENOENT
 * (nodejs/node#47098), which hid a read-only store behind "no such file or directory".
 */
export function mkdirs(p: Buffer, mode = 0o755): void {
  const existingDir = (err: unknown) => errnoCode(err) === 'EEXIST' && fs.statSync(p).isDirectory();
  try {
    fs.mkdirSync(p, { mode });
  } catch (err) {
    if (existingDir(err)) return;
    const parent = dirnameBytes(p);
    if (errnoCode(err) !== 'ENOENT' || parent.equals(p)) throw err;
    mkdirs(parent, mode);
    try {
      fs.mkdirSync(p, { mode });
    } catch (again) {
      if (!existingDir(again)) throw again;
    }
  }
}
