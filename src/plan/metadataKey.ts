/**
 * What must match besides content for two inodes to become one: permission bits (with
 * setuid/setgid/sticky), owner and group, mtime, and every extended attribute — unless the
 * plan was told to ignore one of them. Linking merges metadata, so by default any
 * difference keeps files apart.
 */
import type { MatchOptions, StatRecord, XattrRecord } from '../planfile/records.js';

export function metadataKey(stat: StatRecord, xattrs: XattrRecord | undefined, match: MatchOptions): string {
  return metadataKeyOf(stat.mode, stat.uid, stat.gid, stat.mtime, xattrs, match);
}

/** The same from the fields; `mtime` is any text that differs exactly when the mtime does. */
export function metadataKeyOf(mode: number, uid: number, gid: number, mtime: string, xattrs: XattrRecord | undefined, match: MatchOptions): string {
  let key = match.mode ? (mode & 0o7777).toString(8) : '';
  if (match.owner) key += `\u0000${uid}:${gid}`;
  if (match.mtime) key += `\u0000${mtime}`;
  if (match.xattrs && xattrs) {
    for (const name of Object.keys(xattrs).sort()) key += `\u0000${name}=${xattrs[name]}`;
  }
  return key;
}
