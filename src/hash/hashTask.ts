/**
 * One file's hash (and/or xattrs) by path or beneath a descriptor, checking it is the inode
 * expected: for checks outside the scan (apply's identity check). The scan's rows are hashed
 * in batches by the addon (hashRows.ts).
 */
import { fstatSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { closeOpened, openChecked, sameAsScanned, type Expected, type Where } from './openChecked.js';
import { readXattrs } from '../native/xattr.js';
import type { HashKind } from './hashRows.js';

const PARTIAL_BYTES = 4096;
const PARTIAL_DIGEST_BYTES = 16;
const BUFFER_BYTES = 1 << 20;

export interface HashTask extends Expected {
  kind: HashKind;
  path: Where;
  algorithm: string;
  /** Also read the xattrs (with a full hash: one open for both). */
  xattrs?: boolean;
}

export interface HashResult {
  digest?: Uint8Array;
  xattrs?: Array<[string, Uint8Array]>;
  /** The file changed or disappeared since the scan (it is left out of the plan). */
  changed?: string;
  /** It could not be read (EACCES, EIO…). */
  error?: string;
  bytesRead: number;
}

let buffer: Buffer | undefined;

/** Hashes (and/or reads the xattrs of) one file, checking it is the inode that was scanned. */
export function runHashTask(task: HashTask): HashResult {
  const opened = openChecked(task.path, task);
  if ('changed' in opened) return { changed: opened.changed, bytesRead: 0 };
  if ('error' in opened) return { error: opened.error, bytesRead: 0 };
  const { fd } = opened;
  try {
    const out: HashResult = { bytesRead: 0 };
    if (task.kind !== 'xattrs') {
      buffer ??= Buffer.allocUnsafe(BUFFER_BYTES);
      const hash = createHash(task.kind === 'partial' ? 'sha256' : task.algorithm);
      const size = Number(task.size);
      if (task.kind === 'partial') {
        const head = readSync(fd, buffer, 0, Math.min(PARTIAL_BYTES, size), 0);
        hash.update(buffer.subarray(0, head));
        const tailAt = Math.max(head, size - PARTIAL_BYTES);
        const tail = readSync(fd, buffer, 0, size - tailAt, tailAt);
        hash.update(buffer.subarray(0, tail));
        out.bytesRead = head + tail;
        out.digest = hash.digest().subarray(0, PARTIAL_DIGEST_BYTES);
      } else {
        // Read exactly `size` bytes; a file that grew or shrank meanwhile shows in the
        // fstat below (size and mtime), so no extra read is spent looking for EOF.
        let pos = 0;
        while (pos < size) {
          const n = readSync(fd, buffer, 0, Math.min(BUFFER_BYTES, size - pos), pos);
          if (n === 0) break;
          hash.update(buffer.subarray(0, n));
          pos += n;
        }
        out.bytesRead = pos;
        if (pos !== size) return { changed: 'its size changed while it was read', bytesRead: pos };
        out.digest = hash.digest();
      }
    }
    if (task.kind === 'xattrs' || task.xattrs) out.xattrs = readXattrs(fd);
    // A write while we read shows in mtime/ctime: that hash would describe no real content.
    if (!sameAsScanned(fstatSync(fd, { bigint: true }), task)) return { changed: 'changed while it was read', bytesRead: out.bytesRead };
    return out;
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? String(err), bytesRead: 0 };
  } finally {
    closeOpened(fd);
  }
}

