/**
 * The persistent hash cache: content digests keyed by (device, inode, size, mtime ns,
 * ctime ns, algorithm), so that re-planning an unchanged tree reads no file. Any write to a
 * file changes its ctime, which nobody can set back, so a hit is a file whose bytes have not
 * changed since it was hashed. On disk: a msgpack envelope around one Buffer of fixed-size
 * records sorted by (device, inode), searched in place: no per-entry objects in memory.
 *
 * The cache file may be named by the user (`--cache FILE`), so it is treated as theirs: a
 * file there that is not a hashify cache is never overwritten (exit 2, before any work),
 * and directories are created only for the default location.
 */
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import type * as msgpackrType from 'msgpackr';
import { HashifyError, errnoCode } from '../errors.js';
import { displayPath, fsPath } from '../pathBytes.js';

// msgpackr costs ~30 ms of CPU to load; a cache this code wrote is read without it (ownRecords).
const require = createRequire(import.meta.url);

const FORMAT = 'hashify-hash-cache';
const VERSION = 1;
const REC = 112; // dev, ino, size, mtime, ctime (5 × 8), algorithm and flags (8), digest (64)
const WORDS = REC / 8;
const ALGORITHMS: Record<string, bigint> = { sha256: 1n, sha512: 2n };
const DIGEST_BYTES: Record<string, number> = { sha256: 32, sha512: 64 };
const XATTRS_FLAG = 0x100n;

export interface CacheKey {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtime: bigint;
  ctime: bigint;
}

/** The default location: $XDG_CACHE_HOME/hashify/hashes.msgpack (~/.cache when unset). */
export function defaultCachePath(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'hashify', 'hashes.msgpack');
}

export class HashCache {
  private words: BigUint64Array;
  private bytes: Buffer;
  private count: number;
  /** Records set during this run, in the file's record form (not sorted): 112 bytes each, no object. */
  private fresh = new Records(0);
  hits = 0;

  private constructor(readonly file: string | undefined, records: Buffer, private makeDirs = false) {
    const aligned = new ArrayBuffer(records.length);
    this.bytes = Buffer.from(aligned);
    records.copy(this.bytes);
    this.words = new BigUint64Array(aligned);
    this.count = records.length / REC;
  }

  /** An empty cache that saves nothing (`--no-cache`). */
  static disabled(): HashCache {
    return new HashCache(undefined, Buffer.alloc(0));
  }

  /**
   * Loads the cache file. Missing: an empty cache. A hashify cache of another version or
   * damaged: an empty cache, with a warning (it is replaced on save). Anything else at that
   * path, or a missing directory for a cache named by the user: CACHE_FOREIGN / USAGE (exit 2).
   * `isDefault`: the default location, whose directories save may create.
   */
  static load(file: string, warn: (m: string) => void, isDefault = false): HashCache {
    let records: Buffer<ArrayBufferLike> = Buffer.alloc(0);
    let data: Buffer | undefined;
    try {
      const st = lstatSync(fsPath(file));
      if (!st.isFile()) throw foreign(file, 'it is not a regular file');
      data = readFileSync(fsPath(file));
    } catch (err) {
      if (err instanceof HashifyError) throw err;
      if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR') throw foreign(file, (err as Error).message);
      if (!isDefault && !lstatSync(fsPath(dirname(file)), { throwIfNoEntry: false })?.isDirectory()) {
        throw new HashifyError('USAGE', `Cannot use the hash cache ${displayPath(file)}: the directory ${displayPath(dirname(file))} does not exist`, { hint: 'create it, or name another --cache FILE' });
      }
    }
    if (data) {
      if (!looksLikeCache(data)) throw foreign(file, 'it is not a hashify hash cache');
      try {
        const env = ownRecords(data) ?? ((require('msgpackr') as typeof msgpackrType).unpack(data) as { format?: string; version?: number; records?: Uint8Array });
        if (env?.format === FORMAT && env.version === VERSION && env.records instanceof Uint8Array && env.records.length % REC === 0) {
          // A view of the file's bytes (msgpackr does not copy): the constructor's aligned copy is the only one.
          records = Buffer.from(env.records.buffer, env.records.byteOffset, env.records.length);
        } else {
          warn(`Ignoring hash cache ${displayPath(file)}: not a hashify cache of version ${VERSION}; it will be replaced`);
        }
      } catch (err) {
        warn(`Ignoring damaged hash cache ${displayPath(file)}: ${(err as Error).message}; it will be replaced`);
      }
    }
    return new HashCache(file, records, isDefault);
  }

  private find(dev: bigint, ino: bigint): number {
    let lo = 0;
    let hi = this.count - 1;
    const w = this.words;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const d = w[mid * WORDS];
      const i = w[mid * WORDS + 1];
      if (d === dev && i === ino) return mid;
      if (d < dev || (d === dev && i < ino)) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Whether `get` can find anything (callers skip making keys when not). */
  get holdsAny(): boolean {
    return this.count > 0;
  }

  /** Whether `set` keeps anything (not with `--no-cache`). */
  get saves(): boolean {
    return this.file !== undefined;
  }

  /**
   * The cached digest for exactly this file state, or undefined; `xattrs` tells whether the
   * file had extended attributes then (setting one changes ctime, so it still holds).
   */
  get(key: CacheKey, algorithm: string): { digest: Uint8Array; xattrs: boolean } | undefined {
    if (this.count === 0) return undefined;
    const at = this.find(key.dev, key.ino);
    if (at < 0) return undefined;
    const w = this.words;
    const o = at * WORDS;
    if (w[o + 2] !== key.size || w[o + 3] !== BigInt.asUintN(64, key.mtime) || w[o + 4] !== BigInt.asUintN(64, key.ctime) || (w[o + 5] & 0xffn) !== ALGORITHMS[algorithm]) {
      return undefined;
    }
    this.hits++;
    return { digest: this.bytes.subarray(at * REC + 48, at * REC + 48 + DIGEST_BYTES[algorithm]), xattrs: (w[o + 5] & XATTRS_FLAG) !== 0n };
  }

  set(key: CacheKey, algorithm: string, digest: Uint8Array, xattrs: boolean): void {
    if (!this.file) return;
    if (this.fresh.full) this.fresh = this.fresh.grown();
    const n = this.fresh.count++;
    const fw = this.fresh.words;
    const o = n * WORDS;
    fw[o] = key.dev;
    fw[o + 1] = key.ino;
    fw[o + 2] = key.size;
    fw[o + 3] = BigInt.asUintN(64, key.mtime);
    fw[o + 4] = BigInt.asUintN(64, key.ctime);
    fw[o + 5] = ALGORITHMS[algorithm] | (xattrs ? XATTRS_FLAG : 0n);
    this.fresh.bytes.set(digest, n * REC + 48);
  }

  /** Writes old and new records, merged and sorted, atomically. Failure only warns. */
  save(warn: (m: string) => void): void {
    if (!this.file || this.fresh.count === 0) return;
    const added = this.fresh.count;
    const fresh = this.fresh.bytes;
    const fw = this.fresh.words;
    const order = (w: BigUint64Array, a: number, b: number) => {
      const da = w[a * WORDS], db = w[b * WORDS];
      if (da !== db) return da < db ? -1 : 1;
      const ia = w[a * WORDS + 1], ib = w[b * WORDS + 1];
      return ia < ib ? -1 : ia > ib ? 1 : 0;
    };
    const idx = [...Array(added).keys()].sort((a, b) => order(fw, a, b) || b - a);
    // Merge: a fresh record replaces an old one of the same (dev, ino).
    const out = Buffer.alloc((this.count + added) * REC);
    let n = 0, i = 0, j = 0;
    const cmp = (oi: number, fj: number) => {
      const d1 = this.words[oi * WORDS], d2 = fw[fj * WORDS];
      if (d1 !== d2) return d1 < d2 ? -1 : 1;
      const i1 = this.words[oi * WORDS + 1], i2 = fw[fj * WORDS + 1];
      return i1 < i2 ? -1 : i1 > i2 ? 1 : 0;
    };
    let last: number | undefined;
    while (i < this.count || j < idx.length) {
      if (j < idx.length && last !== undefined && order(fw, last, idx[j]) === 0) { j++; continue; }
      const c = i >= this.count ? 1 : j >= idx.length ? -1 : cmp(i, idx[j]);
      if (c < 0) this.bytes.copy(out, n++ * REC, i * REC, ++i * REC);
      else {
        if (c === 0) i++;
        last = idx[j];
        fresh.copy(out, n++ * REC, idx[j] * REC, ++j === 0 ? 0 : idx[j - 1] * REC + REC);
      }
    }
    const records = out.subarray(0, n * REC);
    const tmp = `${this.file}.tmp-${process.pid}`;
    try {
      // Someone may have put their own file there since load: never replace it.
      const now = lstatSync(fsPath(this.file), { throwIfNoEntry: false });
      if (now && (!now.isFile() || !looksLikeCache(readHead(fsPath(this.file))))) throw new Error('the file there is not a hashify cache any more; left as it is');
      if (this.makeDirs) mkdirSync(fsPath(dirname(this.file)), { recursive: true, mode: 0o700 });
      const fd = openSync(fsPath(tmp), 'w', 0o600);
      try {
        writeSync(fd, envelopeHead(records.length));
        writeSync(fd, records);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(fsPath(tmp), fsPath(this.file));
    } catch (err) {
      try {
        unlinkSync(fsPath(tmp));
      } catch {
        /* never made, or renamed */
      }
      warn(`Cannot save the hash cache ${displayPath(this.file)}: ${(err as Error).message}`);
    }
  }
}

/** A msgpack fixstr (up to 31 bytes). */
function fixstr(text: string): Buffer {
  const bytes = Buffer.from(text);
  return Buffer.concat([Buffer.from([0xa0 | bytes.length]), bytes]);
}

/**
 * The msgpack envelope `{ format, version, records }` up to the records' bytes, byte for
 * byte as msgpackr encodes it (map 16 of three, fixstr keys and name, fixint version, then a
 * bin 32 header with the records' length): the records are written after it as they are
 * (msgpack would copy them into one more buffer of their size).
 */
const HEAD = Buffer.concat([Buffer.from([0xde, 0, 3]), fixstr('format'), fixstr(FORMAT), fixstr('version'), Buffer.from([VERSION]), fixstr('records'), Buffer.from([0xc6])]);

function envelopeHead(length: number): Buffer {
  const head = Buffer.alloc(HEAD.length + 4);
  HEAD.copy(head);
  head.writeUInt32BE(length, HEAD.length);
  return head;
}

/** The envelope of a file this code saved, read without msgpackr; undefined for any other bytes. */
function ownRecords(data: Buffer): { format: string; version: number; records: Uint8Array } | undefined {
  const at = HEAD.length + 4;
  if (data.length < at || !data.subarray(0, HEAD.length).equals(HEAD) || data.readUInt32BE(HEAD.length) !== data.length - at) return undefined;
  return { format: FORMAT, version: VERSION, records: data.subarray(at) };
}

/** Fixed-size records in one aligned buffer that doubles as it fills. */
class Records {
  readonly bytes: Buffer;
  readonly words: BigUint64Array;
  count = 0;

  constructor(readonly capacity: number) {
    const aligned = new ArrayBuffer(capacity * REC);
    this.bytes = Buffer.from(aligned);
    this.words = new BigUint64Array(aligned);
  }

  get full(): boolean {
    return this.count === this.capacity;
  }

  grown(): Records {
    const next = new Records(Math.max(1024, this.capacity * 2));
    this.bytes.copy(next.bytes, 0, 0, this.count * REC);
    next.count = this.count;
    return next;
  }
}

function foreign(file: string, why: string): HashifyError {
  return new HashifyError('CACHE_FOREIGN', `Refusing to use ${displayPath(file)} as the hash cache: ${why}, and it would be overwritten`, {
    hint: 'name another --cache FILE, or use --no-cache',
  });
}

/** The envelope's first bytes: a msgpack map whose first key is "format" with our name. */
const MAGIC = Buffer.from(FORMAT);
function looksLikeCache(head: Buffer): boolean {
  return head.subarray(0, 64).includes(MAGIC);
}

function readHead(file: string | Buffer): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64);
    return buf.subarray(0, readSync(fd, buf, 0, 64, 0));
  } finally {
    closeSync(fd);
  }
}
