/**
 * Roots and store: links cannot cross filesystems, so roots on two filesystems or a store on
 * another one are refused (exit 2) with each one's filesystem named; the store is never put
 * at `/.hash`; `--link reflink` asks the kernel whether the filesystem clones (no probe
 * written into a root).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { makeTree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';
import { loopMountAvailable, makeLoopFs, type LoopFsType } from '../helpers/loopfs.js';

const devOf = (p: string) => fs.statSync(p).dev;

describe('filesystems', () => {
  const t = makeTree({ 'a/x': 'same\n', 'b/x': 'same\n' });
  const shm = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/hashify-test-') : undefined;
  afterAll(() => {
    t.cleanup();
    if (shm) fs.rmSync(shm, { recursive: true, force: true });
  });
  const otherFs = shm !== undefined && devOf(shm) !== devOf(t.root);
  if (!otherFs) console.log('skipped: /dev/shm is not a filesystem apart from the temp directory here');
  const onOtherFs = otherFs ? test : test.skip;

  onOtherFs('roots on two filesystems: exit 2, each root named with its filesystem, nothing written', () => {
    fs.writeFileSync(join(shm!, 'x'), 'same\n');
    const r = hashify(['plan', t.path('a'), shm!, '-o', t.path('p.plan.jsonl'), '--no-cache']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/different filesystems/);
    expect(r.stderr).toContain(`"${fs.realpathSync(t.path('a'))}": `);
    expect(r.stderr).toContain(`"${shm}": tmpfs`);
    expect(fs.existsSync(t.path('p.plan.jsonl'))).toBe(false);
  });

  onOtherFs('a --store on another filesystem than the roots: exit 2 naming both', () => {
    const r = hashify(['plan', t.path('a'), t.path('b'), '--store', join(shm!, 'store'), '-o', t.path('p.plan.jsonl'), '--no-cache']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/store .* is on another filesystem than the roots/);
    expect(r.stderr).toContain('tmpfs');
    expect(fs.existsSync(join(shm!, 'store'))).toBe(false);
  });

  test('roots whose only common directory is / get no store at /.hash: exit 2 asking for --store', () => {
    const other = fs.mkdtempSync('/var/tmp/hashify-test-');
    try {
      if (devOf(other) !== devOf(t.root) || fs.realpathSync(t.root).split('/')[1] === 'var') {
        console.log('skipped: /var/tmp and the temp directory are not two top-level directories of one filesystem here');
        return;
      }
      fs.writeFileSync(join(other, 'x'), 'same\n');
      fs.utimesSync(join(other, 'x'), fs.statSync(t.path('a/x')).atime, fs.statSync(t.path('a/x')).mtime);
      const r = hashify(['plan', t.path('a'), other, '-o', t.path('p.plan.jsonl'), '--no-cache']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/no common directory but \//);
      expect(fs.existsSync('/.hash')).toBe(false);
      const ok = hashify(['plan', t.path('a'), other, '--no-store', '-o', t.path('p.plan.jsonl'), '--no-cache', '--json']);
      expect(ok.status).toBe(0);
      expect(ok.json().ops).toBe(1);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  test('--store / is refused', () => {
    const r = hashify(['plan', t.path('a'), '--store', '/', '-o', t.path('p.plan.jsonl'), '--no-cache']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot be \/ itself/);
  });
});

test('--link reflink on a filesystem that cannot clone: exit 1 naming it, and the root is not written to (no probe)', () => {
  const t = makeTree({ 'a/x': 'same\n', 'a/y': 'same\n' });
  try {
    const type = fs.statfsSync(t.root).type;
    if (type === 0x9123683e || type === 0x58465342) {
      console.log('skipped: the temp directory is on btrfs or XFS, which may clone');
      return;
    }
    const before = fs.statSync(t.path('a'), { bigint: true });
    const r = hashify(['plan', t.path('a'), '--link', 'reflink', '-o', t.path('p.plan.jsonl'), '--no-cache']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot clone files/);
    const after = fs.statSync(t.path('a'), { bigint: true });
    expect(after.mtimeNs).toBe(before.mtimeNs);
    expect(after.ctimeNs).toBe(before.ctimeNs);
  } finally {
    t.cleanup();
  }
});

describe('--link reflink on real filesystems that can or cannot clone', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).reverse().forEach((c) => c()));
  const cases: Array<[string, LoopFsType, string[], number]> = [
    ['btrfs clones', 'btrfs', [], 0],
    ['XFS made with reflink=1 clones', 'xfs', ['-m', 'reflink=1'], 0],
    ['XFS made with reflink=0 is refused, named as such', 'xfs', ['-m', 'reflink=0'], 1],
  ];
  test.each(cases)('%s', (_name, type, mkfsArgs, status) => {
    const available = loopMountAvailable(type);
    if (!available.ok) {
      console.log(`skipped: ${available.reason}`);
      return;
    }
    const lfs = makeLoopFs({ type, sizeMiB: 300, mkfsArgs });
    cleanups.push(() => lfs.cleanup());
    for (const n of ['x', 'y']) {
      fs.mkdirSync(join(lfs.dir, 'a'), { recursive: true });
      fs.writeFileSync(join(lfs.dir, 'a', n), 'same\n');
    }
    const before = fs.readdirSync(join(lfs.dir, 'a'));
    const r = hashify(['plan', join(lfs.dir, 'a'), '--link', 'reflink', '-o', join(lfs.dir, 'p.plan.jsonl'), '--no-cache']);
    expect([r.status, r.stderr]).toEqual([status, status ? expect.stringMatching(/an XFS filesystem made without reflink=1/) : '']);
    expect(fs.readdirSync(join(lfs.dir, 'a'))).toEqual(before);
  });
});
