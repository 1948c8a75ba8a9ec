/**
 * clone on real small filesystems (loop mounts, root only; skipped with the reason elsewhere):
 * a full disk stops it cleanly (exit 1, the path named, no DST and no temp tree left); on
 * btrfs copied files are reflinks (no new data blocks) while DST is still SRC in every field;
 * on ext4 without a journal the whole tree is on the disk before the rename (a later sync
 * finds nothing of it left to write), and with one the journal orders it instead.
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { hashify } from '../helpers/cli.js';
import { loopMountAvailable, makeLoopFs } from '../helpers/loopfs.js';
import { scratchDir, treeFacts } from './support.js';

const ext4 = loopMountAvailable('ext4');
if (!ext4.ok) console.warn(`skipping clone on a full ext4: ${ext4.reason}`);
(ext4.ok ? test : test.skip)('a full disk stops the clone with exit 1, no DST and no temp tree', () => {
  const s = scratchDir();
  const loop = makeLoopFs({ type: 'ext4', sizeMiB: 16 });
  try {
    const src = join(s.dir, 'src');
    fs.mkdirSync(join(src, 'a'), { recursive: true });
    for (let i = 0; i < 20; i++) fs.writeFileSync(join(src, 'a', `small${i}`), `file ${i}\n`);
    fs.writeFileSync(join(src, 'a', 'big'), randomBytes(24 << 20));
    const dst = join(loop.dir, 'dst');
    const r = hashify(['clone', src, dst]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ENOSPC|EDQUOT/);
    expect(r.stderr).toMatch(/a\/big/);
    expect(fs.readdirSync(loop.dir).filter((n) => n !== 'lost+found')).toEqual([]);
  } finally {
    loop.cleanup();
    s.cleanup();
  }
});

/** Sectors written to the block device holding `dir` so far (/sys/dev/block/M:m/stat). */
function sectorsWritten(dir: string): number {
  const device = execFileSync('mountpoint', ['-d', dir], { encoding: 'utf8' }).trim();
  return Number(fs.readFileSync(`/sys/dev/block/${device}/stat`, 'utf8').trim().split(/\s+/)[6]);
}

/** 100 directories, each with a subdirectory, a file and a symlink, below `root`. */
function smallTree(root: string): void {
  for (let i = 0; i < 100; i++) {
    fs.mkdirSync(join(root, `d${i}`, 'sub'), { recursive: true });
    fs.writeFileSync(join(root, `d${i}`, 'file'), `file ${i}\n`);
    fs.symlinkSync('file', join(root, `d${i}`, 'link'));
  }
}

(ext4.ok ? test : test.skip)('ext4 without a journal: the clone syncs the filesystem before the rename; with one, the journal orders it', () => {
  for (const journal of [false, true]) {
    const loop = makeLoopFs({ type: 'ext4', sizeMiB: 64, mkfsArgs: journal ? [] : ['-O', '^has_journal'] });
    try {
      const src = join(loop.dir, 'src');
      smallTree(src);
      execFileSync('sync', ['-f', loop.dir]);
      const r = hashify(['clone', src, join(loop.dir, 'dst'), '--json']);
      expect(r.status).toBe(0);
      expect(r.json().sync).toBe(journal ? 'journal' : 'syncfs');
      if (!journal) {
        // what is left to write after the clone returned: at most the block holding DST's own
        // inode, whose ctime the rename moved (without the sync, some 800 sectors of this tree)
        const before = sectorsWritten(loop.dir);
        execFileSync('sync', ['-f', loop.dir]);
        expect(sectorsWritten(loop.dir) - before).toBeLessThanOrEqual(8);
      }
    } finally {
      loop.cleanup();
    }
  }
});

const btrfs = loopMountAvailable('btrfs');
if (!btrfs.ok) console.warn(`skipping clone on btrfs: ${btrfs.reason}`);
(btrfs.ok ? test : test.skip)('on btrfs, copied files are reflinks and DST is SRC in every field', () => {
  const loop = makeLoopFs({ type: 'btrfs', sizeMiB: 256 });
  try {
    const g = join(loop.dir, 'guests');
    for (const x of ['a', 'b']) {
      fs.mkdirSync(join(g, x, 'lib'), { recursive: true });
      fs.writeFileSync(join(g, x, 'lib/shared.so'), 'shared\n'.repeat(1000));
      execFileSync('touch', ['-d', '2022-02-02', join(g, x, 'lib/shared.so')]);
    }
    fs.writeFileSync(join(g, 'a/own-data'), randomBytes(8 << 20));
    expect(hashify(['plan', join(g, 'a'), join(g, 'b'), '-o', join(loop.dir, 'p.plan.jsonl'), '--no-cache', '-q']).status).toBe(0);
    expect(hashify(['apply', join(loop.dir, 'p.plan.jsonl'), '-q']).status).toBe(0);
    execFileSync('sync', ['-f', loop.dir]);
    const r = hashify(['clone', join(g, 'a'), join(g, 'a.next'), '--json']);
    expect(r.status).toBe(0);
    expect(r.json()).toMatchObject({ linked: 1, copied: 1, bytesCopied: 8 << 20 });
    expect(treeFacts(join(g, 'a.next')).entries).toEqual(treeFacts(join(g, 'a')).entries);
    // btrfs filesystem du: the copy's extents are all shared with SRC's file (exclusive 0)
    const du = execFileSync('btrfs', ['filesystem', 'du', '--raw', join(g, 'a.next/own-data')], { encoding: 'utf8' });
    const [total, exclusive] = du.trim().split('\n').pop()!.trim().split(/\s+/).map(Number);
    expect(total).toBe(8 << 20);
    expect(exclusive).toBe(0);
  } finally {
    loop.cleanup();
  }
});
