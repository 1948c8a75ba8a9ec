/** Builds stores for tests: the marker, and entries named by the content they hold. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import ssri from 'ssri';
import { storeEntryRel } from '../../src/store/storePath.js';

/** The marker of a layout-2 store. */
export const MARKER_TEXT = '{"kind":"hashify-store","layout":2}\n';

/** The SRI sha256 of `content`. */
export const sri = (content: string | Buffer): string => ssri.fromData(content, { algorithms: ['sha256'] }).toString();

/** Writes the marker into `store` (made if missing). */
export function markStore(store: string): void {
  mkdirSync(store, { recursive: true });
  writeFileSync(join(store, 'hashify-store.json'), MARKER_TEXT);
}

/** Writes an entry holding `content` (its name its hash) and returns its path. */
export function putEntry(store: string, content: string | Buffer, suffix = 0): string {
  const p = join(store, storeEntryRel(sri(content), suffix));
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, content);
  return p;
}

/** The hex sha256 of `content`. */
export const hex = (content: string | Buffer): string => createHash('sha256').update(content).digest('hex');
