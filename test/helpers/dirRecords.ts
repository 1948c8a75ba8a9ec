/**
 * Writes records in the layout of the native readDir (native/scan.c, decoded by
 * src/scan/dirRecords.ts), so that tests can feed FileTable.addRecord any number of rows
 * without a file per row.
 */
import { KIND_FILE, REC_HEAD } from '../../src/scan/dirRecords.js';

export interface FakeEntry {
  name: string;
  kind?: number;
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtime: bigint;
  ctime: bigint;
  atime: bigint;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
}

export function encodeRecords(entries: FakeEntry[]): ArrayBuffer {
  const names = entries.map((e) => Buffer.from(e.name));
  const bytes = names.reduce((n, b) => n + REC_HEAD + ((b.length + 7) & ~7), 0);
  const out = Buffer.alloc(bytes);
  let at = 0;
  entries.forEach((e, k) => {
    out.writeUInt32LE(e.kind ?? KIND_FILE, at);
    out.writeUInt32LE(names[k].length, at + 4);
    [e.dev, e.ino, e.size].forEach((v, j) => out.writeBigUInt64LE(v, at + 8 + 8 * j));
    [e.mtime, e.ctime, e.atime].forEach((v, j) => out.writeBigInt64LE(v, at + 32 + 8 * j));
    [e.mode, e.uid, e.gid, e.nlink].forEach((v, j) => out.writeUInt32LE(v, at + 56 + 4 * j));
    names[k].copy(out, at + REC_HEAD);
    at += REC_HEAD + ((names[k].length + 7) & ~7);
  });
  return out.buffer.slice(out.byteOffset, out.byteOffset + out.length);
}
