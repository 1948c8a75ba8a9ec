/**
 * Checks of a plan record's fields that the schema cannot make (64-bit ranges, a regular
 * file's mode) and comparisons of identities and xattrs, for src/planfile/checkPlan.ts.
 * They run for every record, so they make no BigInt, array or object per call.
 */
import type { StatRecord } from './records.js';

export const U64_MAX = (1n << 64n) - 1n;
const I64_MAX = (1n << 63n) - 1n;

/**
 * Whether a decimal string (the schema's form: digits, no leading zero, an optional minus)
 * is above `max` in magnitude, compared as text: digit strings of one length sort as their
 * numbers do.
 */
export function above(digits: string, max: string): boolean {
  return digits.length > max.length || (digits.length === max.length && digits > max);
}
const U64_MAX_TEXT = U64_MAX.toString();
const I64_MAX_TEXT = I64_MAX.toString();
const I64_MIN_MAGNITUDE = (I64_MAX + 1n).toString();

function checkTime(v: string | undefined, what: string): void {
  if (v !== undefined && (v[0] === '-' ? above(v.slice(1), I64_MIN_MAGNITUDE) : above(v, I64_MAX_TEXT))) throw new Error(`${what} is out of range`);
}

export function checkStat(s: StatRecord, what: string): void {
  if (above(s.dev, U64_MAX_TEXT)) throw new Error(`${what}.dev is larger than 64 bits`);
  if (above(s.ino, U64_MAX_TEXT)) throw new Error(`${what}.ino is larger than 64 bits`);
  if (above(s.size, U64_MAX_TEXT)) throw new Error(`${what}.size is larger than 64 bits`);
  checkTime(s.mtime, `${what}.mtime`);
  checkTime(s.ctime, `${what}.ctime`);
  checkTime(s.atime, `${what}.atime`);
  if ((s.mode & 0o170000) !== 0o100000) throw new Error(`${what}.mode is not a regular file's mode`);
}

export function sameInode(a: StatRecord, b: StatRecord): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

export function sameStat(a: StatRecord, b: StatRecord): boolean {
  return (
    a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mode === b.mode && a.uid === b.uid &&
    a.gid === b.gid && a.nlink === b.nlink && a.mtime === b.mtime && a.ctime === b.ctime
  );
}

/** The same names and values; no xattrs and `{}` are alike. */
export function sameXattrs(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  if (a === b) return true;
  const ka = a ? Object.keys(a) : [];
  if (ka.length !== (b ? Object.keys(b).length : 0)) return false;
  return ka.every((k) => Object.hasOwn(b!, k) && a![k] === b![k]);
}
