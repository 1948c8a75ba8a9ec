/**
 * switch exchanges two directories in one rename; the same command again is the way back.
 * Anything but two directories on one filesystem is refused with exit 2, changing nothing.
 * "One filesystem" is what the kernel can exchange: two btrfs subvolumes of one filesystem
 * (each its own st_dev, both roots inode 256) switch like any two directories.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { hashify } from '../helpers/cli.js';
import { loopMountAvailable, makeLoopFs } from '../helpers/loopfs.js';
import { scratchDir } from './support.js';

function marker(dir: string): string {
  return fs.readFileSync(join(dir, 'which'), 'utf8');
}

describe('switch', () => {
  test('exchanges A and B, and the same command again switches back', () => {
    const s = scratchDir();
    try {
      const a = join(s.dir, 'web');
      const b = join(s.dir, 'web.next');
      fs.mkdirSync(a);
      fs.mkdirSync(b);
      fs.writeFileSync(join(a, 'which'), 'old');
      fs.writeFileSync(join(b, 'which'), 'new');
      const inoA = fs.statSync(a).ino;

      const r = hashify(['switch', a, b, '--json']);
      expect(r.status).toBe(0);
      expect(r.json()).toEqual({ a, b, switched: true });
      expect([marker(a), marker(b)]).toEqual(['new', 'old']);
      expect(fs.statSync(b).ino).toBe(inoA);

      expect(hashify(['switch', a, b]).status).toBe(0);
      expect([marker(a), marker(b)]).toEqual(['old', 'new']);
    } finally {
      s.cleanup();
    }
  });

  test('refuses (exit 2) a file, a symlink to a directory, a missing path, one directory twice, one inside the other', () => {
    const s = scratchDir();
    try {
      const a = join(s.dir, 'a');
      fs.mkdirSync(join(a, 'inner'), { recursive: true });
      fs.writeFileSync(join(s.dir, 'file'), 'x');
      fs.symlinkSync(a, join(s.dir, 'link'));
      const before = fs.readdirSync(s.dir).sort();
      for (const other of ['file', 'link', 'missing', 'a', 'a/inner']) {
        const r = hashify(['switch', a, join(s.dir, other)]);
        expect([other, r.status]).toEqual([other, 2]);
        expect(r.stderr).toMatch(/Cannot switch/);
        const back = hashify(['switch', join(s.dir, other), a]);
        expect([other, back.status]).toEqual([other, 2]);
      }
      expect(fs.readdirSync(s.dir).sort()).toEqual(before);
      expect(fs.lstatSync(join(s.dir, 'link')).isSymbolicLink()).toBe(true);
    } finally {
      s.cleanup();
    }
  });

  const shm = fs.existsSync('/dev/shm') && fs.statSync('/dev/shm').dev !== fs.statSync(tmpdir()).dev;
  if (!shm) console.warn('skipping switch across filesystems: /dev/shm is missing or on the same filesystem as the temp directory');
  (shm ? test : test.skip)('refuses (exit 2) directories on different filesystems', () => {
    const s = scratchDir();
    const other = fs.mkdtempSync('/dev/shm/hashify-switch-');
    try {
      const a = join(s.dir, 'a');
      fs.mkdirSync(a);
      const r = hashify(['switch', a, other]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/different filesystems/);
      expect(fs.statSync(a).isDirectory()).toBe(true);
    } finally {
      s.cleanup();
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  const btrfs = loopMountAvailable('btrfs');
  if (!btrfs.ok) console.warn(`skipping switch of btrfs subvolumes: ${btrfs.reason}`);
  (btrfs.ok ? test : test.skip)('exchanges two btrfs subvolumes of one filesystem (different st_dev, same inode number)', () => {
    const loop = makeLoopFs({ type: 'btrfs', sizeMiB: 128 });
    try {
      const [a, b] = ['sv1', 'sv2'].map((n) => join(loop.dir, n));
      for (const [dir, which] of [[a, 'old'], [b, 'new']]) {
        execFileSync('btrfs', ['subvolume', 'create', dir], { stdio: 'ignore' });
        fs.writeFileSync(join(dir, 'which'), which);
      }
      const [sa, sb] = [a, b].map((d) => fs.statSync(d, { bigint: true }));
      expect(sa.dev).not.toBe(sb.dev);
      expect(sa.ino).toBe(sb.ino);

      const r = hashify(['switch', a, b, '--json']);
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
      expect(r.json()).toEqual({ a, b, switched: true });
      expect([marker(a), marker(b)]).toEqual(['new', 'old']);
      expect(fs.statSync(b, { bigint: true }).dev).toBe(sa.dev);

      expect(hashify(['switch', a, b]).status).toBe(0);
      expect([marker(a), marker(b)]).toEqual(['old', 'new']);
    } finally {
      loop.cleanup();
    }
  });
});
