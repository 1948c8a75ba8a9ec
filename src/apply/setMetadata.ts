/**
 * Gives a new file (a clone, or undo's copy) the metadata the plan recorded: owner first
 * (chown clears setuid bits and capabilities), then mode, then xattrs, then times last.
 */
import { closeSync, constants, fchmodSync, fchownSync, openSync } from 'node:fs';
import { readXattrs, removeXattr, setTimesNs, writeXattr } from '../native/xattr.js';
import type { StatRecord, XattrRecord } from '../planfile/records.js';

export function setMetadata(path: Buffer, stat: StatRecord, xattrs: XattrRecord | undefined): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    fchownSync(fd, stat.uid, stat.gid);
    fchmodSync(fd, stat.mode & 0o7777);
    const want = xattrs ?? {};
    for (const [name] of readXattrs(fd)) if (!(name in want)) removeXattr(fd, name);
    for (const [name, value] of Object.entries(want)) writeXattr(fd, name, Buffer.from(value, 'base64'));
    setTimesNs(fd, BigInt(stat.atime ?? stat.mtime), BigInt(stat.mtime));
  } finally {
    closeSync(fd);
  }
}
