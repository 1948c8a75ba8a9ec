/**
 * Store layout (version 2, see marker.ts), pure path computation:
 * `STORE/<algorithm>/<first 2 hex digits>/<rest of the hex digest>`, and `…<rest>-N` (N ≥ 1)
 * for further entries of the same content (other metadata, or the link-count limit reached
 * on the first). One level of at most 256 shard directories per algorithm: a directory costs
 * a block, so a small store must not pay for 65,536 of them (layout 1 had two levels).
 * Integrity strings are read with ssri, loaded when first needed: `clone` reads this
 * file's naming rules at start-up and never makes an integrity string.
 */
import { createRequire } from 'node:module';
import type ssriType from 'ssri';
import { joinPath } from '../pathBytes.js';
import { integrityOf } from '../integrity.js';

const require = createRequire(import.meta.url);
let ssriModule: typeof ssriType | undefined;
const ssri = (): typeof ssriType => (ssriModule ??= require('ssri') as typeof ssriType);

/** The digest algorithms a store holds, with the length of their hex digests. */
export const HEX_LENGTH = { sha256: 64, sha512: 128 } as const;
export type StoreAlgorithm = keyof typeof HEX_LENGTH;

/** Whether `name` is an algorithm a store holds (own keys only: not "toString"). */
export function isStoreAlgorithm(name: string): name is StoreAlgorithm {
  return Object.hasOwn(HEX_LENGTH, name);
}

/** The marker's name in the store's root (see marker.ts). */
export const STORE_MARKER = 'hashify-store.json';

/** Names in a store's root that are hashify's own bookkeeping, not content: the marker and lock files. */
export function isStoreBookkeeping(name: string): boolean {
  return name === STORE_MARKER || /^\.hashify\.lock/.test(name);
}

/** An entry's name inside its shard: the hex digest after the shard's two digits, and a suffix. */
export const ENTRY_NAME = /^([0-9a-f]+)(?:-([1-9][0-9]{0,8}))?$/;
/** A shard directory's name. */
export const SHARD_NAME = /^[0-9a-f]{2}$/;

/** The algorithm and hex digest of an SRI integrity string hashify wrote; throws on anything else. */
export function integrityHex(integrity: string): { algorithm: StoreAlgorithm; hex: string } {
  const hash = ssri().parse(integrity, { single: true, strict: true });
  const algorithm = hash?.algorithm as StoreAlgorithm;
  const hex = isStoreAlgorithm(algorithm) ? hash.hexDigest() : '';
  if (hex.length !== HEX_LENGTH[algorithm]) throw new TypeError(`not a sha256 or sha512 integrity string: ${JSON.stringify(integrity)}`);
  return { algorithm, hex };
}

/** The SRI integrity string of a hex digest. */
export function integrityOfHex(algorithm: StoreAlgorithm, hex: string): string {
  return integrityOf(algorithm, Buffer.from(hex, 'hex')); // what ssri's fromHex makes, without loading ssri
}

/** The entry's path relative to the store: `sha256/ab/<62 hex>[-N]`. */
export function storeEntryRel(integrity: string, suffix = 0): string {
  const { algorithm, hex } = integrityHex(integrity);
  return `${algorithm}/${hex.slice(0, 2)}/${hex.slice(2)}${suffix ? `-${suffix}` : ''}`;
}

/** The entry path for an SRI integrity string and a suffix (0 = the first entry). */
export function storeEntryPath(store: Buffer, integrity: string, suffix = 0): Buffer {
  return joinPath(store, Buffer.from(storeEntryRel(integrity, suffix)));
}

/** The hex digest and suffix of the entry named `name` in shard `shard` of `algorithm`, or undefined (no integrity string made: for walks). */
export function entryNameParts(algorithm: string, shard: string, name: string): { algorithm: StoreAlgorithm; hex: string; suffix: number } | undefined {
  if (!isStoreAlgorithm(algorithm) || !SHARD_NAME.test(shard)) return undefined;
  const m = ENTRY_NAME.exec(name);
  if (!m || m[1].length + 2 !== HEX_LENGTH[algorithm]) return undefined;
  return { algorithm, hex: shard + m[1], suffix: m[2] ? Number(m[2]) : 0 };
}

/** The integrity and suffix of the entry named `name` in shard `shard` of `algorithm`, or undefined. */
export function parseEntryName(algorithm: string, shard: string, name: string): { integrity: string; suffix: number } | undefined {
  const parts = entryNameParts(algorithm, shard, name);
  return parts && { integrity: integrityOfHex(parts.algorithm, parts.hex), suffix: parts.suffix };
}

/** The integrity and suffix an entry path stands for, or undefined if it is not an entry path of `store`. */
export function parseStoreEntryPath(store: Buffer, entry: Buffer): { integrity: string; suffix: number } | undefined {
  const prefix = store.length === 1 ? 1 : store.length + 1;
  if (entry.length <= prefix || !entry.subarray(0, store.length).equals(store) || (store.length > 1 && entry[store.length] !== 0x2f)) return undefined;
  const parts = entry.subarray(prefix).toString('latin1').split('/');
  if (parts.length !== 3) return undefined;
  return parseEntryName(parts[0], parts[1], parts[2]);
}
