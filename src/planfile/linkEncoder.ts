/**
 * A link line written straight into the plan writer's buffer from a planner's inode: exactly
 * JSON.stringify of the record the planner's linkRecord makes (keys type, op, group, path,
 * path64, stat, integrity, target, xattrs; test/planfile/writePlan.test.ts and
 * test/plan/rowInode.test.ts hold them equal), with no record and no line string. The target
 * (one per group, the largest part of the line) and the integrity are serialised once each and
 * copied; the inode writes its own path and stat (from the scan table's bytes and columns:
 * rowPaths.ts, rowStat.ts), or, a table's inode without xattrs, its whole line up to the
 * integrity in one call to the addon (native/planstat.c); numbers are written digit by digit.
 */
import type { TargetRecord, XattrRecord } from './records.js';
import { encodePath } from '../pathBytes.js';
import type { PlanInode } from '../plan/planInode.js';
import { NOT_PLAIN, STAT_MOST } from '../plan/rowStat.js';

const bytes = (s: string) => Buffer.from(s, 'utf8');
const HEAD = bytes('{"type":"link","op":');
const GROUP = bytes(',"group":');
const PATH = bytes(',"path":');
const PATH64 = bytes(',"path64":');
const STAT = bytes(',"stat":');
const INTEGRITY = bytes(',"integrity":');
const TARGET = bytes(',"target":');
const XATTRS = bytes(',"xattrs":');
const END = bytes('}\n');

/** Fixed bytes of a line, and room for two numbers. */
const OVERHEAD = HEAD.length + GROUP.length + PATH.length + PATH64.length + STAT.length + INTEGRITY.length + TARGET.length + XATTRS.length + END.length + 40;

export class LinkEncoder {
  private target?: TargetRecord;
  private targetJson = Buffer.alloc(0);
  private integrity = '';
  private integrityJson = Buffer.alloc(0);
  private tailTarget?: TargetRecord;
  private tailIntegrity = '';
  private tailBytes = Buffer.alloc(0);

  /**
   * Writes the line of path `k` of `inode` (with its newline) into `out` at `at`; returns the
   * bytes written, or -1 when it might not fit in `out.length - at` bytes. A path of printable
   * ASCII without `"` or `\` is its own JSON text, copied as it is; any other goes through
   * encodePath and JSON.stringify as linkRecord's does.
   */
  encodePath(op: number, group: number, inode: PlanInode, k: number, integrity: string, target: TargetRecord, out: Buffer, at: number): number {
    const x = inode.xattrs && Object.keys(inode.xattrs).length ? inode.xattrs : undefined;
    if (x === undefined && inode.writeLink !== undefined) {
      // The whole line from the scan table in one call to the addon (native/planstat.c).
      const end = inode.writeLink(k, op, group, this.tail(integrity, target), out, at);
      if (end !== NOT_PLAIN) return end < 0 ? -1 : end - at;
    }
    const n = this.line(op, group, k, '', inode, integrity, target, x, out, at);
    if (n !== NOT_PLAIN) return n;
    const e = encodePath(inode.path(k));
    return this.line(op, group, JSON.stringify(e.path), e.path64 === undefined ? '' : JSON.stringify(e.path64), inode, integrity, target, x, out, at);
  }

  /** What follows a link line's stat when it has no xattrs: the integrity, the target and the line's end. */
  private tail(integrity: string, target: TargetRecord): Buffer {
    if (target !== this.tailTarget || integrity !== this.tailIntegrity) {
      this.tailTarget = target;
      this.tailIntegrity = integrity;
      this.tailBytes = bytes(`,"integrity":${JSON.stringify(integrity)},"target":${JSON.stringify(target)}}\n`);
    }
    return this.tailBytes;
  }

  /**
   * `path`: its JSON text, or the number of the inode's path to copy in quotes (NOT_PLAIN when
   * it needs escapes).
   */
  private line(op: number, group: number, path: string | number, path64: string, inode: PlanInode, integrity: string, target: TargetRecord, xattrs: XattrRecord | undefined, out: Buffer, at: number): number {
    if (target !== this.target) {
      this.target = target;
      this.targetJson = bytes(JSON.stringify(target));
    }
    if (integrity !== this.integrity) {
      this.integrity = integrity;
      this.integrityJson = bytes(JSON.stringify(integrity));
    }
    const xattrsJson = xattrs === undefined ? '' : JSON.stringify(xattrs);
    const raw = typeof path === 'number';
    // UTF-8 takes at most three bytes per UTF-16 unit.
    const pathBytes = raw ? inode.pathLength(path) + 2 : path.length * 3;
    const most = OVERHEAD + pathBytes + (path64.length + xattrsJson.length) * 3 + STAT_MOST + this.integrityJson.length + this.targetJson.length;
    if (most > out.length - at) return -1;
    let p = at;
    p = put(out, p, HEAD);
    p = digits(out, p, op);
    p = put(out, p, GROUP);
    p = digits(out, p, group);
    p = put(out, p, PATH);
    if (raw) {
      out[p++] = QUOTE;
      if ((p = inode.writePath(path, out, p)) < 0) return NOT_PLAIN;
      out[p++] = QUOTE;
    } else p += out.write(path, p);
    if (path64) {
      p = put(out, p, PATH64);
      p += out.write(path64, p);
    }
    p = put(out, p, STAT);
    if ((p = inode.writeStat(out, p)) < 0) return -1;
    p = put(out, p, INTEGRITY);
    p = put(out, p, this.integrityJson);
    p = put(out, p, TARGET);
    p = put(out, p, this.targetJson);
    if (xattrsJson) {
      p = put(out, p, XATTRS);
      p += out.write(xattrsJson, p);
    }
    p = put(out, p, END);
    return p - at;
  }
}

const QUOTE = 0x22;

function put(out: Buffer, at: number, b: Buffer): number {
  if (b.length < 32) for (let k = 0; k < b.length; k++) out[at + k] = b[k];
  else out.set(b, at);
  return at + b.length;
}

/** The decimal digits of a non-negative safe integer. */
function digits(out: Buffer, at: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) return at + out.write(JSON.stringify(n), at, 'latin1');
  let len = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) len++;
  for (let k = len - 1, x = n; k >= 0; k--, x = Math.floor(x / 10)) out[at + k] = 48 + (x % 10);
  return at + len;
}
