/** Integrity strings are written without ssri (src/integrity.ts): they must be the very strings ssri makes. */
import { randomBytes } from 'node:crypto';
import ssri from 'ssri';
import { integrityOf, integrityParts, type Algorithm } from '../src/integrity.js';

test.each([['sha256', 32], ['sha512', 64]] as const)('integrityOf(%s) is ssri.fromHex(…).toString(), and integrityParts reads it back', (algorithm: Algorithm, bytes) => {
  for (let k = 0; k < 200; k++) {
    const whole = randomBytes(bytes + 8);
    const digest = whole.subarray(k % 8, (k % 8) + bytes); // a view inside a larger buffer, too
    const text = integrityOf(algorithm, digest);
    expect(text).toBe(ssri.fromHex(digest.toString('hex'), algorithm).toString());
    expect(integrityParts(text)).toEqual({ algorithm, digest: Buffer.from(digest) });
  }
  expect(integrityOf(algorithm, new Uint8Array(bytes))).toBe(ssri.fromHex('00'.repeat(bytes), algorithm).toString());
});
