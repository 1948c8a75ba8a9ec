/**
 * Copies `src` into the new file `dst` (created exclusively, mode 0600 until its recorded
 * metadata is set), hashing the bytes on the way, and makes it durable. Returns the SRI
 * integrity of what was copied, so the caller can refuse a copy of changed content.
 */
import { closeSync, constants, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { openNoAtime } from '../openNoAtime.js';

const CHUNK = 1 << 20;

export function copyVerified(src: Buffer, dst: Buffer, algorithm: string): string {
  const from = openNoAtime(src);
  try {
    const to = openSync(dst, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      const hash = createHash(algorithm);
      const buf = Buffer.allocUnsafe(CHUNK);
      for (let pos = 0; ; ) {
        const n = readSync(from, buf, 0, CHUNK, pos);
        if (n === 0) break;
        hash.update(buf.subarray(0, n));
        for (let off = 0; off < n; ) off += writeSync(to, buf, off, n - off);
        pos += n;
      }
      fsyncSync(to);
      return `${algorithm}-${hash.digest('base64')}`;
    } finally {
      closeSync(to);
    }
  } finally {
    closeSync(from);
  }
}
