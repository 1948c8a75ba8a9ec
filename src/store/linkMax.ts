/**
 * The most hard links one inode may have on the filesystem holding `path` (Node has no
 * pathconf; the limits by filesystem magic are those of Linux). Unknown: the ext4 limit.
 */
import { statfsSync } from 'node:fs';

/** ext2/3/4's EXT4_LINK_MAX, also the limit assumed where the filesystem is unknown. */
export const DEFAULT_LINK_MAX = 65000;

const LIMITS: Record<number, number> = {
  0xef53: DEFAULT_LINK_MAX, // ext2/3/4
  0x9123683e: 65535, // btrfs
  0x58465342: 2147483647, // xfs
  0x01021994: 4294967295, // tmpfs
  0x2fc12fc1: 4294967295, // zfs
  0x6969: 4294967295, // nfs (the server's limit applies; EMLINK handles it)
};

/** The link-count limit of the filesystem holding `path`. */
export function linkMaxOf(path: string | Buffer): number {
  try {
    return LIMITS[Number(statfsSync(path).type)] ?? DEFAULT_LINK_MAX;
  } catch {
    return DEFAULT_LINK_MAX;
  }
}
