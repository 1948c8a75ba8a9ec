/**
 * Exclusive locks between hashify processes: flock(2) on a lock file. The kernel releases
 * the lock when its holder exits or dies (SIGKILL, power cut), so there is no stale lock to
 * detect or take over; a lock held by a live process means exit 4 at once, never a wait.
 * The holder writes its pid into the file (for the message only) and removes the file when
 * it releases the lock; a process that locked a file already removed (it opened the name
 * just before) sees that its inode is no longer the one at the name, and tries again.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { HashifyError, errnoCode } from '../errors.js';
import { linux } from '../native/addon.js';
import { bytesOfText, displayPath, fsPath } from '../pathBytes.js';

export interface Lock {
  release(): void;
}

const busy = (err: unknown) => errnoCode(err) === 'EWOULDBLOCK' || errnoCode(err) === 'EAGAIN';

/** A lock file's path: its bytes (a string in src/pathBytes.ts' lossless form). */
const bytesOf = (file: Buffer | string): Buffer => (typeof file === 'string' ? bytesOfText(file) : file);

/** The pid a lock's holder wrote: read from a regular file only, never waiting (a FIFO put at the name must not block). */
function readPid(file: Buffer): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    return fstatSync(fd).isFile() ? readFileSync(fd, 'utf8').trim() : '';
  } finally {
    closeSync(fd);
  }
}

/** Takes the lock at `lockPath` for `what` (used in the message), or throws LOCKED. */
export function acquireLock(lockPath: Buffer | string, what: string): Lock {
  const file = bytesOf(lockPath);
  for (let attempt = 0; attempt < 10; attempt++) {
    let fd: number;
    try {
      fd = linux().lockFile(file);
    } catch (err) {
      if (busy(err)) {
        let pid = '';
        try {
          pid = readPid(file);
        } catch {
          /* gone meanwhile */
        }
        throw new HashifyError('LOCKED', `${what} is locked by another running hashify (pid ${pid || '?'}, lock ${displayPath(file)})`, {
          hint: 'wait for it to finish; hashify never waits for a lock',
        });
      }
      throw new HashifyError('IO', `Cannot create lock file ${displayPath(file)}: ${(err as Error).message}`);
    }
    const mine = fstatSync(fd);
    const named = lstatSync(file, { throwIfNoEntry: false });
    if (!named || named.ino !== mine.ino || named.dev !== mine.dev) {
      closeSync(fd); // removed by its last holder after we opened it: lock the new one
      continue;
    }
    try {
      // Through the lock's own inode, never the name again (a lock in /run/lock is in a directory
      // anyone can write to); opened and closed: the lock's own descriptor is read-only. Only
      // into a file of one link: a name linked there to another file must not get it truncated.
      if (mine.isFile() && mine.nlink === 1) writeFileSync(`/proc/self/fd/${fd}`, `${process.pid}\n`);
    } catch {
      /* the pid is only for messages */
    }
    return {
      release() {
        try {
          unlinkSync(file);
        } catch {
          /* gone already */
        }
        closeSync(fd);
      },
    };
  }
  throw new HashifyError('LOCKED', `${what} is locked (lock ${displayPath(file)} keeps being replaced)`);
}

/** A plan's lock file: named after the plan's real path, so that the plan reached through a symlink meets the same lock. */
export function planLockPath(planFile: string): Buffer {
  return Buffer.concat([realpathSync.native(fsPath(planFile), { encoding: 'buffer' }), Buffer.from('.lock')]);
}

/** True while another process holds the lock at `file` (status: "an apply is running"). */
export function isLocked(file: Buffer | string): boolean {
  try {
    closeSync(linux().lockFile(bytesOf(file), true));
    return false;
  } catch (err) {
    return busy(err);
  }
}
