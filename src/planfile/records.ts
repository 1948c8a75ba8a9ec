/**
 * The plan file's records: a discriminated union on `type`, mirroring
 * schemas/plan-record.schema.json (test/planfile/schemaTypes.test.ts keeps them in step: a field added to one fails until the other has it).
 */

export const PLAN_KIND = 'hashify-plan';
export const PLAN_VERSION = 2;

/** The identity of an inode as scanned. 64-bit values are decimal strings. */
export interface StatRecord {
  dev: string;
  ino: string;
  size: string;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: string;
  ctime: string;
  atime?: string;
}

export interface PathRecord {
  path: string;
  path64?: string;
}

/** Extended attribute name → base64 value. */
export type XattrRecord = Record<string, string>;

export interface MatchOptions {
  mtime: boolean;
  owner: boolean;
  mode: boolean;
  xattrs: boolean;
}

export type LinkMode = 'hardlink' | 'reflink';
export type Algorithm = 'sha256' | 'sha512';

export interface HeaderRecord {
  type: 'header';
  kind: typeof PLAN_KIND;
  version: number;
  tool: string;
  created: string;
  roots: PathRecord[];
  store: PathRecord | null;
  link: LinkMode;
  algorithm: Algorithm;
  minSize: string;
  match: MatchOptions;
  exclude: string[];
  linkMax: number;
  /** `plan --adopt`: a new store entry is the keeper's own inode (linked), not a copy. */
  adopt?: boolean;
}

/**
 * A store entry, one of three kinds:
 *   - existing: `stat` (and `xattrs`) is the entry's identity;
 *   - copied in (version 2's default): `keeper` is the checked file whose bytes apply copies
 *     into a new inode, hashes and names; the keeper's own paths are link operations too,
 *     and the entry's identity is journaled when it is made (no `stat`);
 *   - adopted (`plan --adopt`): `from` is the keeper path whose own inode (`stat`) is linked in.
 */
export interface StoreRecord extends PathRecord {
  type: 'store';
  group: number;
  integrity: string;
  stat?: StatRecord;
  xattrs?: XattrRecord;
  /** The keeper path to link into the store (adopt); absent when the entry already exists. */
  from?: PathRecord;
  /** The keeper to copy the entry from (identity as scanned). */
  keeper?: TargetRecord;
}

export interface TargetRecord extends PathRecord {
  stat: StatRecord;
  xattrs?: XattrRecord;
}

export interface LinkRecord extends PathRecord {
  type: 'link';
  op: number;
  group: number;
  stat: StatRecord;
  xattrs?: XattrRecord;
  integrity: string;
  target: TargetRecord;
}

/** Space as du will see it after apply (src/plan/spaceFigures.ts); 64-bit values are decimal strings, reclaimable may be negative. */
export interface SpaceRecord {
  bytesReclaimable: string;
  bytesApparent: string;
  blockSize: number;
  storeDirectories: number;
}

export interface TrailerRecord {
  type: 'trailer';
  files: number;
  groups: number;
  ops: number;
  storeEntries: number;
  bytesReclaimable: string;
  sharedInodes: number;
  skipped?: { otherDevice?: number; unreadable?: number; changedWhileScanning?: number };
  /** Space as du will see it (src/plan/spaceFigures.ts); bytesReclaimable above is the apparent size. */
  space?: SpaceRecord;
  linesIntegrity: string;
}

export type PlanRecord = HeaderRecord | StoreRecord | LinkRecord | TrailerRecord;
/** What the planner produces between header and trailer. */
export type BodyRecord = StoreRecord | LinkRecord;

/**
 * The trailer's one serialisation, keys in a fixed order. No integrity covers the trailer's
 * own line, so readers accept exactly this spelling of it and no other.
 */
export function trailerJson(t: TrailerRecord): string {
  const { type, files, groups, ops, storeEntries, bytesReclaimable, sharedInodes, skipped, space, linesIntegrity } = t;
  const ordered = skipped && { otherDevice: skipped.otherDevice, unreadable: skipped.unreadable, changedWhileScanning: skipped.changedWhileScanning };
  const spaceOrdered = space && { bytesReclaimable: space.bytesReclaimable, bytesApparent: space.bytesApparent, blockSize: space.blockSize, storeDirectories: space.storeDirectories };
  return JSON.stringify({ type, files, groups, ops, storeEntries, bytesReclaimable, sharedInodes, ...(ordered ? { skipped: ordered } : {}), ...(spaceOrdered ? { space: spaceOrdered } : {}), linesIntegrity });
}
