/**
 * SRI integrity strings (`sha256-<base64>`), read and written with ssri at the edges; hot
 * loops keep raw digests and call these only to name or compare a result.
 */
import ssri from 'ssri';

export type Algorithm = 'sha256' | 'sha512';

/** The algorithm and raw digest of an integrity string hashify wrote; throws on anything else. */
export function integrityParts(integrity: string): { algorithm: Algorithm; digest: Buffer } {
  const hash = ssri.parse(integrity, { single: true, strict: true });
  if (!hash || (hash.algorithm !== 'sha256' && hash.algorithm !== 'sha512')) throw new TypeError(`not a sha256 or sha512 integrity string: ${JSON.stringify(integrity)}`);
  return { algorithm: hash.algorithm, digest: Buffer.from(hash.digest, 'base64') };
}

/** The integrity string of a raw digest. */
export function integrityOf(algorithm: Algorithm, digest: Uint8Array): string {
  return ssri.fromHex(Buffer.from(digest).toString('hex'), algorithm).toString();
}
