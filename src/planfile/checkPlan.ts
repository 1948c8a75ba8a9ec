/**
 * The rules a plan must obey beyond its schema, checked record by record in one pass with
 * bounded memory: order (header, store/link records by group, trailer), numbering, paths
 * absolute, normalised and inside the plan's roots (store paths inside its store and named
 * by their integrity), and totals and line integrity in the trailer.
 */
import { decodePath, isNormalAbsolute, isWithin } from '../pathBytes.js';
import { PLAN_KIND, PLAN_VERSION } from './records.js';
import type { HeaderRecord, LinkRecord, PlanRecord, StatRecord, StoreRecord, TrailerRecord } from './records.js';
import { parseStoreEntryPath } from '../store/storePath.js';
import { U64_MAX, above, checkStat, sameInode, sameStat, sameXattrs } from './checkFields.js';

/** Raised for a plan that breaks a rule; `line` is 1-based. */
export class PlanRuleError extends Error {
  constructor(readonly line: number, message: string) {
    super(message);
  }
}

export interface PlanTotals {
  files: number;
  groups: number;
  ops: number;
  storeEntries: number;
  bytesReclaimable: bigint;
  /** The largest store entry apply copies in (0 without copy-in): the room it needs up front. */
  largestCopy: bigint;
}

/** Feeds records one at a time; throws PlanRuleError at the first broken rule. */
export class PlanChecker {
  header?: HeaderRecord;
  trailer?: TrailerRecord;
  /** The bytes of the last record's own `path` (store and link records), checked: not decoded again. */
  path?: Buffer;
  private roots: Buffer[] = [];
  private store?: Buffer;
  private line = 0;
  private nextOp = 0;
  private group = -1;
  private groups = 0;
  private storeEntries = 0;
  private groupStore?: StoreRecord;
  private groupTarget?: { path: string; path64?: string; stat: StatRecord; xattrs?: Record<string, string> };
  private groupIntegrity?: string;
  private groupInodes = new Set<string>();
  private lastPath?: Buffer;
  private currentInode?: string;
  private currentStat?: StatRecord;
  private currentPaths = 0;
  private bytesReclaimable = 0n;
  private groupFreed = 0n;
  private groupCost = 0n;
  private largestCopy = 0n;
  private targetInodes = 0;

  /** Checks one parsed, schema-valid record. */
  add(rec: PlanRecord): void {
    this.line++;
    this.path = undefined;
    try {
      this.check(rec);
    } catch (err) {
      if (err instanceof PlanRuleError) throw err;
      throw new PlanRuleError(this.line, (err as Error).message);
    }
  }

  private check(rec: PlanRecord): void {
    if (this.trailer) throw new Error('a record follows the trailer');
    if (!this.header) {
      if (rec.type !== 'header') throw new Error(`the first record must be the header, not "${rec.type}"`);
      if (rec.kind !== PLAN_KIND) throw new Error('the header is not a hashify plan');
      if (rec.version !== PLAN_VERSION) {
        throw new Error(`plan version ${rec.version} is not supported (this hashify reads version ${PLAN_VERSION})`);
      }
      this.roots = rec.roots.map((r, i) => this.absolute(r, `roots[${i}]`));
      if (rec.store) this.store = this.absolute(rec.store, 'store');
      if (rec.store && rec.link === 'reflink') throw new Error('a reflink plan has no store');
      if (BigInt(rec.minSize) > U64_MAX) throw new Error('minSize is larger than 64 bits');
      this.header = rec;
      return;
    }
    switch (rec.type) {
      case 'header':
        throw new Error('a second header');
      case 'store':
        return this.checkStore(rec);
      case 'link':
        return this.checkLink(rec);
      case 'trailer':
        return this.checkTrailer(rec);
    }
  }

  private absolute(rec: { path: string; path64?: string }, what: string): Buffer {
    let p: Buffer;
    try {
      p = decodePath(rec);
    } catch (err) {
      throw new Error(`${what}: ${(err as Error).message}`);
    }
    if (!isNormalAbsolute(p)) throw new Error(`${what} is not an absolute path in normal form: ${JSON.stringify(rec.path)}`);
    return p;
  }

  private insideRoots(p: Buffer, what: string): void {
    // Roots often differ only near their end: their last byte rules most of them out cheaply.
    if (!this.roots.some((r) => p[r.length - 1] === r[r.length - 1] && isWithin(p, r))) throw new Error(`${what} ${JSON.stringify(p.toString())} is outside the plan's roots`);
    if (this.store && isWithin(p, this.store)) throw new Error(`${what} ${JSON.stringify(p.toString())} is inside the store`);
  }

  private startGroup(group: number): void {
    if (group !== this.group + 1) throw new Error(`group ${group} follows group ${this.group}; groups must be numbered in order`);
    this.endGroup();
    this.group = group;
    this.groups++;
    this.groupStore = undefined;
    this.groupTarget = undefined;
    this.groupIntegrity = undefined;
    this.groupInodes.clear();
    this.endInode();
    this.lastPath = undefined;
    this.currentInode = undefined;
  }

  private checkStore(rec: StoreRecord): void {
    if (!this.store || !this.header) throw new Error('a store record in a plan without a store');
    this.startGroup(rec.group);
    if (rec.keeper && (rec.stat || rec.from || rec.xattrs)) throw new Error('a copied-in store entry has its keeper, and no stat, from or xattrs of its own');
    const stat = rec.stat ?? rec.keeper?.stat;
    if (!stat) throw new Error('a store record needs its stat or its keeper');
    checkStat(stat, rec.keeper ? 'keeper.stat' : 'stat');
    const p = this.absolute(rec, 'path');
    if (!isWithin(p, this.store) || p.equals(this.store)) throw new Error('the store entry path is outside the store');
    this.path = p;
    const parsed = parseStoreEntryPath(this.store, p);
    if (!parsed || parsed.integrity !== rec.integrity) {
      throw new Error(`the store entry path does not belong to integrity ${rec.integrity}`);
    }
    if (!rec.integrity.startsWith(this.header.algorithm + '-')) throw new Error('integrity uses another algorithm than the header');
    if (rec.from) {
      const from = this.absolute(rec.from, 'from');
      this.insideRoots(from, 'from');
    }
    if (rec.keeper) {
      this.insideRoots(this.absolute(rec.keeper, 'keeper.path'), 'keeper.path');
      // The copy costs one file of this size, which its group's freed inodes pay back.
      this.groupCost = BigInt(stat.size);
      if (this.groupCost > this.largestCopy) this.largestCopy = this.groupCost;
    }
    this.storeEntries++;
    this.groupStore = rec;
    this.groupTarget = { path: rec.path, path64: rec.path64, stat, xattrs: rec.keeper ? rec.keeper.xattrs : rec.xattrs };
    this.groupIntegrity = rec.integrity;
    this.targetInodes++;
  }

  private checkLink(rec: LinkRecord): void {
    const header = this.header!;
    if (rec.op !== this.nextOp) throw new Error(`operation ${rec.op} where operation ${this.nextOp} was expected`);
    this.nextOp++;
    if (rec.group !== this.group) {
      if (header.store && header.link === 'hardlink') throw new Error(`link operation of group ${rec.group} has no store record before it`);
      this.startGroup(rec.group);
      this.targetInodes++;
    }
    checkStat(rec.stat, 'stat');
    checkStat(rec.target.stat, 'target.stat');
    const p = this.absolute(rec, 'path');
    this.insideRoots(p, 'path');
    // A group's operations name one target: a path already checked is not decoded again.
    const t0 = this.groupTarget;
    const target = t0 && t0.path === rec.target.path && t0.path64 === rec.target.path64 ? undefined : this.absolute(rec.target, 'target.path');
    if (!rec.integrity.startsWith(header.algorithm + '-')) throw new Error('integrity uses another algorithm than the header');
    if (rec.stat.size !== rec.target.stat.size) throw new Error('the file and its target differ in size');
    // Hard links need one device; a clone one filesystem, whose btrfs subvolumes are devices of their own.
    if (rec.stat.dev !== rec.target.stat.dev && header.link !== 'reflink') throw new Error('the file and its target are on different devices');
    // A copied-in entry's target identity is its keeper's: the keeper's own paths are operations too.
    if (sameInode(rec.stat, rec.target.stat) && !this.groupStore?.keeper) throw new Error('the file already is its target');
    if (rec.stat.size === '0' || above(header.minSize, rec.stat.size)) throw new Error('the file is smaller than minSize');
    if (this.groupTarget) {
      const t = this.groupTarget;
      if (t.path !== rec.target.path || t.path64 !== rec.target.path64 || !sameStat(t.stat, rec.target.stat) || !sameXattrs(t.xattrs, rec.target.xattrs)) {
        throw new Error(`the target differs from the rest of group ${rec.group}`);
      }
      if (this.groupIntegrity !== rec.integrity) throw new Error(`the integrity differs from the rest of group ${rec.group}`);
    } else {
      // No store: the target is a kept file inside the roots.
      this.insideRoots(target!, 'target.path');
      this.groupTarget = rec.target;
      this.groupIntegrity = rec.integrity;
    }
    this.checkMatch(rec);
    // Paths of one inode are adjacent, inodes and paths in strictly increasing order, so that
    // no path appears twice in a group and apply can follow one inode at a time.
    const inode = `${rec.stat.dev}:${rec.stat.ino}`;
    if (inode !== this.currentInode) {
      if (this.groupInodes.has(inode)) throw new Error('the paths of one inode are not adjacent');
      this.endInode();
      this.groupInodes.add(inode);
      this.currentInode = inode;
      this.currentStat = rec.stat;
      this.lastPath = undefined;
    } else if (!sameStat(rec.stat, this.currentStat!)) {
      throw new Error('two paths of one inode record different identities');
    }
    this.currentPaths++;
    if (this.lastPath && Buffer.compare(this.lastPath, p) >= 0) throw new Error('paths of one inode are not in increasing order');
    this.lastPath = p;
    this.path = p;
  }

  /** An inode is freed by apply when every one of its links is a path of the plan. */
  private endInode(): void {
    if (this.currentStat && this.currentPaths >= this.currentStat.nlink) this.groupFreed += BigInt(this.currentStat.size);
    this.currentStat = undefined;
    this.currentPaths = 0;
  }

  /** A group reclaims what its freed inodes held, less its new store entry's copy (never below 0). */
  private endGroup(): void {
    this.endInode();
    if (this.groupFreed > this.groupCost) this.bytesReclaimable += this.groupFreed - this.groupCost;
    this.groupFreed = 0n;
    this.groupCost = 0n;
  }

  /** The metadata that the header says must match does match between file and target. */
  private checkMatch(rec: LinkRecord): void {
    const m = this.header!.match;
    const a = rec.stat;
    const b = rec.target.stat;
    if (this.header!.link === 'reflink') return; // a clone keeps the file's own metadata
    if (m.mode && a.mode !== b.mode) throw new Error('the file and its target differ in mode, which the plan says must match');
    if (m.owner && (a.uid !== b.uid || a.gid !== b.gid)) throw new Error('the file and its target differ in owner, which the plan says must match');
    if (m.mtime && a.mtime !== b.mtime) throw new Error('the file and its target differ in mtime, which the plan says must match');
    if (m.xattrs && !sameXattrs(rec.xattrs, rec.target.xattrs)) throw new Error('the file and its target differ in xattrs, which the plan says must match');
  }

  private checkTrailer(rec: TrailerRecord): void {
    this.endGroup();
    this.trailer = rec;
    const want: Array<[string, number | string, number | string]> = [
      ['ops', rec.ops, this.nextOp],
      ['groups', rec.groups, this.groups],
      ['sharedInodes', rec.sharedInodes, this.groups],
      ['storeEntries', rec.storeEntries, this.storeEntries],
      ['bytesReclaimable', rec.bytesReclaimable, this.bytesReclaimable.toString()],
    ];
    if (rec.space) want.push(['space.bytesApparent', rec.space.bytesApparent, this.bytesReclaimable.toString()]);
    for (const [name, got, expected] of want) {
      if (got !== expected) throw new Error(`the trailer says ${name} ${got} but the plan has ${expected}`);
    }
  }

  /** Call after the last line: the plan must have ended with its trailer. */
  finish(): PlanTotals {
    if (!this.header) throw new PlanRuleError(1, 'the plan is empty');
    if (!this.trailer) throw new PlanRuleError(this.line, 'the plan has no trailer (truncated?)');
    return { files: this.trailer.files, groups: this.groups, ops: this.nextOp, storeEntries: this.storeEntries, bytesReclaimable: this.bytesReclaimable, largestCopy: this.largestCopy };
  }
}
