/**
 * Prelinked ELF files: prelink(8) rewrites each library and program for one system's address
 * layout and keeps the original bytes in a `.gnu.prelink_undo` section. Such files differ from
 * guest to guest and, when they happen to match, change again at the next prelink run: they
 * never share for long. The check reads the ELF section headers through a descriptor.
 */
import { readSync } from 'node:fs';

const NAME = Buffer.from('.gnu.prelink_undo\0');
const MAX_SECTIONS = 1 << 16;
const MAX_STRTAB = 1 << 20;

function readAt(fd: number, pos: number, len: number): Buffer {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** True when the file behind `fd` is an ELF file with a `.gnu.prelink_undo` section. */
export function isPrelinked(fd: number): boolean {
  const h = readAt(fd, 0, 64);
  if (h.length < 52 || h.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = h[4] === 2;
  const le = h[5] === 1;
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const word = (b: Buffer, o: number) => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));
  if (is64 && h.length < 64) return false;
  const shoff = word(h, is64 ? 0x28 : 0x20);
  const shentsize = u16(h, is64 ? 0x3a : 0x2e);
  const shnum = u16(h, is64 ? 0x3c : 0x30);
  const shstrndx = u16(h, is64 ? 0x3e : 0x32);
  if (!shoff || shnum === 0 || shnum > MAX_SECTIONS || shstrndx >= shnum || shentsize < (is64 ? 64 : 40)) return false;
  const sh = readAt(fd, shoff, shnum * shentsize);
  if (sh.length < shnum * shentsize) return false;
  const at = (i: number) => i * shentsize;
  const strOff = word(sh, at(shstrndx) + (is64 ? 24 : 16));
  const strSize = Math.min(word(sh, at(shstrndx) + (is64 ? 32 : 20)), MAX_STRTAB);
  const names = readAt(fd, strOff, strSize);
  for (let i = 0; i < shnum; i++) {
    const name = u32(sh, at(i));
    if (name + NAME.length <= names.length && names.subarray(name, name + NAME.length).equals(NAME)) return true;
  }
  return false;
}
