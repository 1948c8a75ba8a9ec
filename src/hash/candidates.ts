/**
 * The first steps of finding duplicates, on the scan table alone: one row per inode (the
 * others are its aliases), candidate sets by (device, size, metadata that must match), and
 * the packing of candidate groups into comparison requests. Rows travel as Int32Arrays, not
 * arrays of numbers.
 */
import type { FileTable } from '../scan/fileTable.js';
import type { HashBatch } from '../workers/workerPool.js';
import { types } from 'node:util';
import { linux } from '../native/addon.js';

/** Rows in one comparison batch (open files at once). */
export const COMPARE_BATCH = 64;
/** Rows and bytes of candidate groups packed into one request (fewer messages between threads). */
const BATCH_ROWS = 256;
const BATCH_BYTES = 16n << 20n;

/**
 * Frees the memory of typed arrays of a row each (1 to 4 MB at a million rows) now, by
 * detaching their buffers, rather than at some later collection, which came only once the
 * plan was being assembled, on top of what that holds. They must not be read any more.
 */
export function release(...views: ArrayBufferView[]): void {
  for (const v of views) if (types.isArrayBuffer(v.buffer) && v.buffer.byteLength > 0) linux().freeNow(v.buffer);
}

/** A list of row numbers that grows without an array of numbers. */
export class RowList {
  rows = new Int32Array(1024);
  length = 0;
  push(i: number): void {
    if (this.length === this.rows.length) {
      const bigger = new Int32Array(this.rows.length * 2);
      bigger.set(this.rows);
      this.rows = bigger;
    }
    this.rows[this.length++] = i;
  }
  view(): Int32Array {
    return this.rows.subarray(0, this.length);
  }
}

/** Chains rows under keys without an array per key: head[key] → row → next[row] → … */
export class Chains<K> {
  heads = new Map<K, number>();
  counts = new Map<K, number>();
  constructor(private next: Int32Array) {}
  add(key: K, row: number): void {
    const head = this.heads.get(key);
    this.next[row] = head ?? -1;
    this.heads.set(key, row);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  /** The rows under `key`, in ascending order (they were added in that order). */
  members(key: K): number[] {
    const out: number[] = [];
    for (let r = this.heads.get(key) ?? -1; r >= 0; r = this.next[r]) out.push(r);
    return out.reverse();
  }
}

/**
 * Marks the rows that stand for their inode (the first path seen) in the returned array;
 * the other paths of an inode go into `aliases` under its primary row.
 */
export function primaryRows(table: FileTable, aliases: Map<number, number[]>): Uint8Array {
  const n = table.length;
  const firstOfInode = new Map<string, number>();
  const isPrimary = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    if (table.nlink[i] < 2) continue;
    const key = `${table.devOf(i)}:${table.ino[i]}`;
    const first = firstOfInode.get(key);
    if (first === undefined) firstOfInode.set(key, i);
    else {
      isPrimary[i] = 0;
      const list = aliases.get(first);
      if (list) list.push(i);
      else aliases.set(first, [i]);
    }
  }
  return isPrimary;
}

/** Rows from..to of `rows`: a candidate group, or a chunk of one (its first row the one hashed). */
export type Chunk = readonly [rows: ArrayLike<number>, from: number, to: number];

/**
 * Candidate groups packed into requests of about BATCH_ROWS rows or BATCH_BYTES bytes, in
 * order, each made only when the pool asks for it: no request's rows are held before it is
 * sent (at a million small files, the batches made up front were 4 MB more and one more copy
 * of every candidate row). A chunk of more than COMPARE_BATCH rows is cut into such chunks.
 */
export function* packBatches(table: FileTable, chunks: Iterable<Chunk>): Generator<HashBatch, void, undefined> {
  const rows = new RowList();
  let ends: number[] = [];
  let bytes = 0n;
  const cut = (): HashBatch => {
    const batch = { rows: rows.view().slice(), ends: Int32Array.from(ends) };
    rows.length = 0;
    ends = [];
    bytes = 0n;
    return batch;
  };
  for (const [chunk, from, to] of chunks) {
    for (let s = from; s < to; s += COMPARE_BATCH) {
      const e = Math.min(to, s + COMPARE_BATCH);
      for (let k = s; k < e; k++) rows.push(chunk[k]);
      ends.push(rows.length);
      bytes += table.size[chunk[s]] * BigInt(e - s);
      if (rows.length >= BATCH_ROWS || bytes >= BATCH_BYTES) yield cut();
    }
  }
  if (rows.length) yield cut();
}
