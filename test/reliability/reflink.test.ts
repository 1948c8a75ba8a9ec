/**
 * `--link reflink` on a real copy-on-write filesystem (loop-mounted btrfs): every path keeps
 * an inode of its own (no hard links are added) with its own content and metadata, while the
 * data blocks become shared; a write to one copy never shows in another. On ext4, which
 * cannot clone, `plan --link reflink` refuses (exit 1) naming the filesystem, before any
 * apply. Roots in two btrfs subvolumes of one filesystem are cloned across them.
 * Root only; each part skips with the reason where its filesystem cannot be mounted.
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { makeTree, type Entry } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';
import { loopMountAvailable, makeLoopFs, type LoopFs } from '../helpers/loopfs.js';
import { contentAndMetadata, describeResult, files, tmpLeftovers } from './support.js';

const btrfs = loopMountAvailable('btrfs');
if (!btrfs.ok) console.warn(`skipping reflink tests on btrfs: ${btrfs.reason}`);
const onBtrfs = btrfs.ok ? describe : describe.skip;

const MTIME = new Date('2019-08-07T06:05:04.321Z');

/** Large files whose blocks can be shared (small ones may be inline in btrfs metadata). */
const BIG = ['big1', 'lib/big2', 'lib/deep/big3'];

/**
 * Three guests with the same large files. Their metadata is not the default a new file gets
 * (owner 1000, mode 0640, an old mtime in ns, xattrs, a file capability on big1), so a clone
 * (a new inode) only matches it if apply gives it the recorded metadata.
 */
function guests(): Record<string, Entry> {
  const spec: Record<string, Entry> = {};
  const contents = BIG.map((_, i) => randomBytes(256 * 1024 + i * 4096 + 123));
  for (const g of ['a', 'b', 'c']) {
    BIG.forEach((rel, i) => {
      spec[`${g}/${rel}`] = {
        content: contents[i],
        mtime: MTIME,
        mode: 0o640,
        uid: 1000,
        gid: 100,
        xattrs: { 'user.tag': `big${i}`, ...(i === 0 ? { 'user.extra': 'x' } : {}) },
      };
    });
    spec[`${g}/etc/conf`] = { content: 'a small shared file\n', mtime: MTIME, mode: 0o600 };
    spec[`${g}/own`] = { content: `only in ${g}\n`.repeat(100), mtime: MTIME };
  }
  // The same content under other metadata in each guest: a clone keeps each file's own
  // metadata, so only the content must match (hard links would need --ignore-*).
  const meta = 'same content, other mode, owner and mtime\n'.repeat(200);
  spec['a/meta'] = { content: meta, mtime: MTIME, mode: 0o644 };
  spec['b/meta'] = { content: meta, mtime: new Date('2021-01-01T00:00:00Z'), mode: 0o600 };
  spec['c/meta'] = { content: meta, mtime: MTIME, mode: 0o755, uid: 1000, gid: 100 };
  // Two names of one inode: a clone would split them, so they must stay one inode.
  spec['b/lib/big2.hardlink'] = { hardlink: 'b/lib/big2' };
  return spec;
}

/** `btrfs filesystem du --raw` of paths: { path: { total, exclusive } } and the set-shared bytes of the whole set. */
function btrfsDu(paths: string[]): { perFile: Map<string, { total: number; exclusive: number }>; setShared: number } {
  execFileSync('sync');
  const out = execFileSync('btrfs', ['filesystem', 'du', '--raw', ...paths], { encoding: 'utf8' });
  const perFile = new Map<string, { total: number; exclusive: number }>();
  for (const line of out.split('\n').slice(1)) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.+)$/.exec(line);
    if (m) perFile.set(m[4], { total: Number(m[1]), exclusive: Number(m[2]) });
  }
  const sum = execFileSync('btrfs', ['filesystem', 'du', '-s', '--raw', ...paths], { encoding: 'utf8' });
  let setShared = 0;
  for (const line of sum.split('\n').slice(1)) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+|-)\s+/.exec(line);
    if (m && m[3] !== '-') setShared += Number(m[3]);
  }
  return { perFile, setShared };
}

/** Physical start of each extent of a file (filefrag -v), as a string for comparison. */
function physicalExtents(path: string): string {
  const out = execFileSync('filefrag', ['-v', '-s', path], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => /^\s*\d+:\s+\d+\.\.\s*\d+:\s+(\d+)\.\./.exec(l)?.[1])
    .filter(Boolean)
    .join(',');
}

onBtrfs('reflink on btrfs', () => {
  let loop: LoopFs | undefined;
  let scratch: string | undefined;
  afterAll(() => {
    loop?.cleanup();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  test('clones: own inodes and metadata kept, data shared, copies independent; rerun is a no-op', () => {
    loop = makeLoopFs({ type: 'btrfs', sizeMiB: 256 });
    scratch = fs.mkdtempSync(join(tmpdir(), 'hashify-reflink-'));
    const t = makeTree(guests(), { parent: loop.dir });
    for (const g of ['a', 'b', 'c']) execFileSync('setcap', ['cap_net_raw+ep', t.path(`${g}/big1`)]);
    const before = contentAndMetadata(t.root);
    const inodesBefore = new Map([...files(t.root)].map(([rel, f]) => [rel, { ino: f.st.ino, nlink: f.st.nlink }]));
    const bigPaths = ['a', 'b', 'c'].flatMap((g) => BIG.map((rel) => t.path(`${g}/${rel}`)));
    const du0 = btrfsDu(bigPaths);
    expect(du0.setShared).toBe(0); // written independently: nothing shared yet
    for (const p of bigPaths) expect(du0.perFile.get(p)!.exclusive).toBeGreaterThan(0);

    const plan = join(scratch, 'p.plan.jsonl');
    const p = hashify(['plan', t.path('a'), t.path('b'), t.path('c'), '--link', 'reflink', '-o', plan, '--no-cache', '--json']);
    expect({ status: p.status, out: describeResult(p) }).toMatchObject({ status: 0 });
    // Two clones per shared content (big1, big2, big3, etc/conf, meta). For big2 the keeper is
    // b's two-name inode (most links first): it keeps both names, a's and c's become its clones.
    expect(p.json().ops).toBe(10);
    const r = hashify(['apply', plan, '--json']);
    expect({ status: r.status, out: describeResult(r) }).toMatchObject({ status: 0 });
    expect(r.json()).toMatchObject({ applied: 10, failed: 0, skipped: 0 });

    // Content and every piece of metadata as before, path by path.
    expect(contentAndMetadata(t.root)).toEqual(before);
    // No hard links added: link counts as before, and no two paths share an inode that did not.
    const after = files(t.root);
    const owners = new Map<bigint, string[]>();
    for (const [rel, f] of after) {
      expect({ rel, nlink: f.st.nlink }).toEqual({ rel, nlink: inodesBefore.get(rel)!.nlink });
      owners.set(f.st.ino, [...(owners.get(f.st.ino) ?? []), rel]);
    }
    for (const rels of owners.values()) if (rels.length > 1) expect(rels.sort()).toEqual(['b/lib/big2', 'b/lib/big2.hardlink']);
    expect(after.get('b/lib/big2')!.st.ino).toBe(inodesBefore.get('b/lib/big2')!.ino);
    // The data is shared now: same physical extents, and the clones own no block exclusively.
    const du1 = btrfsDu(bigPaths);
    const bigBytes = BIG.reduce((s, rel) => s + fs.statSync(t.path(`a/${rel}`)).size, 0);
    expect(du1.setShared).toBeGreaterThanOrEqual(bigBytes);
    for (const rel of BIG) {
      const extents = physicalExtents(t.path(`a/${rel}`));
      expect(extents).not.toBe('');
      for (const g of ['a', 'b', 'c']) {
        expect({ path: `${g}/${rel}`, exclusive: du1.perFile.get(t.path(`${g}/${rel}`))!.exclusive }).toEqual({ path: `${g}/${rel}`, exclusive: 0 });
        expect({ path: `${g}/${rel}`, extents: physicalExtents(t.path(`${g}/${rel}`)) }).toEqual({ path: `${g}/${rel}`, extents });
      }
    }
    expect(tmpLeftovers(loop.dir)).toEqual([]);

    // A rerun finds everything done.
    const again = hashify(['apply', plan, '--json']);
    expect({ status: again.status, out: describeResult(again) }).toMatchObject({ status: 0 });
    expect(again.json()).toMatchObject({ applied: 0, alreadyDone: 10 });

    // Copy-on-write: writing into one copy changes no other.
    const fd = fs.openSync(t.path('b/big1'), 'r+');
    fs.writeSync(fd, Buffer.from('changed in b only'), 0, 17, 1000);
    fs.closeSync(fd);
    const now = contentAndMetadata(t.root);
    for (const rel of Object.keys(before)) {
      const hash = (s: string) => s.split(' ')[5];
      if (rel === 'b/big1') expect(hash(now[rel])).not.toBe(hash(before[rel]));
      else expect({ rel, hash: hash(now[rel]) }).toEqual({ rel, hash: hash(before[rel]) });
    }
  });
});

onBtrfs('reflink across btrfs subvolumes', () => {
  // "The same filesystem" for clones: subvolumes of one btrfs (each its own st_dev, inode
  // numbers repeating between them) are grouped, and FICLONE between them works. Hard
  // links need one device: the same roots are refused (exit 2) without --link reflink.
  test('copies in two subvolumes are one group; apply clones across them; each file keeps its own device', () => {
    const loop = makeLoopFs({ type: 'btrfs', sizeMiB: 256 });
    const scratch = fs.mkdtempSync(join(tmpdir(), 'hashify-reflink-subvol-'));
    try {
      const data = randomBytes(300000);
      const paths = ['sv1/x/big', 'sv2/x/big', 'sv2/x/big.copy'].map((rel) => join(loop.dir, rel));
      for (const sv of ['sv1', 'sv2']) {
        execFileSync('btrfs', ['subvolume', 'create', join(loop.dir, sv)], { stdio: 'ignore' });
        fs.mkdirSync(join(loop.dir, sv, 'x'));
      }
      for (const p of paths) {
        fs.writeFileSync(p, data, { mode: 0o644 });
        fs.utimesSync(p, MTIME, MTIME);
      }
      const before = paths.map((p) => fs.statSync(p, { bigint: true }));
      expect(before[0].dev).not.toBe(before[1].dev);
      const roots = ['sv1/x', 'sv2/x'].map((r) => join(loop.dir, r));

      const plan = join(scratch, 'p.plan.jsonl');
      const p = hashify(['plan', ...roots, '--link', 'reflink', '-o', plan, '--no-cache', '--json']);
      expect({ status: p.status, out: describeResult(p) }).toMatchObject({ status: 0 });
      expect(p.json()).toMatchObject({ groups: 1, ops: 2 });
      // Each operation records its own file's device, and its target's (sv1's keeper) its own.
      const links = fs.readFileSync(plan, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.type === 'link');
      expect(links.map((r) => [r.path, r.stat.dev, r.target.path, r.target.stat.dev])).toEqual(
        [1, 2].map((i) => [paths[i], before[i].dev.toString(), paths[0], before[0].dev.toString()]),
      );

      const r = hashify(['apply', plan, '--json']);
      expect({ status: r.status, out: describeResult(r) }).toMatchObject({ status: 0 });
      expect(r.json()).toMatchObject({ applied: 2, failed: 0, skipped: 0 });
      const after = paths.map((p) => fs.statSync(p, { bigint: true }));
      for (const [i, st] of after.entries()) {
        expect({ i, dev: st.dev, mtime: st.mtimeMs, content: fs.readFileSync(paths[i]).equals(data) }).toEqual({ i, dev: before[i].dev, mtime: before[i].mtimeMs, content: true });
      }
      const extents = physicalExtents(paths[0]);
      expect(extents).not.toBe('');
      for (const path of paths.slice(1)) expect({ path, extents: physicalExtents(path) }).toEqual({ path, extents });
      const v = hashify(['verify', plan, '--json']);
      expect({ status: v.status, out: describeResult(v) }).toMatchObject({ status: 0 });
      expect(v.json()).toMatchObject({ done: 2, drifted: 0 });

      const hard = hashify(['plan', ...roots, '-o', join(scratch, 'h.plan.jsonl'), '--no-cache']);
      expect({ status: hard.status, stderr: hard.stderr }).toMatchObject({ status: 2, stderr: expect.stringMatching(/different filesystems/) });
    } finally {
      loop.cleanup();
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
});

// ext4 cannot clone: a loop-mounted ext4, or else the temp directory when that is ext4.
const ext4Loop = loopMountAvailable('ext4');
const tmpIsExt4 = (() => {
  try {
    return Number(fs.statfsSync(tmpdir()).type) === 0xef53;
  } catch {
    return false;
  }
})();
const ext4Where = ext4Loop.ok ? 'loop' : tmpIsExt4 ? 'tmp' : undefined;
if (!ext4Where) console.warn(`skipping the reflink-on-ext4 refusal test: no loop ext4 (${ext4Loop.reason}) and ${tmpdir()} is not ext4`);

(ext4Where ? describe : describe.skip)('reflink on ext4', () => {
  test('plan --link reflink refuses with exit 1, naming the filesystem; no plan is written', () => {
    const loop = ext4Where === 'loop' ? makeLoopFs({ type: 'ext4', sizeMiB: 16 }) : undefined;
    const t = makeTree({ 'a/x': 'same\n', 'b/x': 'same\n' }, { parent: loop?.dir });
    const scratch = fs.mkdtempSync(join(tmpdir(), 'hashify-reflink-ext4-'));
    try {
      const plan = join(scratch, 'p.plan.jsonl');
      const r = hashify(['plan', t.path('a'), t.path('b'), '--link', 'reflink', '-o', plan, '--no-cache']);
      expect({ status: r.status, out: describeResult(r) }).toMatchObject({ status: 1 });
      expect(r.stderr).toMatch(/reflink|clone/i);
      expect(r.stderr).toContain(t.root); // the filesystem, by a path on it
      expect(fs.existsSync(plan)).toBe(false);
      expect(fs.readdirSync(scratch)).toEqual([]);
      // The probe left nothing in the root.
      expect(fs.readdirSync(t.root).sort()).toEqual(['a', 'b']);
    } finally {
      t.cleanup();
      loop?.cleanup();
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
});
