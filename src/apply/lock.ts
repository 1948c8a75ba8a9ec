/**
 * Exclusive locks between hashify processes: flock(2) on a lock file. The kernel releases
 * the lock when its holder exits or dies (SIGKILL, power cut), so there is no stale lock to
 * detect or take over; a lock held by a live process means exit 4 at once, never a wait.
 * The holder writes its pid into the file (for the message only) and removes the file when
 * it releases the lock; a process that locked a file already removed (it opened the name
 * just before) sees that its inode is no longer the one at the name, and tries again.
 */
import { closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
      // Through the lock's own inode, never the name again (a plan's lock lies beside the plan,
      // in a directory others may write to); opened and closed: the lock's own descriptor is
      // read-only. Only into a file of one link: a name linked to another file keeps its bytes.
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

/**
 * A directory that only this user can write to, for the locks that lie beside no file of ours
 * (a plan's digest): /run/hashify for root, else hashify-UID in $XDG_RUNTIME_DIR or the temp
 * directory. In a directory anyone can write to (/run/lock, /tmp) another user could plant the
 * name: hold it locked (every apply of that plan would exit 4), or put a FIFO or a hard link to
 * another file there. `make`: create it (0700) when missing; then it must be a real directory
 * of this user that nobody else can write to, or it is refused. Without `make`, a missing one
 * is simply named (status only looks for a lock).
 */
export function privateLockDir(make: boolean): string {
  const uid = process.geteuid?.() ?? 0;
  const base = uid === 0 && existsSync('/run') ? '/run' : undefined; // a system without /run: as for other users
  return privateDir(base ? join(base, 'hashify') : join(process.env.XDG_RUNTIME_DIR || tmpdir(), `hashify-${uid}`), uid, make);
}

/** `dir`, made 0700 when missing (`make`), if it is a real directory of `uid` that nobody else can write to; else refused. */
export function privateDir(dir: string, uid: number, make: boolean): string {
  if (make) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw new HashifyError('IO', `Cannot create the lock directory ${displayPath(dir)}: ${(err as Error).message}`);
    }
  }
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st && !make) return dir;
  if (!st || !st.isDirectory() || st.uid !== uid || st.mode & 0o022) {
    throw new HashifyError('IO', `The lock directory ${displayPath(dir)} is not a directory of this user that only it can write to; refused`, {
      hint: 'remove it: hashify makes it again, mode 0700',
    });
  }
  return dir;
}

/**
 * The lock of a plan's content, wherever its file is: copies of one plan (one digest) are one
 * plan, and two of them applied at once would race for the same paths (with a store, its lock
 * stops them too). In a directory only this user can write to (privateLockDir).
 */
export function digestLockFile(digest: string, make = true): string {
  return join(privateLockDir(make), `${Buffer.from(digest.slice(digest.indexOf('-') + 1), 'base64').toString('hex')}.lock`);
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
