/** A path the operator named, as its parent directory's descriptor and its last component. */
import { realpathSync } from 'node:fs';
import { HashifyError, errnoCode } from '../errors.js';
import { linux } from '../native/addon.js';
import { absoluteBytes, basenameBytes, dirnameBytes, displayPath, joinPath } from '../pathBytes.js';

export interface ParentAndName {
  /** The parent directory, opened (its own path is the operator's and is followed). */
  fd: number;
  /** The parent's real path. */
  parent: Buffer;
  name: Buffer;
  /** parent + name. */
  path: Buffer;
}

/**
 * Opens the directory that holds `path`'s last component; the last component itself is then
 * looked at only relative to that descriptor, never followed.
 */
export function openParent(path: string, what: string): ParentAndName {
  const abs = absoluteBytes(path);
  const name = basenameBytes(abs);
  if (name.length === 0 || name.equals(Buffer.from('.')) || name.equals(Buffer.from('..'))) {
    throw new HashifyError('USAGE', `${what} ${displayPath(path)} must name a directory entry`);
  }
  let parent: Buffer;
  try {
    parent = realpathSync.native(dirnameBytes(abs), { encoding: 'buffer' });
  } catch (err) {
    throw new HashifyError('USAGE', `${what} ${displayPath(path)}: its directory ${errnoCode(err) === 'ENOENT' ? 'does not exist' : 'cannot be opened'}`);
  }
  let fd: number;
  try {
    fd = linux().openRoot(parent);
  } catch (err) {
    throw new HashifyError('USAGE', `${what} ${displayPath(path)}: cannot open its directory (${errnoCode(err)})`);
  }
  return { fd, parent, name, path: joinPath(parent, name) };
}
