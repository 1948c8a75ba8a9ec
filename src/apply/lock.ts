/**
 * Exclusive locks between hashify processes: a lock file made with O_EXCL holding the
 * owner's pid and process start time. A lock whose owner is gone (killed, power cut) is
 * stale and is taken over; a live owner means exit 4 at once, never a wait.
 */
import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { HashifyError, errnoCode } from '../errors.js';

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

const me = `${process.pid} ${startTime(process.pid) ?? '?'}`;

function alive(owner: string): boolean {
  const [pid, started] = owner.trim().split(' ');
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0) return false;
  const now = startTime(n);
  return now !== undefined && (started === '?' || now === started);
}

export interface Lock {
  release(): void;
}

/** Takes the lock at `file` for `what` (used in the message), or throws LOCKED. */
export function acquireLock(file: string, what: string): Lock {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      try {
        writeSync(fd, me + '\n');
      } catch (err) {
        // ENOSPC/EDQUOT/EIO writing the owner: leave no empty lock file behind.
        closeSync(fd);
        try {
          unlinkSync(file);
        } catch {
          /* nothing more to do */
        }
        throw err;
      }
      closeSync(fd);
      return {
        release() {
          try {
            if (readFileSync(file, 'utf8').trim() === me) unlinkSync(file);
          } catch {
            /* gone already */
          }
        },
      };
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') {
        throw new HashifyError('IO', `Cannot create lock file ${JSON.stringify(file)}: ${(err as Error).message}`);
      }
    }
    let owner = '';
    try {
      owner = readFileSync(file, 'utf8');
    } catch {
      continue; // released meanwhile
    }
    if (alive(owner)) {
      throw new HashifyError('LOCKED', `${what} is locked by another running hashify (pid ${owner.trim().split(' ')[0]}, lock ${JSON.stringify(file)})`, {
        hint: 'wait for it to finish; hashify never waits for a lock',
      });
    }
    // Stale: move it aside atomically, so two processes cannot both remove the same lock.
    const aside = `${file}.stale-${process.pid}`;
    try {
      renameSync(file, aside);
      unlinkSync(aside);
    } catch {
      /* someone else took it over first; try again */
    }
  }
  throw new HashifyError('LOCKED', `${what} is locked (lock ${JSON.stringify(file)} keeps changing owner)`);
}
