/**
 * A link record's line written straight into the plan writer's buffer: exactly
 * JSON.stringify(rec) for a record as the planner makes it (keys type, op, group, path,
 * path64, stat, integrity, target, xattrs; test/planfile/writePlan.test.ts holds them
 * equal), with no line string and no copy of the record. The target (one per group, the
 * largest part of the line), the stat (one per inode) and the integrity are serialised once
 * each and copied as bytes; numbers are written digit by digit.
 */
import type { LinkRecord } from './records.js';

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
  private target?: object;
  private targetJson = Buffer.alloc(0);
  private stat?: object;
  private statJson = Buffer.alloc(0);
  private integrity = '';
  private integrityJson = Buffer.alloc(0);

  /**
   * Writes the line of `rec` (with its newline) into `out` at `at`; returns the bytes written,
   * or -1 when it might not fit in `out.length - at` bytes (nothing written).
   */
  encode(rec: LinkRecord, out: Buffer, at: number): number {
    if (rec.target !== this.target) {
      this.target = rec.target;
      this.targetJson = bytes(JSON.stringify(rec.target));
    }
    if (rec.stat !== this.stat) {
      this.stat = rec.stat;
      this.statJson = bytes(JSON.stringify(rec.stat));
    }
    if (rec.integrity !== this.integrity) {
      this.integrity = rec.integrity;
      this.integrityJson = bytes(JSON.stringify(rec.integrity));
    }
    const path = JSON.stringify(rec.path);
    const path64 = rec.path64 === undefined ? '' : JSON.stringify(rec.path64);
    const xattrs = rec.xattrs === undefined ? '' : JSON.stringify(rec.xattrs);
    // UTF-8 takes at most three bytes per UTF-16 unit.
    const most = OVERHEAD + (path.length + path64.length + xattrs.length) * 3 + this.statJson.length + this.integrityJson.length + this.targetJson.length;
    if (most > out.length - at) return -1;
    let p = at;
    p = put(out, p, HEAD);
    p = digits(out, p, rec.op);
    p = put(out, p, GROUP);
    p = digits(out, p, rec.group);
    p = put(out, p, PATH);
    p += out.write(path, p);
    if (path64) {
      p = put(out, p, PATH64);
      p += out.write(path64, p);
    }
    p = put(out, p, STAT);
    p = put(out, p, this.statJson);
    p = put(out, p, INTEGRITY);
    p = put(out, p, this.integrityJson);
    p = put(out, p, TARGET);
    p = put(out, p, this.targetJson);
    if (xattrs) {
      p = put(out, p, XATTRS);
      p += out.write(xattrs, p);
    }
    p = put(out, p, END);
    return p - at;
  }
}

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
