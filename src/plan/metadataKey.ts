/**
 * What must match besides content for two inodes to become one: permission bits (with
 * setuid/setgid/sticky), owner and group, mtime, and every extended attribute — unless the
 * plan was told to ignore one of them. Linking merges metadata, so by default any
 * difference keeps files apart.
 */
import type { MatchOptions, StatRecord, XattrRecord } from '../planfile/records.js';

export function metadataKey(stat: StatRecord, xattrs: XattrRecord | undefined, match: MatchOptions): string {
  const parts: string[] = [];
  if (match.mode) parts.push((stat.mode & 0o7777).toString(8));
  if (match.owner) parts.push(`${stat.uid}:${stat.gid}`);
  if (match.mtime) parts.push(stat.mtime);
  if (match.xattrs && xattrs) {
    for (const name of Object.keys(xattrs).sort()) parts.push(`${name}=${xattrs[name]}`);
  }
  return parts.join('\u0000');
}
