/**
 * Option values checked and converted while the arguments are parsed, so that a bad value
 * is refused (exit 2) before any work starts. Each returns the typed value or throws a
 * HashifyError('USAGE') naming the option.
 */
import { createRequire } from 'node:module';
import type picomatchType from 'picomatch';
import type ssriType from 'ssri';
import { HashifyError } from '../errors.js';

// Loaded only when an option needs them: every command parses its arguments at start-up.
const require = createRequire(import.meta.url);

const UNITS: Record<string, bigint> = { '': 1n, k: 1n << 10n, m: 1n << 20n, g: 1n << 30n, t: 1n << 40n, p: 1n << 50n };
const DIGEST_BYTES: Record<string, number> = { sha256: 32, sha512: 64 };

function usage(message: string): HashifyError {
  return new HashifyError('USAGE', message);
}

/** One value for an option that yargs collects into an array when it is given twice. */
function single<T>(option: string, value: T | T[]): T {
  if (Array.isArray(value)) throw usage(`${option} was given more than once`);
  return value;
}

/** A string option given once (yargs makes an array of an option given twice). */
export function parseOne(option: string, value: unknown): string {
  return String(single(option, value));
}

/** Sizes are 64-bit, like st_size and the plan's fields. */
const MAX_U64 = (1n << 64n) - 1n;

/** A size in bytes: `4096`, `4k`, `1M`, `2G` (powers of 1024; `KiB`/`KB`/`K` all the same). */
export function parseSize(option: string, value: unknown): bigint {
  const text = String(single(option, value)).trim();
  const m = /^([0-9]+)\s*([kmgtp]?)(i?b)?$/i.exec(text);
  if (!m || (m[3] && !m[2] && m[3].toLowerCase() !== 'b')) throw usage(`${option} must be a size in bytes such as 4096, 4k, 1M or 2G, not ${JSON.stringify(text)}`);
  const bytes = BigInt(m[1]) * UNITS[m[2].toLowerCase()];
  if (bytes > MAX_U64) throw usage(`${option} must be at most 2^64 - 1 bytes (16 EiB), not ${JSON.stringify(text)}`);
  return bytes;
}

/** A whole number of at least `min`. */
export function parseCount(option: string, value: unknown, min: number): number {
  const text = String(single(option, value)).trim();
  if (!/^[0-9]+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw usage(`${option} must be a whole number${min > 0 ? ` of at least ${min}` : ''}, not ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** `--exclude` patterns: each must be a glob picomatch can read (unbalanced brackets are refused). */
export function parseGlobs(option: string, value: unknown): string[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)];
  if (list.length === 0) return list;
  for (const g of list) {
    let re: RegExp;
    try {
      const picomatch = require('picomatch') as typeof picomatchType;
      re = picomatch.makeRe(g.replace(/^\/|\/+$/g, '') || g, { dot: true, strictBrackets: true });
    } catch (err) {
      throw usage(`${option} ${JSON.stringify(g)} is not a valid glob: ${(err as Error).message}`);
    }
    // picomatch answers a pattern it cannot turn into a regular expression (a range such as
    // [z-a]) with one that matches nothing.
    if (re.source === '$^') throw usage(`${option} ${JSON.stringify(g)} is not a valid glob`);
  }
  return list;
}

/** A plan digest as `show` prints it: `sha256-` or `sha512-` and the base64 of a whole digest. */
export function parseDigest(option: string, value: unknown): string {
  const text = String(single(option, value)).trim();
  const ssri = require('ssri') as typeof ssriType;
  const hash = ssri.parse(text, { single: true, strict: true }) as ssriType.Hash | null;
  const bytes = hash && DIGEST_BYTES[hash.algorithm];
  if (!hash || !bytes || Buffer.from(hash.digest, 'base64').length !== bytes || Buffer.from(hash.digest, 'base64').toString('base64') !== hash.digest) {
    throw usage(`${option} ${JSON.stringify(text)} is not a digest: give the plan digest that \`hashify show\` prints (sha256-…)`);
  }
  return hash.toString();
}

/**
 * A path option that `--no-NAME` turns off (`--store DIR` / `--no-store`, `--cache FILE` /
 * `--no-cache`): the path, false, or undefined; both at once is refused.
 */
export function parsePathOrOff(option: string, value: unknown): string | false | undefined {
  if (Array.isArray(value)) {
    if (value.includes(false)) throw usage(`${option} DIR and --no-${option.slice(2)} cannot be given together`);
    throw usage(`${option} was given more than once`);
  }
  if (value === undefined || value === false) return value;
  if (value === true || value === '') throw usage(`${option} needs a path`);
  return String(value);
}
