/**
 * The lossless string form of path bytes that command-line paths travel in (src/pathBytes.ts):
 * valid UTF-8 is itself, every other byte one lone surrogate; the bytes come back exactly.
 * rawArgv (src/cli/rawArgv.ts) leaves a command line without U+FFFD as it is.
 */
import { randomBytes } from 'node:crypto';
import { bytesOfText, displayPath, fsPath, textOfBytes } from '../../src/pathBytes.js';
import { rawArgv } from '../../src/cli/rawArgv.js';

test('valid UTF-8 (an astral character too) is its own string, and fsPath leaves it a string', () => {
  for (const s of ['/srv/a', 'é/ü', 'x\u{1f600}y', '\ufffd', '']) {
    expect(textOfBytes(Buffer.from(s))).toBe(s);
    expect(bytesOfText(s)).toEqual(Buffer.from(s));
    expect(fsPath(s)).toBe(s);
  }
});

test('each byte that is not UTF-8 is one lone surrogate, and back', () => {
  const b = Buffer.from([0x61, 0xfe, 0x2f, 0xc3, 0xa9, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98]);
  const t = textOfBytes(b);
  expect(t).toBe('a\udcfe/é\udcc3(\udced\udca0\udc80\udcf0\udc9f\udc98');
  expect(bytesOfText(t)).toEqual(b);
  expect(fsPath(t)).toEqual(b);
  expect(displayPath(t)).toBe('"a\\xfe/é\\xc3(\\xed\\xa0\\x80\\xf0\\x9f\\x98"');
});

test('random bytes round-trip, and two names that differ only in bytes that are not UTF-8 stay apart', () => {
  for (let i = 0; i < 500; i++) {
    const b = randomBytes(1 + (i % 40));
    expect(bytesOfText(textOfBytes(b))).toEqual(b);
  }
  expect(textOfBytes(Buffer.from([0xfe]))).not.toBe(textOfBytes(Buffer.from([0xff])));
});

test('rawArgv: a command line without U+FFFD is process.argv itself', () => {
  expect(rawArgv(['node', 'cli.js', 'plan', '/a', '-o', 'p'])).toEqual(['plan', '/a', '-o', 'p']);
});

test('rawArgv: an argument /proc/self/cmdline does not match (here: jest\'s own) stays as given', () => {
  expect(rawArgv(['node', 'cli.js', 'plan', '\ufffda'])).toEqual(['plan', '\ufffda']);
});
