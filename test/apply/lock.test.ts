/**
 * acquireLock writes its pid into the lock file only when that file is its own: a name that
 * someone linked (a hard link) to another file, in a directory anyone can write to such as
 * /run/lock, must not get that file truncated and overwritten.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { acquireLock } from '../../src/apply/lock.js';

test('a lock name that is a hard link to another file: the lock is taken, the file keeps its bytes', () => {
  const dir = fs.mkdtempSync(join(tmpdir(), 'hashify-lock-'));
  try {
    const other = join(dir, 'precious');
    fs.writeFileSync(other, 'keep me\n');
    const name = join(dir, 'x.lock');
    fs.linkSync(other, name);
    const lock = acquireLock(name, 'test');
    lock.release();
    expect(fs.readFileSync(other, 'utf8')).toBe('keep me\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a lock file of its own gets the pid (for the message of a second hashify)', () => {
  const dir = fs.mkdtempSync(join(tmpdir(), 'hashify-lock-'));
  try {
    const name = join(dir, 'x.lock');
    const lock = acquireLock(name, 'test');
    expect(fs.readFileSync(name, 'utf8')).toBe(`${process.pid}\n`);
    lock.release();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
