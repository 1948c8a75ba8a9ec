/**
 * Reading work on rows of the scan's table, one native call per batch (native/hash.c): the
 * addon reads the table's columns in place (shared memory), opens each file beneath its
 * root's descriptor, checks it against the scan by fstat before and after reading, and
 * hashes it with Node's own OpenSSL, with no JavaScript per file. Kinds: a partial hash
 * (head and tail, to rule out), a full hash (and the xattrs, the file being open), the xattrs
 * alone, or a comparison of a candidate group (native/compare.c: every member confirmed by
 * its bytes; n equal files cost one digest).
 */
import { getSystemErrorName } from 'node:util';
import { linux } from '../native/addon.js';
import type { FileTable } from '../scan/fileTable.js';

/** Bytes kept of a partial (head + tail) SHA-256: it only rules candidates out. */
export const PARTIAL_DIGEST_BYTES = 16;

/** What a batch asks of each row (see native/hash.c). */
export type HashKind = 'partial' | 'full' | 'xattrs' | 'compare';

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

/** A row's outcome: read as scanned; changed or gone since the scan (left out); unreadable (errno in `errors`). */
export const STATUS_OK = 0;
export const STATUS_CHANGED = 1;
export const STATUS_ERROR = 2;

const MODE: Record<HashKind, number> = { partial: 0, full: 1, xattrs: 2, compare: 3 };

/** Bytes of one row's digest in a batch result of `kind`. */
export function digestBytes(kind: HashKind, algorithm: string): number {
  return kind === 'xattrs' ? 0 : kind === 'partial' ? PARTIAL_DIGEST_BYTES : algorithm === 'sha512' ? 64 : 32;
}

/** The xattrs output of the addon: per row u32 k, u32 count, then (u32 name length, u32 value length, name, value)… */
function decodeXattrs(blob: Buffer | undefined): BatchResult['xattrs'] {
  const out: BatchResult['xattrs'] = [];
  for (let at = 0; blob && at < blob.length; ) {
    const k = blob.readUInt32LE(at);
    const count = blob.readUInt32LE(at + 4);
    at += 8;
    const list: Array<[string, Uint8Array]> = [];
    for (let j = 0; j < count; j++) {
      const nameLength = blob.readUInt32LE(at);
      const valueLength = blob.readUInt32LE(at + 4);
      at += 8;
      const name = blob.toString('utf8', at, at + nameLength);
      at += nameLength;
      list.push([name, blob.subarray(at, at + valueLength)]);
      at += valueLength;
    }
    list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    out.push([k, list]);
  }
  return out;
}

/**
 * Runs `kind` on `rows` of `table`. For 'compare', the rows are candidate groups, each of one
 * size: group g is rows[ends[g-1]..ends[g]) (without `ends`, all rows are one group); every
 * member found equal to another gets the same digest, from one read of the bytes.
 */
export function hashRows(table: FileTable, rows: Int32Array, kind: HashKind, algorithm: string, ends?: Int32Array): BatchResult {
  const args = batchArgs(table, rows, kind, algorithm);
  return batchResult(args, ends ? linux().hashRows(...args, ends) : linux().hashRows(...args));
}

/** `hashRows` on a thread of libuv's pool (native/hash.c), leaving this thread free meanwhile. */
export async function hashRowsAsync(table: FileTable, rows: Int32Array, kind: HashKind, algorithm: string, ends?: Int32Array): Promise<BatchResult> {
  const args = batchArgs(table, rows, kind, algorithm);
  return batchResult(args, await linux().hashRowsAsync(...args, ends));
}

type BatchArgs = readonly [ArrayBufferView[], Int32Array, number, number, Uint8Array, Uint8Array, Int32Array];

function batchArgs(table: FileTable, rows: Int32Array, kind: HashKind, algorithm: string): BatchArgs {
  const digests = new Uint8Array(rows.length * digestBytes(kind, algorithm));
  return [table.nativeColumns(), rows, MODE[kind], algorithm === 'sha512' ? 1 : 0, digests, new Uint8Array(rows.length), new Int32Array(rows.length)];
}

function batchResult([, rows, , , digests, status, errnos]: BatchArgs, [bytesRead, xattrs]: [number, Buffer | undefined]): BatchResult {
  const errors: Array<[number, string]> = [];
  for (let k = 0; k < rows.length; k++) if (status[k] === STATUS_ERROR) errors.push([k, errnos[k] ? getSystemErrorName(-errnos[k]) : 'EIO']);
  return { digests, status, xattrs: decodeXattrs(xattrs), errors, bytesRead };
}
