/**
 * Which filesystem a path is on, for decisions (can it clone?) and for messages that name
 * it: the mount from /proc/self/mountinfo whose mount point holds the path (the deepest one,
 * the last mounted where two are stacked), with its device number from lstat.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { dirnameBytes, displayPath, isWithin } from '../pathBytes.js';

export interface Filesystem {
  /** Mount point (bytes: mount points can have any name). */
  mountPoint: Buffer;
  /** e.g. ext4, btrfs, xfs, tmpfs. */
  type: string;
  /** What is mounted: a block device, or a name such as "tmpfs". */
  source: string;
  /** st_dev of the path as "major:minor" (a btrfs subvolume has its own). */
  device: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(field: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < field.length; i++) {
    if (field[i] === '\\' && /^[0-7]{3}$/.test(field.slice(i + 1, i + 4))) {
      bytes.push(parseInt(field.slice(i + 1, i + 4), 8));
      i += 3;
    } else bytes.push(...Buffer.from(field[i], 'latin1'));
  }
  return Buffer.from(bytes);
}

/** The device number of `p`, or of its nearest existing ancestor when it does not exist yet. */
export function deviceOf(p: Buffer): bigint {
  for (let q = p; ; q = dirnameBytes(q)) {
    const st = lstatSync(q, { bigint: true, throwIfNoEntry: false });
    if (st) return st.dev;
  }
}

/** The filesystem holding the absolute, canonical path `p` (or its nearest existing ancestor). */
export function filesystemOf(p: Buffer): Filesystem {
  const dev = deviceOf(p);
  // glibc's dev_t: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31.
  const device = `${((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)}:${(dev & 0xffn) | ((dev >> 12n) & ~0xffn)}`;
  let best: Filesystem | undefined;
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'latin1');
  } catch {
    // No /proc: the device number alone names it.
  }
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6) continue;
    const mountPoint = unescape(fields[4]);
    if (!isWithin(p, mountPoint)) continue;
    if (best && mountPoint.length < best.mountPoint.length) continue;
    best = { mountPoint, type: fields[dash + 1], source: unescape(fields[dash + 2]).toString('latin1'), device };
  }
  return best ?? { mountPoint: Buffer.from('/'), type: 'unknown', source: 'unknown', device };
}

/** "ext4 on /dev/vda at /, device 254:0". */
export function describeFilesystem(fs: Filesystem): string {
  return `${fs.type} on ${fs.source} at ${displayPath(fs.mountPoint)}, device ${fs.device}`;
}
