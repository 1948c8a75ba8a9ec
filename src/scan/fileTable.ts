/**
 * The scanned files, column by column in typed arrays: 56 bytes a file plus its name,
 * instead of a BigIntStats object and a path string each (a few hundred bytes). Row i is
 * one path; paths of one inode share the inode's fields. What most files share is stored
 * once: the device (every file lies on its root's filesystem: `roots.devs`), and the
 * (mode, uid, gid) triple (a row holds its number in a small dictionary). Names follow
 * each other in row order, so row i's name ends where row i+1's starts. The columns live
 * in SharedArrayBuffers so that hashing threads read rows in place: a task is a row
 * number, not a cloned object.
 */
import type { StatRecord } from '../planfile/records.js';
import type { DirRecords } from './dirRecords.js';
import { MAX_BYTES, big, grow, growable, small, view, type Column, type ViewCtor } from './columns.js';
import { Metas } from './metas.js';


const BIG = ['ino', 'size', 'mtime', 'ctime', 'atime'] as const;
/** `nameAt` has one element more than there are rows: row i's name is names[nameAt[i]..nameAt[i+1]). */
const SMALL = ['meta', 'nlink', 'dir', 'nameAt'] as const;

/**
 * The roots' descriptors (opened once by the scan, shared by every thread of the process)
 * and, per root, how many bytes of a directory's absolute path to skip to get its path
 * relative to the root: every file is opened beneath its root's descriptor, never by path.
 */
export interface RootFds {
  fds: number[];
  skip: number[];
  /** Each root's device: the device of every file scanned below it. */
  devs: bigint[];
}

/** The scanned files, one row a path, column by column (see the top of this file). */
export class FileTable {
  length = 0;
  ino!: BigUint64Array;
  size!: BigUint64Array;
  mtime!: BigInt64Array;
  ctime!: BigInt64Array;
  atime!: BigInt64Array;
  /** Number of the row's (mode, uid, gid) in `metas`. */
  meta!: Uint32Array;
  nlink!: Uint32Array;
  /** Directory of the path (index into the directory arena) and the name's place in `names`. */
  dir!: Uint32Array;
  nameAt!: Uint32Array;
  /** The (mode, uid, gid) triples the rows' `meta` numbers name. */
  private metas = new Metas();
  names!: Uint8Array;
  namesUsed = 0;
  dirBytes!: Uint8Array;
  private dirUsed = 0;
  dirStart!: Uint32Array;
  dirEnd!: Uint32Array;
  /** Root (index into `roots`) of each directory. */
  dirRoot!: Uint32Array;
  dirCount = 0;
  roots: RootFds = { fds: [], skip: [], devs: [] };
  private devTexts: string[] = [];

  /** A new empty table. */
  constructor() {
    const self = this as unknown as Record<string, Column>;
    for (const k of BIG) self[k] = view(k === 'mtime' || k === 'ctime' || k === 'atime' ? BigInt64Array : BigUint64Array, big(1024));
    // (nameAt has room for one element more than the other columns have rows.)
    for (const k of SMALL) self[k] = view(Uint32Array, small(k === 'nameAt' ? 1025 : 1024));
    this.names = view(Uint8Array, growable(1 << 16, MAX_BYTES));
    this.dirBytes = view(Uint8Array, growable(1 << 14, MAX_BYTES));
    this.dirStart = view(Uint32Array, small(256));
    this.dirEnd = view(Uint32Array, small(256));
    this.dirRoot = view(Uint32Array, small(256));
  }

  /** Makes the byte array `k` (names, directory arena) hold at least `bytes`, growing in place. */
  private fit(k: 'names' | 'dirBytes' | 'dirStart' | 'dirEnd' | 'dirRoot', bytes: number): void {
    const self = this as unknown as Record<string, Column | Uint8Array>;
    const v = self[k];
    if (v.byteLength >= bytes) return;
    grow(v.buffer, bytes);
    self[k] = view(v.constructor as unknown as ViewCtor, v.buffer);
  }

  /** Adds a directory (its absolute path) under root number `root`; returns its index. */
  addDir(path: Buffer, root: number): number {
    const i = this.dirCount++;
    this.fit('dirStart', (i + 1) * 4);
    this.fit('dirEnd', (i + 1) * 4);
    this.fit('dirRoot', (i + 1) * 4);
    this.dirRoot[i] = root;
    this.fit('dirBytes', this.dirUsed + path.length);
    this.dirBytes.set(path, this.dirUsed);
    this.dirStart[i] = this.dirUsed;
    this.dirUsed += path.length;
    this.dirEnd[i] = this.dirUsed;
    return i;
  }

  /** Makes room for `rows` rows in every column alike (they grow in place, by half again). */
  private growRows(rows: number): void {
    if (rows <= this.ino.length) return;
    const capacity = Math.max(rows, Math.ceil(this.ino.length * 1.5 / 2) * 2);
    const self = this as unknown as Record<string, Column>;
    for (const k of [...BIG, ...SMALL]) {
      const b = self[k].buffer as SharedArrayBuffer;
      const bytes = (capacity + (k === 'nameAt' ? 1 : 0)) * self[k].BYTES_PER_ELEMENT;
      if (b.byteLength < bytes) b.grow(bytes);
      self[k] = view(self[k].constructor as unknown as ViewCtor, b);
    }
  }

  /** Adds a row from the native readDir record `rec` is at (dirRecords.ts decodes the layout). */
  addRecord(dir: number, rec: DirRecords): number {
    const i = this.length++;
    this.growRows(i + 1); // every column has the same capacity in rows
    this.ino[i] = rec.ino;
    this.size[i] = rec.size;
    this.mtime[i] = rec.mtime;
    this.ctime[i] = rec.ctime;
    this.atime[i] = rec.atime;
    this.meta[i] = this.metas.of(rec.mode, rec.uid, rec.gid);
    this.nlink[i] = rec.nlink;
    this.dir[i] = dir;
    const name = rec.name;
    this.fit('names', this.namesUsed + name.length);
    this.names.set(name, this.namesUsed);
    this.namesUsed += name.length;
    this.nameAt[i + 1] = this.namesUsed;
    return i;
  }

  /** Row i's device in decimal (one string per root). */
  private devText(i: number): string {
    const r = this.dirRoot[this.dir[i]];
    return (this.devTexts[r] ??= this.roots.devs[r].toString());
  }

  /** Row i's device: its root's. */
  devOf(i: number): bigint {
    return this.roots.devs[this.dirRoot[this.dir[i]]];
  }

  modeOf(i: number): number {
    return this.metas.mode(this.meta[i]);
  }

  uidOf(i: number): number {
    return this.metas.uid(this.meta[i]);
  }

  gidOf(i: number): number {
    return this.metas.gid(this.meta[i]);
  }

  /**
   * Whether directory d is the filesystem root `/`: a name joins it as `/name`, any other
   * directory as `dir/name` (the rule of path() and src/plan/rowPaths.ts; native/planstat.c
   * mirrors it).
   */
  dirIsSlash(d: number): boolean {
    return this.dirEnd[d] - this.dirStart[d] === 1 && this.dirBytes[this.dirStart[d]] === 0x2f;
  }

  /** The full path of row i, as new bytes. */
  path(i: number): Buffer {
    const d = this.dir[i];
    const ds = this.dirStart[d];
    const de = this.dirEnd[d];
    const ns = this.nameAt[i];
    const ne = this.nameAt[i + 1];
    const root = this.dirIsSlash(d);
    const out = Buffer.allocUnsafe(de - ds + (root ? 0 : 1) + ne - ns);
    const { dirBytes, names } = this; // byte by byte: no subarray object per part
    let at = 0;
    for (let k = ds; k < de; k++) out[at++] = dirBytes[k];
    if (!root) out[at++] = 0x2f;
    for (let k = ns; k < ne; k++) out[at++] = names[k];
    return out;
  }

  /** The columns as the addon's hashRows reads them in place (order in native/hash_io.c get_table). */
  nativeColumns(): ArrayBufferView[] {
    const { ino, size, mtime, ctime, dir, nameAt, names, dirStart, dirEnd, dirBytes, dirRoot } = this;
    const n = this.length;
    return [BigUint64Array.from(this.roots.devs), ino, size, mtime, ctime, dir, nameAt.subarray(0, n), nameAt.subarray(1, n + 1), names, dirStart, dirEnd, dirBytes, dirRoot, Int32Array.from(this.roots.fds), Uint32Array.from(this.roots.skip)];
  }

  stat(i: number): StatRecord {
    return {
      dev: this.devText(i),
      ino: this.ino[i].toString(),
      size: this.size[i].toString(),
      mode: this.modeOf(i),
      uid: this.uidOf(i),
      gid: this.gidOf(i),
      nlink: this.nlink[i],
      mtime: this.mtime[i].toString(),
      ctime: this.ctime[i].toString(),
      atime: this.atime[i].toString(),
    };
  }

  /** Bytes held, for the memory-per-file measurement. */
  bytes(): number {
    return this.ino.length * (BIG.length * 8 + SMALL.length * 4) + this.names.length + this.dirBytes.length + this.dirStart.length * 12;
  }
}
