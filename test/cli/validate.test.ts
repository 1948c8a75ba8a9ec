/** Option values, checked while the arguments are parsed: typed values out, or a USAGE error naming the option. */
import { parseCount, parseDigest, parseGlobs, parsePathOrOff, parseSize } from '../../src/cli/validate.js';
import { HashifyError } from '../../src/errors.js';

const refused = (f: () => unknown, message: RegExp) => {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(HashifyError);
  expect([(err as HashifyError).code, (err as HashifyError).exitCode]).toEqual(['USAGE', 2]);
  expect((err as Error).message).toMatch(message);
};

test('sizes take suffixes in powers of 1024', () => {
  expect(parseSize('--min-size', '4096')).toBe(4096n);
  expect(parseSize('--min-size', '4k')).toBe(4096n);
  expect(parseSize('--min-size', '4KiB')).toBe(4096n);
  expect(parseSize('--min-size', '1M')).toBe(1n << 20n);
  expect(parseSize('--min-size', '2G')).toBe(2n << 30n);
  expect(parseSize('--min-size', '0')).toBe(0n);
  for (const bad of ['-1', '1.5k', 'k', '4x', '', '4 kb b']) refused(() => parseSize('--min-size', bad), /--min-size must be a size/);
  refused(() => parseSize('--min-size', ['1', '2']), /given more than once/);
  expect(parseSize('--min-size', '18446744073709551615')).toBe((1n << 64n) - 1n);
  expect(parseSize('--min-size', '16777215T')).toBe(((1n << 24n) - 1n) << 40n);
  for (const big of ['18446744073709551616', '16384P', '16777216T', '20000000000G', '99999999999999999999999G']) refused(() => parseSize('--min-size', big), /--min-size must be at most 2\^64 - 1 bytes/);
});

test('counts are whole numbers of at least their minimum', () => {
  expect(parseCount('--threads', '3', 1)).toBe(3);
  expect(parseCount('--top', '0', 0)).toBe(0);
  for (const bad of ['abc', '0', '-2', '1.5', '']) refused(() => parseCount('--threads', bad, 1), /--threads must be a whole number of at least 1/);
  refused(() => parseCount('--link-max', '1', 2), /at least 2/);
});

test('globs must be readable; each --exclude is one', () => {
  expect(parseGlobs('--exclude', ['*.log', 'etc/**', '/abs/path/'])).toEqual(['*.log', 'etc/**', '/abs/path/']);
  expect(parseGlobs('--exclude', undefined)).toEqual([]);
  for (const bad of ['[', 'a{b', '(x', '[z-a]']) refused(() => parseGlobs('--exclude', [bad]), /is not a valid glob/);
});

test('--expect must be a whole sha256 or sha512 digest', () => {
  const d256 = 'sha256-' + Buffer.alloc(32, 7).toString('base64');
  const d512 = 'sha512-' + Buffer.alloc(64, 7).toString('base64');
  expect(parseDigest('--expect', d256)).toBe(d256);
  expect(parseDigest('--expect', d512)).toBe(d512);
  for (const bad of ['deadbeef', 'sha256-abc', 'sha1-' + Buffer.alloc(20).toString('base64'), d256.slice(0, -2), `${d256} ${d256}`]) {
    refused(() => parseDigest('--expect', bad), /is not a digest/);
  }
});

test('--store DIR / --no-store: one or the other', () => {
  expect(parsePathOrOff('--store', 'x')).toBe('x');
  expect(parsePathOrOff('--store', false)).toBe(false);
  expect(parsePathOrOff('--store', undefined)).toBeUndefined();
  refused(() => parsePathOrOff('--store', ['x', false]), /--store DIR and --no-store cannot be given together/);
  refused(() => parsePathOrOff('--store', ['x', 'y']), /given more than once/);
  refused(() => parsePathOrOff('--store', ''), /needs a path/);
});
