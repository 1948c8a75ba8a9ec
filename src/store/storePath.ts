/**
 * Store layout, pure path computation: `STORE/<algorithm>/ab/cd/<rest of hex digest>`,
 * and `…<rest>-N` (N ≥ 1) for further entries of the same content (other metadata, or the
 * link-count limit reached on the first).
 */
import { joinPath } from '../pathBytes.js';

const ENTRY = /^(sha256|sha512)\/([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]+)(?:-([1-9][0-9]{0,8}))?$/;
const HEX_LENGTH = { sha256: 64, sha512: 128 } as const;

/** The entry path for an SRI integrity string and a suffix (0 = the first entry). */
export function storeEntryPath(store: Buffer, integrity: string, suffix = 0): Buffer {
  const dash = integrity.indexOf('-');
  const algorithm = integrity.slice(0, dash);
  const hex = Buffer.from(integrity.slice(dash + 1), 'base64').toString('hex');
  const rel = `${algorithm}/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex.slice(4)}${suffix ? `-${suffix}` : ''}`;
  return joinPath(store, Buffer.from(rel));
}

/** The integrity and suffix an entry path stands for, or undefined if it is not an entry path of `store`. */
export function parseStoreEntryPath(store: Buffer, entry: Buffer): { integrity: string; suffix: number } | undefined {
  const prefix = store.length === 1 ? 1 : store.length + 1;
  if (entry.length <= prefix) return undefined;
  const m = ENTRY.exec(entry.subarray(prefix).toString('latin1'));
  if (!m) return undefined;
  const algorithm = m[1] as keyof typeof HEX_LENGTH;
  const hex = m[2] + m[3] + m[4];
  if (hex.length !== HEX_LENGTH[algorithm]) return undefined;
  return { integrity: `${algorithm}-${Buffer.from(hex, 'hex').toString('base64')}`, suffix: m[5] ? Number(m[5]) : 0 };
}
