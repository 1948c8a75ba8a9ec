/**
 * The hash cache: on save, what was loaded and what was added are merged (a new record
 * replaces the old one of the same inode, the rest stay), sorted so a later load finds
 * every one; a file that is not a cache is never overwritten.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pack, unpack } from 'msgpackr';
import { tmpdir } from 'node:os';
import { HashCache, type CacheKey } from '../../src/hash/hashCache.js';
import { HashifyError } from '../../src/errors.js';

const CACHE_JS = fileURLToPath(new URL('../../dist/hash/hashCache.js', import.meta.url));
const dir = fs.mkdtempSync(join(tmpdir(), 'hashify-cache-test-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const warnings: string[] = [];
const warn = (m: string) => warnings.push(m);
const key = (dev: number, ino: number, mtime = 1n): CacheKey => ({ dev: BigInt(dev), ino: BigInt(ino), size: 10n, mtime, ctime: 5n });
const digest = (n: number) => new Uint8Array(32).fill(n);

test('save merges the loaded records with the added ones; an added record replaces the old one of its inode', () => {
  const file = join(dir, 'merge.msgpack');
  const first = HashCache.load(file, warn);
  first.set(key(1, 30), 'sha256', digest(1), false);
  first.set(key(1, 10), 'sha256', digest(2), true);
  first.set(key(2, 5), 'sha256', digest(3), false);
  first.save(warn);

  const second = HashCache.load(file, warn);
  second.set(key(1, 20), 'sha256', digest(4), false); // new, between two old ones
  second.set(key(1, 30, 2n), 'sha256', digest(5), false); // the same inode, changed since
  second.set(key(0, 99), 'sha256', digest(6), false); // before every old one
  second.save(warn);

  const third = HashCache.load(file, warn);
  expect(third.get(key(1, 10), 'sha256')).toEqual({ digest: digest(2), xattrs: true });
  expect(third.get(key(2, 5), 'sha256')?.digest).toEqual(digest(3));
  expect(third.get(key(1, 20), 'sha256')?.digest).toEqual(digest(4));
  expect(third.get(key(0, 99), 'sha256')?.digest).toEqual(digest(6));
  expect(third.get(key(1, 30, 2n), 'sha256')?.digest).toEqual(digest(5));
  expect(third.get(key(1, 30), 'sha256')).toBeUndefined(); // the old state is gone
  expect(third.get(key(1, 10), 'sha512')).toBeUndefined();
  expect(fs.readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  expect(warnings).toEqual([]);
});

test('the same inode added twice in one run keeps the last digest', () => {
  const file = join(dir, 'twice.msgpack');
  const c = HashCache.load(file, warn);
  c.set(key(1, 1), 'sha256', digest(7), false);
  c.set(key(1, 1), 'sha256', digest(8), false);
  c.save(warn);
  expect(HashCache.load(file, warn).get(key(1, 1), 'sha256')?.digest).toEqual(digest(8));
});

test('a file that is not a cache is refused at load (CACHE_FOREIGN) and left as it is', () => {
  const file = join(dir, 'notes.txt');
  fs.writeFileSync(file, 'not a cache\n');
  expect(() => HashCache.load(file, warn)).toThrow(HashifyError);
  try {
    HashCache.load(file, warn);
  } catch (err) {
    expect((err as HashifyError).code).toBe('CACHE_FOREIGN');
    expect((err as HashifyError).exitCode).toBe(2);
  }
  expect(fs.readFileSync(file, 'utf8')).toBe('not a cache\n');
});

test('a file put at the cache path after load is not overwritten by save', () => {
  const file = join(dir, 'late.msgpack');
  const c = HashCache.load(file, warn);
  c.set(key(1, 1), 'sha256', digest(1), false);
  fs.writeFileSync(file, 'mine\n');
  const seen: string[] = [];
  c.save((m) => seen.push(m));
  expect(fs.readFileSync(file, 'utf8')).toBe('mine\n');
  expect(seen.join()).toMatch(/not a hashify cache/);
});

describe('the file', () => {
  const file = join(dir, 'format.msgpack');
  beforeAll(() => {
    const c = HashCache.load(file, warn);
    c.set(key(3, 7), 'sha256', digest(9), false);
    c.save(warn);
  });

  test('is msgpack `{ format, version, records }`, its head byte for byte as msgpackr encodes it', () => {
    const data = fs.readFileSync(file);
    const env = unpack(data) as { format: string; version: number; records: Uint8Array };
    expect([env.format, env.version, env.records.length]).toEqual(['hashify-hash-cache', 1, 112]);
    // msgpackr's encoding of the envelope with empty records, bin 8 of length 0 made a bin 32 header
    const empty = pack({ format: 'hashify-hash-cache', version: 1, records: Buffer.alloc(0) });
    const head = Buffer.concat([empty.subarray(0, -2), Buffer.from([0xc6, 0, 0, 0, 112])]);
    expect(data.subarray(0, head.length).toString('hex')).toBe(head.toString('hex'));
  });

  test('in another msgpack encoding of the same envelope (records as bin 8) is read too', () => {
    const records = (unpack(fs.readFileSync(file)) as { records: Uint8Array }).records;
    const other = join(dir, 'other.msgpack');
    fs.writeFileSync(other, pack({ format: 'hashify-hash-cache', version: 1, records: Buffer.from(records) }));
    expect(fs.readFileSync(other)[fs.readFileSync(other).length - 114]).toBe(0xc4); // bin 8
    expect(HashCache.load(other, warn).get(key(3, 7), 'sha256')?.digest).toEqual(digest(9));
  });

  // (msgpackr, imported, loads its native extension msgpackr-extract by require: the check sees both)
  test('that this code wrote is loaded without loading msgpackr', () => {
    const script = `import { HashCache } from ${JSON.stringify(CACHE_JS)}; import { createRequire } from 'node:module';
      const c = HashCache.load(${JSON.stringify(file)}, (m) => console.log(m));
      const loaded = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('msgpackr'));
      console.log(JSON.stringify({ hit: Boolean(c.get({ dev: 3n, ino: 7n, size: 10n, mtime: 1n, ctime: 5n }, 'sha256')), loaded }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect([r.stderr, JSON.parse(r.stdout)]).toEqual(['', { hit: true, loaded: false }]);
  });
});
