/**
 * The one decoder of the native readDir records (layout written by native/scan.c): one
 * directory's entries in one ArrayBuffer, read in place through typed views, so that a file
 * costs no stats object and no string. All fields are little-endian and 8-byte aligned:
 *   u32 kind, u32 name length, u64 dev, ino, size, i64 mtime, ctime, atime (ns),
 *   u32 mode, uid, gid, nlink, then the name bytes padded to 8.
 */

/** The entry vanished between readdir and fstatat. */
export const KIND_VANISHED = 0;
/** A regular file. */
export const KIND_FILE = 1;
/** A directory. */
export const KIND_DIR = 2;
/** Bytes before the name. */
export const REC_HEAD = 72;

/** A cursor over the records of one readDir result: `next()` moves to each record in turn. */
export class DirRecords {
  private readonly u32: Uint32Array;
  private readonly u64: BigUint64Array;
  private readonly i64: BigInt64Array;
  private readonly bytes: Buffer;
  /** Byte offset of the current record, and of the next one. */
  private at = 0;
  private following = 0;

  constructor(records: ArrayBuffer) {
    this.u32 = new Uint32Array(records);
    this.u64 = new BigUint64Array(records);
    this.i64 = new BigInt64Array(records);
    this.bytes = Buffer.from(records);
  }

  /** Moves to the next record; false after the last. */
  next(): boolean {
    if (this.following >= this.bytes.length) return false;
    this.at = this.following;
    this.following = this.at + REC_HEAD + ((this.nameLength + 7) & ~7);
    return true;
  }

  get kind(): number {
    return this.u32[this.at >> 2];
  }
  get nameLength(): number {
    return this.u32[(this.at >> 2) + 1];
  }
  /** The name's bytes (a view into the records, not a copy). */
  get name(): Buffer {
    return this.bytes.subarray(this.at + REC_HEAD, this.at + REC_HEAD + this.nameLength);
  }
  get dev(): bigint {
    return this.u64[(this.at >> 3) + 1];
  }
  get ino(): bigint {
    return this.u64[(this.at >> 3) + 2];
  }
  get size(): bigint {
    return this.u64[(this.at >> 3) + 3];
  }
  get mtime(): bigint {
    return this.i64[(this.at >> 3) + 4];
  }
  get ctime(): bigint {
    return this.i64[(this.at >> 3) + 5];
  }
  get atime(): bigint {
    return this.i64[(this.at >> 3) + 6];
  }
  get mode(): number {
    return this.u32[(this.at >> 2) + 14];
  }
  get uid(): number {
    return this.u32[(this.at >> 2) + 15];
  }
  get gid(): number {
    return this.u32[(this.at >> 2) + 16];
  }
  get nlink(): number {
    return this.u32[(this.at >> 2) + 17];
  }
}
