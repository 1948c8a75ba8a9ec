/**
 * `switch A B`: one renameat2(RENAME_EXCHANGE) of two directories. There is no instant at
 * which either path is missing or names half of each; the same call again is the way back.
 */
import { closeSync, constants } from 'node:fs';
import { HashifyError, errnoCode } from '../errors.js';
import { linux } from '../native/addon.js';
import { openParent, type ParentAndName } from './openParent.js';
import { displayPath, textOfBytes } from '../pathBytes.js';

/** Exchanges the directories at `a` and `b`; exit 2 unless both are directories (not symlinks) on one filesystem. */
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
    if (sa!.dev !== sb!.dev) {
      throw new HashifyError('USAGE', `Cannot switch ${displayPath(a)} and ${displayPath(b)}: they are on different filesystems`, {
        hint: 'an exchange is one rename: both trees must be on one filesystem',
      });
    }
    if (sa!.ino === sb!.ino) throw new HashifyError('USAGE', `Cannot switch: ${displayPath(a)} and ${displayPath(b)} are the same directory`);
    try {
      native.renameAt2(pa.fd, pa.name, pb.fd, pb.name, native.constants.RENAME_EXCHANGE);
    } catch (err) {
      const code = errnoCode(err);
      // EINVAL: one is inside the other; EXDEV: a mount point between them.
      if (code === 'EINVAL' || code === 'EXDEV') throw new HashifyError('USAGE', `Cannot switch ${displayPath(a)} and ${displayPath(b)}: ${code === 'EXDEV' ? 'different filesystems' : 'one is inside the other'}`);
      throw new HashifyError('IO', `Cannot switch ${displayPath(a)} and ${displayPath(b)}: ${(err as Error).message}`, { cause: err });
    }
    return { a: textOfBytes(pa.path), b: textOfBytes(pb.path) };
  } finally {
    for (const p of opened) closeSync(p.fd);
  }
}
