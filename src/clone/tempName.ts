/** Where a clone builds DST before renaming it into place: a name fixed by DST's own name. */
import { createRequire } from 'node:module';

// node:crypto only for a name too long (loading it costs every clone some milliseconds)
const require = createRequire(import.meta.url);

const SUFFIX = '.hashify-clone-tmp';

/**
 * `.NAME.hashify-clone-tmp` beside DST: deterministic, so the next clone to the same DST finds
 * and removes what a killed one left. A name too long for that gets a digest of itself instead.
 */
export function cloneTempName(dstName: Buffer): Buffer {
  const name = Buffer.concat([Buffer.from('.'), dstName, Buffer.from(SUFFIX)]);
  if (name.length <= 255) return name;
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return Buffer.from(`.${createHash('sha256').update(dstName).digest('hex').slice(0, 32)}${SUFFIX}`);
}
