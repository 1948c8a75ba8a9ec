/**
 * One unit of reading work, run in a worker thread (or inline): a partial hash (head and
 * tail), a full content hash, or the extended attributes of one scanned file.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { openChecked, sameAsScanned, type Expected } from './openChecked.js';
import { readXattrs } from '../native/xattr.js';

export const PARTIAL_BYTES = 4096;
const BUFFER_BYTES = 1 << 20;

export interface HashTask extends Expected {
  kind: 'partial' | 'full' | 'xattrs';
  path: Buffer;
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
        out.digest = hash.digest().subarray(0, 16);
      } else {
        let pos = 0;
        for (;;) {
          const n = readSync(fd, buffer, 0, BUFFER_BYTES, pos);
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
    closeSync(fd);
  }
}
