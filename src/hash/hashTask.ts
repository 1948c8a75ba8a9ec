/**
 * Reading work, run in worker threads (or inline): a partial hash (head and tail), a full
 * content hash, the extended attributes of scanned files, or a comparison (`compareRows`): one
 * file hashed and the others of its candidate group compared with it byte for byte as they are
 * read side by side, so a group of n equal files costs one hash and n reads. `hashRows` works
 * on rows of a shared FileTable and returns flat arrays, so a batch costs one message each way.
 */
import { fstatSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { closeOpened, openChecked, sameAsScanned, type Expected, type Where } from './openChecked.js';
import { readXattrs } from '../native/xattr.js';
import type { FileTable } from '../scan/fileTable.js';

export const PARTIAL_BYTES = 4096;
export const PARTIAL_DIGEST_BYTES = 16;
const BUFFER_BYTES = 1 << 20;

export type HashKind = 'partial' | 'full' | 'xattrs' | 'compare';

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

/** The results of a batch of rows, as flat arrays (index k is rows[k]). */
export interface BatchResult {
  /** rows.length × digest bytes (empty for 'xattrs'). */
  digests: Uint8Array;
  /** 0 ok, 1 changed, 2 error. */
  status: Uint8Array;
  /** Only the rows that have any. */
  xattrs: Array<[number, Array<[string, Uint8Array]>]>;
  errors: Array<[number, string]>;
  bytesRead: number;
}

export const STATUS_OK = 0;
export const STATUS_CHANGED = 1;
export const STATUS_ERROR = 2;

export function digestBytes(kind: HashKind, algorithm: string): number {
  return kind === 'xattrs' ? 0 : kind === 'partial' ? PARTIAL_DIGEST_BYTES : algorithm === 'sha512' ? 64 : 32;
}

/** Row i beneath its root's descriptor. */
const where = (table: FileTable, i: number): Where => ({ fd: table.roots.fds[table.dirRoot[table.dir[i]]], rel: table.relPath(i) });

const expected = (table: FileTable, i: number): Expected => ({ dev: table.dev[i], ino: table.ino[i], size: table.size[i], mtime: table.mtime[i], ctime: table.ctime[i] });

const newBatch = (rows: number, len: number): BatchResult => ({ digests: new Uint8Array(rows * len), status: new Uint8Array(rows), xattrs: [], errors: [], bytesRead: 0 });

/** Runs `kind` on row i of `table` and puts the result at index k of `out`. */
function hashInto(table: FileTable, i: number, kind: Exclude<HashKind, 'compare'>, algorithm: string, out: BatchResult, k: number, len: number): void {
  const r = runHashTask({ kind, path: where(table, i), algorithm, ...expected(table, i), xattrs: kind === 'full' });
  out.bytesRead += r.bytesRead;
  if (r.changed) out.status[k] = STATUS_CHANGED;
  else if (r.error) {
    out.status[k] = STATUS_ERROR;
    out.errors.push([k, r.error]);
  } else {
    if (len) out.digests.set(r.digest!, k * len);
    if (r.xattrs?.length) out.xattrs.push([k, r.xattrs]);
  }
}

/** Runs one kind of work on rows of a table (full hashes also read the xattrs). */
export function hashRows(table: FileTable, rows: Int32Array, kind: HashKind, algorithm: string): BatchResult {
  if (kind === 'compare') return compareRows(table, rows, algorithm);
  const len = digestBytes(kind, algorithm);
  const out = newBatch(rows.length, len);
  for (let k = 0; k < rows.length; k++) hashInto(table, rows[k], kind, algorithm, out, k, len);
  return out;
}

const COMPARE_CHUNK = 256 * 1024; // stays in L2 cache between the read and the compare
let chunkA: Buffer | undefined;
let chunkB: Buffer | undefined;

/**
 * rows[0] is hashed; every other row (same device, size and head+tail as rows[0]) is read in
 * step with it and compared byte for byte. A row found equal, with both files unchanged
 * (fstat after reading), gets rows[0]'s digest: its bytes are the bytes that were hashed. A
 * row that differs, or every row when rows[0] could not be read, is hashed on its own.
 */
export function compareRows(table: FileTable, rows: Int32Array, algorithm: string): BatchResult {
  const len = digestBytes('full', algorithm);
  const out = newBatch(rows.length, len);
  const alone = (k: number): void => hashInto(table, rows[k], 'full', algorithm, out, k, len);
  const fds = new Array<number>(rows.length).fill(-1);
  try {
    for (let k = 0; k < rows.length; k++) {
      const opened = openChecked(where(table, rows[k]), expected(table, rows[k]));
      if ('fd' in opened) fds[k] = opened.fd;
      else if ('changed' in opened) out.status[k] = STATUS_CHANGED;
      else {
        out.status[k] = STATUS_ERROR;
        out.errors.push([k, opened.error]);
      }
    }
    if (fds[0] < 0) {
      for (let k = 1; k < rows.length; k++) if (fds[k] >= 0) alone(k);
      return out;
    }
    chunkA ??= Buffer.allocUnsafe(COMPARE_CHUNK);
    chunkB ??= Buffer.allocUnsafe(COMPARE_CHUNK);
    const equal = fds.map((fd, k) => k > 0 && fd >= 0);
    const size = Number(table.size[rows[0]]);
    const hash = createHash(algorithm);
    let repOk = true;
    for (let pos = 0; pos < size; ) {
      const want = Math.min(COMPARE_CHUNK, size - pos);
      const n = readSync(fds[0], chunkA, 0, want, pos);
      out.bytesRead += n;
      if (n !== want) {
        repOk = false; // shrank while read: the fstat below says so
        break;
      }
      hash.update(chunkA.subarray(0, n));
      for (let k = 1; k < rows.length; k++) {
        if (!equal[k]) continue;
        const m = readSync(fds[k], chunkB, 0, want, pos);
        out.bytesRead += m;
        if (m !== n || chunkB.compare(chunkA, 0, n, 0, n) !== 0) equal[k] = false;
      }
      pos += n;
    }
    const digest = hash.digest();
    if (!repOk || !sameAsScanned(fstatSync(fds[0], { bigint: true }), expected(table, rows[0]))) {
      // Equal to a file that changed meanwhile proves nothing: everyone on their own.
      out.status[0] = STATUS_CHANGED;
      for (let k = 1; k < rows.length; k++) if (fds[k] >= 0) alone(k);
      return out;
    }
    out.digests.set(digest, 0);
    const repXattrs = readXattrs(fds[0]);
    if (repXattrs.length) out.xattrs.push([0, repXattrs]);
    for (let k = 1; k < rows.length; k++) {
      if (fds[k] < 0) continue;
      if (!equal[k]) {
        alone(k);
        continue;
      }
      if (!sameAsScanned(fstatSync(fds[k], { bigint: true }), expected(table, rows[k]))) {
        out.status[k] = STATUS_CHANGED;
        continue;
      }
      out.digests.set(digest, k * len);
      const x = readXattrs(fds[k]);
      if (x.length) out.xattrs.push([k, x]);
    }
    return out;
  } catch (err) {
    // An I/O error on one of the files: hash each on its own, which names the one at fault.
    out.digests.fill(0);
    out.status.fill(0);
    out.xattrs = [];
    out.errors = [];
    for (let k = 0; k < rows.length; k++) {
      if (fds[k] >= 0) closeOpened(fds[k]);
      fds[k] = -1;
      alone(k);
    }
    return out;
  } finally {
    for (const fd of fds) if (fd >= 0) closeOpened(fd);
  }
}
