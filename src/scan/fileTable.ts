/**
 * The scanned files, column by column in typed arrays: about 90 bytes a file plus its
 * name, instead of a BigIntStats object and a path string each (a few hundred bytes).
 * Row i is one path; paths of one inode share the inode's fields.
 */
import type { BigIntStats } from 'node:fs';
import { joinPath } from '../pathBytes.js';
import type { StatRecord } from '../planfile/records.js';

function grow<T extends BigUint64Array | BigInt64Array | Uint32Array | Int32Array>(a: T, n: number): T {
  if (n <= a.length) return a;
  const b = new (a.constructor as new (len: number) => T)(Math.max(n, a.length * 2));
  (b as unknown as { set(x: T): void }).set(a);
  return b;
}

export class FileTable {
  length = 0;
  dev = new BigUint64Array(1024);
  ino = new BigUint64Array(1024);
  size = new BigUint64Array(1024);
  mtime = new BigInt64Array(1024);
  ctime = new BigInt64Array(1024);
  atime = new BigInt64Array(1024);
  mode = new Uint32Array(1024);
  uid = new Uint32Array(1024);
  gid = new Uint32Array(1024);
  nlink = new Uint32Array(1024);
  /** Directory of the path (index into `dirs`) and the name's place in `names`. */
  dir = new Uint32Array(1024);
  nameStart = new Uint32Array(1024);
  nameEnd = new Uint32Array(1024);
  private names = Buffer.allocUnsafe(1 << 16);
  private namesUsed = 0;
  /** Full paths of the directories that hold files. */
  dirs: Buffer[] = [];

  addDir(path: Buffer): number {
    this.dirs.push(path);
    return this.dirs.length - 1;
  }

  add(dir: number, name: Buffer, st: BigIntStats): number {
    const i = this.length++;
    if (i >= this.dev.length) {
      const n = i + 1;
      this.dev = grow(this.dev, n);
      this.ino = grow(this.ino, n);
      this.size = grow(this.size, n);
      this.mtime = grow(this.mtime, n);
      this.ctime = grow(this.ctime, n);
      this.atime = grow(this.atime, n);
      this.mode = grow(this.mode, n);
      this.uid = grow(this.uid, n);
      this.gid = grow(this.gid, n);
      this.nlink = grow(this.nlink, n);
      this.dir = grow(this.dir, n);
      this.nameStart = grow(this.nameStart, n);
      this.nameEnd = grow(this.nameEnd, n);
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
    if (this.namesUsed + name.length > this.names.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.names.length * 2, this.namesUsed + name.length));
      this.names.copy(bigger, 0, 0, this.namesUsed);
      this.names = bigger;
    }
    name.copy(this.names, this.namesUsed);
    this.nameStart[i] = this.namesUsed;
    this.namesUsed += name.length;
    this.nameEnd[i] = this.namesUsed;
    return i;
  }

  path(i: number): Buffer {
    return joinPath(this.dirs[this.dir[i]], this.names.subarray(this.nameStart[i], this.nameEnd[i]));
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

  /** Bytes held, for the memory-per-file measurement. */
  bytes(): number {
    return this.dev.length * (6 * 8 + 7 * 4) + this.names.length + this.dirs.reduce((n, d) => n + d.length + 48, 0);
  }
}
