/**
 * `switch A B`: one renameat2(RENAME_EXCHANGE) of two directories. There is no instant at
 * which either path is missing or names half of each; the same call again is the way back.
 */
import { closeSync, constants } from 'node:fs';
import { HashifyError, errnoCode } from '../errors.js';
import { linux } from '../native/addon.js';
import { openParent, type ParentAndName } from './openParent.js';
import { displayPath, textOfBytes } from '../pathBytes.js';

/** Exchanges the directories at `a` and `b`; exit 2 unless both are directories (not symlinks) that the kernel can exchange (EXDEV: different filesystems). */
export function switchTrees(a: string, b: string): { a: string; b: string } {
  const native = linux();
  const opened: ParentAndName[] = [];
  try {
    for (const p of [a, b]) opened.push(openParent(p, 'Switch operand'));
    const [pa, pb] = opened;
    const sa = native.lstatAt(pa.fd, pa.name);
    const sb = native.lstatAt(pb.fd, pb.name);
    for (const [st, p] of [[sa, a], [sb, b]] as const) {
      if (!st || (st.mode & constants.S_IFMT) !== constants.S_IFDIR) {
        throw new HashifyError('USAGE', `Cannot switch: ${displayPath(p)} ${st ? 'is not a directory' : 'does not exist'}`);
      }
    }
    // The kernel decides what "one filesystem" is (btrfs subvolumes of one filesystem are
    // different st_dev, yet exchange fine): EXDEV from the exchange is the refusal. Every
    // btrfs subvolume's root is inode 256, so only (dev, ino) names one directory.
    if (sa!.dev === sb!.dev && sa!.ino === sb!.ino) throw new HashifyError('USAGE', `Cannot switch: ${displayPath(a)} and ${displayPath(b)} are the same directory`);
    try {
      native.renameAt2(pa.fd, pa.name, pb.fd, pb.name, native.constants.RENAME_EXCHANGE);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EXDEV') {
        throw new HashifyError('USAGE', `Cannot switch ${displayPath(a)} and ${displayPath(b)}: they are on different filesystems`, {
          hint: 'an exchange is one rename: both trees must be on one filesystem',
        });
      }
      // EINVAL: one is inside the other.
      if (code === 'EINVAL') throw new HashifyError('USAGE', `Cannot switch ${displayPath(a)} and ${displayPath(b)}: one is inside the other`);
      throw new HashifyError('IO', `Cannot switch ${displayPath(a)} and ${displayPath(b)}: ${(err as Error).message}`, { cause: err });
    }
    return { a: textOfBytes(pa.path), b: textOfBytes(pb.path) };
  } finally {
    for (const p of opened) closeSync(p.fd);
  }
}
