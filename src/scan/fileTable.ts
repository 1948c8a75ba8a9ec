/**
 * The scanned files, column by column in typed arrays: about 100 bytes a file plus its
 * name, instead of a BigIntStats object and a path string each (a few hundred bytes).
 * Row i is one path; paths of one inode share the inode's fields. The columns live in
 * SharedArrayBuffers so that hashing threads read rows in place: a task is a row number,
 * not a cloned object.
 */
import type { BigIntStats } from 'node:fs';
import type { StatRecord } from '../planfile/records.js';

type Column = BigUint64Array | BigInt64Array | Uint32Array;

const BIG = ['dev', 'ino', 'size', 'mtime', 'ctime', 'atime'] as const;
const SMALL = ['mode', 'uid', 'gid', 'nlink', 'dir', 'nameStart', 'nameEnd'] as const;

function sharedLike<T extends Column>(a: T, n: number): T {
  const Ctor = a.constructor as new (buf: SharedArrayBuffer) => T;
  const b = new Ctor(new SharedArrayBuffer(n * a.BYTES_PER_ELEMENT));
  (b as unknown as { set(x: T): void }).set(a);
  return b;
}

function sharedBytes(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(n));
}

/** The shared buffers of a table: what a worker needs to rebuild a read-only view. */
export interface TableShare {
  length: number;
  namesUsed: number;
  dirCount: number;
  columns: Record<string, SharedArrayBuffer>;
  names: SharedArrayBuffer;
  dirBytes: SharedArrayBuffer;
  dirStart: SharedArrayBuffer;
  dirEnd: SharedArrayBuffer;
}

export class FileTable {
  length = 0;
  dev = new BigUint64Array(new SharedArrayBuffer(8 * 1024));
  ino = new BigUint64Array(new SharedArrayBuffer(8 * 1024));
  size = new BigUint64Array(new SharedArrayBuffer(8 * 1024));
  mtime = new BigInt64Array(new SharedArrayBuffer(8 * 1024));
  ctime = new BigInt64Array(new SharedArrayBuffer(8 * 1024));
  atime = new BigInt64Array(new SharedArrayBuffer(8 * 1024));
  mode = new Uint32Array(new SharedArrayBuffer(4 * 1024));
  uid = new Uint32Array(new SharedArrayBuffer(4 * 1024));
  gid = new Uint32Array(new SharedArrayBuffer(4 * 1024));
  nlink = new Uint32Array(new SharedArrayBuffer(4 * 1024));
  /** Directory of the path (index into the directory arena) and the name's place in `names`. */
  dir = new Uint32Array(new SharedArrayBuffer(4 * 1024));
  nameStart = new Uint32Array(new SharedArrayBuffer(4 * 1024));
  nameEnd = new Uint32Array(new SharedArrayBuffer(4 * 1024));
  private names = sharedBytes(1 << 16);
  namesUsed = 0;
  private dirBytes = sharedBytes(1 << 14);
  private dirUsed = 0;
  private dirStart = new Uint32Array(new SharedArrayBuffer(4 * 256));
  private dirEnd = new Uint32Array(new SharedArrayBuffer(4 * 256));
  dirCount = 0;

  /** A read-only view over the shared buffers of another thread's table. */
  static fromShare(share: TableShare): FileTable {
    const t = new FileTable();
    t.length = share.length;
    t.namesUsed = share.namesUsed;
    t.dirCount = share.dirCount;
    for (const k of BIG) {
      const signed = k === 'mtime' || k === 'ctime' || k === 'atime';
      (t as unknown as Record<string, Column>)[k] = signed ? new BigInt64Array(share.columns[k]) : new BigUint64Array(share.columns[k]);
    }
    for (const k of SMALL) (t as unknown as Record<string, Column>)[k] = new Uint32Array(share.columns[k]);
    t.names = new Uint8Array(share.names);
    t.dirBytes = new Uint8Array(share.dirBytes);
    t.dirStart = new Uint32Array(share.dirStart);
    t.dirEnd = new Uint32Array(share.dirEnd);
    return t;
  }

  share(): TableShare {
    const columns: Record<string, SharedArrayBuffer> = {};
    for (const k of [...BIG, ...SMALL]) columns[k] = (this as unknown as Record<string, Column>)[k].buffer as SharedArrayBuffer;
    return {
      length: this.length,
      namesUsed: this.namesUsed,
      dirCount: this.dirCount,
      columns,
      names: this.names.buffer as SharedArrayBuffer,
      dirBytes: this.dirBytes.buffer as SharedArrayBuffer,
      dirStart: this.dirStart.buffer as SharedArrayBuffer,
      dirEnd: this.dirEnd.buffer as SharedArrayBuffer,
    };
  }

  addDir(path: Buffer): number {
    const i = this.dirCount++;
    if (i >= this.dirStart.length) {
      this.dirStart = sharedLike(this.dirStart, this.dirStart.length * 2);
      this.dirEnd = sharedLike(this.dirEnd, this.dirEnd.length * 2);
    }
    this.dirBytes = this.appendBytes(this.dirBytes, this.dirUsed, path);
    this.dirStart[i] = this.dirUsed;
    this.dirUsed += path.length;
    this.dirEnd[i] = this.dirUsed;
    return i;
  }

  private appendBytes(arena: Uint8Array, used: number, bytes: Buffer): Uint8Array {
    if (used + bytes.length > arena.length) {
      const bigger = sharedBytes(Math.max(arena.length * 2, used + bytes.length));
      bigger.set(arena.subarray(0, used));
      arena = bigger;
    }
    arena.set(bytes, used);
    return arena;
  }

  add(dir: number, name: Buffer, st: BigIntStats): number {
    const i = this.length++;
    if (i >= this.dev.length) {
      const n = this.dev.length * 2;
      for (const k of [...BIG, ...SMALL]) {
        const self = this as unknown as Record<string, Column>;
        self[k] = sharedLike(self[k], n);
      }
    }
    this.dev[i] = st.dev;
    this.ino[i] = st.ino;
    this.size[i] = st.size;
    this.mtime[i] = st.mtimeNs;
    this.ctime[i] = st.ctimeNs;
    this.atime[i] = st.atimeNs;
    this.mode[i] = Number(st.mode);
    this.uid[i] = Number(st.uid);
    this.gid[i] = Number(st.gid);
    this.nlink[i] = Number(st.nlink);
    this.dir[i] = dir;
    this.names = this.appendBytes(this.names, this.namesUsed, name);
    this.nameStart[i] = this.namesUsed;
    this.namesUsed += name.length;
    this.nameEnd[i] = this.namesUsed;
    return i;
  }

  dirPath(d: number): Buffer {
    return Buffer.from(this.dirBytes.buffer, this.dirBytes.byteOffset + this.dirStart[d], this.dirEnd[d] - this.dirStart[d]);
  }

  /** The full path of row i, as new bytes. */
  path(i: number): Buffer {
    const d = this.dir[i];
    const ds = this.dirStart[d];
    const de = this.dirEnd[d];
    const ns = this.nameStart[i];
    const ne = this.nameEnd[i];
    const root = de - ds === 1 && this.dirBytes[ds] === 0x2f;
    const out = Buffer.allocUnsafe(de - ds + (root ? 0 : 1) + ne - ns);
    out.set(this.dirBytes.subarray(ds, de), 0);
    let at = de - ds;
    if (!root) out[at++] = 0x2f;
    out.set(this.names.subarray(ns, ne), at);
    return out;
  }

  stat(i: number): StatRecord {
    return {
      dev: this.dev[i].toString(),
      ino: this.ino[i].toString(),
      size: this.size[i].toString(),
      mode: this.mode[i],
      uid: this.uid[i],
      gid: this.gid[i],
      nlink: this.nlink[i],
      mtime: this.mtime[i].toString(),
      ctime: this.ctime[i].toString(),
      atime: this.atime[i].toString(),
    };
  }

  /** Appends every row of another table (a scanning thread's) to this one. */
  append(other: FileTable): void {
    const base = this.length;
    const n = other.length;
    if (base + n > this.dev.length) {
      let cap = this.dev.length;
      while (cap < base + n) cap *= 2;
      for (const k of [...BIG, ...SMALL]) {
        const self = this as unknown as Record<string, Column>;
        self[k] = sharedLike(self[k], cap);
      }
    }
    const self = this as unknown as Record<string, { set(a: unknown, at: number): void }>;
    const theirs = other as unknown as Record<string, Column>;
    for (const k of [...BIG, 'mode', 'uid', 'gid', 'nlink'] as const) self[k].set(theirs[k].subarray(0, n), base);
    const dirBase = this.dirCount;
    for (let d = 0; d < other.dirCount; d++) this.addDir(other.dirPath(d));
    const nameBase = this.namesUsed;
    this.names = this.appendBytes(this.names, this.namesUsed, Buffer.from(other.names.buffer, other.names.byteOffset, other.namesUsed));
    this.namesUsed += other.namesUsed;
    for (let r = 0; r < n; r++) {
      this.dir[base + r] = other.dir[r] + dirBase;
      this.nameStart[base + r] = other.nameStart[r] + nameBase;
      this.nameEnd[base + r] = other.nameEnd[r] + nameBase;
    }
    this.length = base + n;
  }

  /** Bytes held, for the memory-per-file measurement. */
  bytes(): number {
    return this.dev.length * (BIG.length * 8 + SMALL.length * 4) + this.names.length + this.dirBytes.length + this.dirStart.length * 8;
  }
}
