/**
 * SRI integrity strings (`sha256-<base64>`), read with ssri and written here, at the edges;
 * hot loops keep raw digests and call these only to name or compare a result. ssri is
 * loaded when a string is first read (~18 ms of CPU): `plan` only writes them.
 */
import { createRequire } from 'node:module';
import type ssriType from 'ssri';

export type Algorithm = 'sha256' | 'sha512';

const require = createRequire(import.meta.url);
let ssriModule: typeof ssriType | undefined;
const ssri = (): typeof ssriType => (ssriModule ??= require('ssri') as typeof ssriType);

/** The algorithm and raw digest of an integrity string hashify wrote; throws on anything else. */
export function integrityParts(integrity: string): { algorithm: Algorithm; digest: Buffer } {
  const hash = ssri().parse(integrity, { single: true, strict: true });
  if (!hash || (hash.algorithm !== 'sha256' && hash.algorithm !== 'sha512')) throw new TypeError(`not a sha256 or sha512 integrity string: ${JSON.stringify(integrity)}`);
  return { algorithm: hash.algorithm, digest: Buffer.from(hash.digest, 'base64') };
}

/** The integrity string of a raw digest: what ssri makes of it (`ALG-` and the padded base64), test/integrity.test.ts. */
export function integrityOf(algorithm: Algorithm, digest: Uint8Array): string {
  return `${algorithm}-${Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('base64')}`;
}
