/**
 * acquireLock writes its pid into the lock file only when that file is its own: a name that
 * someone linked (a hard link) to another file, in a directory anyone can write to such as
 * /run/lock, must not get that file truncated and overwritten; and a FIFO put there must not
 * block the open that takes the lock, nor the read of the holder's pid. The digest locks lie
 * in a directory only hashify's user can write to (privateDir), which refuses any other.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import { acquireLock, privateDir } from '../../src/apply/lock.js';
import { CLI, hashify } from '../helpers/cli.js';
import { makeTree } from '../helpers/tree.js';

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

test('a FIFO put at the lock name: apply does not hang opening it, and runs', () => {
  const t = makeTree({ 'a/x': 'same bytes\n', 'b/x': 'same bytes\n' });
  try {
    const planFile = t.path('p.plan.jsonl');
    expect(hashify(['plan', t.path('a'), t.path('b'), '--no-store', '-o', planFile, '--no-cache', '-q']).status).toBe(0);
    execFileSync('mkfifo', [`${fs.realpathSync(planFile)}.lock`]);
    const r = spawnSync(process.execPath, [CLI, 'apply', planFile, '-q'], { encoding: 'utf8', timeout: 20000, killSignal: 'SIGKILL' });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(fs.statSync(t.path('a/x')).ino).toBe(fs.statSync(t.path('b/x')).ino);
  } finally {
    t.cleanup();
  }
});

test('a FIFO at the lock name that another process holds locked: apply exits 4 at once, not blocked reading a pid from it', () => {
  const t = makeTree({ 'a/x': 'same bytes\n', 'b/x': 'same bytes\n' });
  try {
    const planFile = t.path('p.plan.jsonl');
    expect(hashify(['plan', t.path('a'), t.path('b'), '--no-store', '-o', planFile, '--no-cache', '-q']).status).toBe(0);
    const name = `${fs.realpathSync(planFile)}.lock`;
    execFileSync('mkfifo', [name]);
    const held = acquireLock(name, 'test');
    try {
      const r = spawnSync(process.execPath, [CLI, 'apply', planFile, '-q'], { encoding: 'utf8', timeout: 20000, killSignal: 'SIGKILL' });
      expect(r.signal).toBeNull();
      expect(r.status).toBe(4);
      expect(r.stderr).toContain('is locked by another running hashify (pid ?');
    } finally {
      held.release();
    }
  } finally {
    t.cleanup();
  }
});

test('the private lock directory: made 0700 when missing; refused when others can write to it, when it is a symlink, or when another user owns it', () => {
  const dir = fs.mkdtempSync(join(tmpdir(), 'hashify-lockdir-'));
  try {
    const fresh = join(dir, 'fresh');
    expect(privateDir(fresh, 0, true)).toBe(fresh);
    expect(fs.lstatSync(fresh).mode & 0o777).toBe(0o700);
    expect(privateDir(fresh, 0, true)).toBe(fresh); // there already: fine
    expect(privateDir(join(dir, 'missing'), 0, false)).toBe(join(dir, 'missing'));
    expect(fs.existsSync(join(dir, 'missing'))).toBe(false);
    const open = join(dir, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o1777);
    const link = join(dir, 'link');
    fs.symlinkSync(fresh, link);
    const theirs = join(dir, 'theirs');
    fs.mkdirSync(theirs, { mode: 0o700 });
    fs.chownSync(theirs, 65534, 65534);
    for (const bad of [open, link, theirs]) {
      expect(() => privateDir(bad, 0, true)).toThrow(/not a directory of this user that only it can write to; refused/);
      expect(() => privateDir(bad, 0, false)).toThrow(/refused/);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
