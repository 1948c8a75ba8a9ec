/**
 * The content integrity of an open file, read through its descriptor. A write while it is
 * read shows in size, mtime or ctime: then there is no single content to name.
 */
import { fstatSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { integrityOf, type Algorithm } from '../integrity.js';

const BUFFER_BYTES = 1 << 20;
let buffer: Buffer | undefined;

/** `ALG-base64` of the bytes behind `fd`, or `{ changed }` when they changed while read. */
export function hashOpenFile(fd: number, algorithm: Algorithm): { integrity: string } | { changed: string } {
  const before = fstatSync(fd, { bigint: true });
  buffer ??= Buffer.allocUnsafe(BUFFER_BYTES);
  const hash = createHash(algorithm);
  let pos = 0;
  for (;;) {
    const n = readSync(fd, buffer, 0, BUFFER_BYTES, pos);
    if (n === 0) break;
    hash.update(buffer.subarray(0, n));
    pos += n;
  }
  const after = fstatSync(fd, { bigint: true });
  if (BigInt(pos) !== after.size || after.size !== before.size || after.mtimeNs !== before.mtimeNs || after.ctimeNs !== before.ctimeNs) {
    return { changed: 'it changed while it was read' };
  }
  return { integrity: integrityOf(algorithm, hash.digest()) };
}
