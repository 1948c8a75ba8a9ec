/**
 * The most hard links one inode may have on the filesystem holding `path` (Node has no
 * pathconf; the limits by filesystem magic are those of Linux). Unknown: the ext4 limit.
 */
import { statfsSync } from 'node:fs';

const LIMITS: Record<number, number> = {
  0xef53: 65000, // ext2/3/4
  0x9123683e: 65535, // btrfs
  0x58465342: 2147483647, // xfs
  0x01021994: 4294967295, // tmpfs
  0x2fc12fc1: 4294967295, // zfs
  0x6969: 4294967295, // nfs (the server's limit applies; EMLINK handles it)
};
export const DEFAULT_LINK_MAX = 65000;

export function linkMaxOf(path: string | Buffer): number {
  try {
    return LIMITS[Number(statfsSync(path).type)] ?? DEFAULT_LINK_MAX;
  } catch {
    return DEFAULT_LINK_MAX;
  }
}
