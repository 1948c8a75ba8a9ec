/**
 * apply and undo on a real, full ext4 (loop-mounted): ENOSPC part-way through must stop the
 * run cleanly (exit 1, a message naming a path and ENOSPC), leave every file's content and
 * metadata as it was and no temp name behind; once space is freed, the same command finishes.
 *
 * Hard links need no data blocks, so what runs out is what apply does create: store shard
 * directories (blocks and inodes), the lock files and the journal, when they live on the full
 * filesystem. Root only; skips with the reason where loop mounts are not possible.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { makeTree, type Tree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';
import { loopMountAvailable, makeLoopFs, perTestCleanups, type LoopFs } from '../helpers/loopfs.js';
import { contentAndMetadata, describeResult, files, fillFilesystem, inodeCount, jsonOf, tmpLeftovers, twoGuests } from './support.js';

const probe = loopMountAvailable('ext4');
if (!probe.ok) console.warn(`skipping full-disk (ENOSPC) tests: ${probe.reason}`);
const d = probe.ok ? describe : describe.skip;

const N = 300;

d('apply and undo on a full filesystem (ENOSPC)', () => {
  const cleanups = perTestCleanups();
  const loopFs = (sizeMiB: number, mkfsArgs: string[] = []): LoopFs => {
    const m = makeLoopFs({ type: 'ext4', sizeMiB, mkfsArgs });
    cleanups.push(() => m.cleanup());
    return m;
  };
  const scratch = (): string => {
    const dir = fs.mkdtempSync(join(tmpdir(), 'hashify-enospc-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  /** Each content's two paths share one inode: N inodes for 2N paths. */
  const expectAllShared = (t: Tree) => {
    const all = files(t.root);
    expect(all.size).toBe(2 * N);
    for (let i = 0; i < N; i++) expect(all.get(`a/d${i % 8}/f${i}`)!.st.ino).toBe(all.get(`b/d${i % 8}/f${i}`)!.st.ino);
    expect(inodeCount(t.root)).toBe(N);
  };
  /**
   * Every guest file also gets a name outside the roots (as a backup snapshot would): relinking
   * then frees no block or inode, so what the store's directories take stays taken. (With one
   * shard level, each group's new directory is paid back by the copy it frees.)
   */
  const pinOutside = (t: Tree, dir: string) => {
    fs.mkdirSync(dir);
    for (const rel of files(t.root).keys()) fs.linkSync(join(t.root, rel), join(dir, rel.replace(/\//g, '_')));
  };
  const planOf = (t: Tree, plan: string, extra: string[] = []) => {
    const r = hashify(['plan', t.path('a'), t.path('b'), '-o', plan, '--no-cache', '-q', ...extra]);
    expect(r.status).toBe(0);
  };

  test('store shard directories hit ENOSPC part-way (plan and journal elsewhere): clean stop, then a rerun finishes', () => {
    const loop = loopFs(16);
    const t = makeTree(twoGuests(N), { parent: loop.dir });
    pinOutside(t, join(loop.dir, 'pinned'));
    const plan = join(scratch(), 'p.plan.jsonl');
    planOf(t, plan);
    const before = contentAndMetadata(t.root);
    // ~40 KiB free: room for some shard directories (1 KiB blocks), far from all 300 groups.
    const filler = fillFilesystem(loop.dir, 'filler', 40);

    const r = hashify(['apply', plan, '--json']);
    expect({ status: r.status, out: describeResult(r) }).toMatchObject({ status: 1 });
    expect(r.stderr).toMatch(/ENOSPC/);
    expect(r.stderr).toContain(t.root); // names the path it could not complete
    const first = jsonOf(r);
    expect(first).toBeDefined();
    expect(first.applied).toBeGreaterThan(0); // part-way, not at the start
    // The store entry that found no room stopped the run: its group's operations were not reached.
    expect(first.failed + first.notReached).toBeGreaterThan(0);
    expect(first.applied + first.alreadyDone + first.skipped + first.failed + first.notReached).toBe(first.ops);
    expect(contentAndMetadata(t.root)).toEqual(before);
    expect(tmpLeftovers(loop.dir)).toEqual([]);
    // The journal holds what was done before the stop.
    const status = hashify(['status', plan, '--json']).json();
    expect(status).toMatchObject({ done: first.applied, finished: false });

    fs.rmSync(filler);
    const again = hashify(['apply', plan, '--json']);
    expect({ status: again.status, out: describeResult(again) }).toMatchObject({ status: 0 });
    const second = again.json();
    expect(second).toMatchObject({ failed: 0, skipped: 0, resumedAt: first.applied });
    expect(second.applied + second.alreadyDone).toBe(second.ops);
    expectAllShared(t);
    expect(contentAndMetadata(t.root)).toEqual(before);
    expect(tmpLeftovers(loop.dir)).toEqual([]);
  });

  test('out of inodes (blocks free): mkdir in the store fails with ENOSPC, a rerun after freeing inodes finishes', () => {
    const loop = loopFs(16);
    const t = makeTree(twoGuests(N), { parent: loop.dir });
    pinOutside(t, join(loop.dir, 'pinned'));
    const plan = join(scratch(), 'p.plan.jsonl');
    planOf(t, plan);
    const before = contentAndMetadata(t.root);
    // Use up every inode but a handful with empty files.
    const hog = join(loop.dir, 'inode-hog');
    fs.mkdirSync(hog);
    let made = 0;
    for (;; made++) {
      try {
        fs.closeSync(fs.openSync(join(hog, String(made)), 'w'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
    for (let i = 0; i < 20; i++) fs.rmSync(join(hog, String(--made)));
    expect(fs.statfsSync(loop.dir).ffree).toBeLessThan(40);
    expect(fs.statfsSync(loop.dir).bavail).toBeGreaterThan(1000);

    const r = hashify(['apply', plan, '--json']);
    expect({ status: r.status, out: describeResult(r) }).toMatchObject({ status: 1 });
    expect(r.stderr).toMatch(/ENOSPC/);
    expect(r.stderr).toContain(t.root);
    const first = jsonOf(r);
    expect(first?.applied).toBeGreaterThan(0);
    expect(contentAndMetadata(t.root)).toEqual(before);
    expect(tmpLeftovers(loop.dir)).toEqual([]);

    fs.rmSync(hog, { recursive: true });
    const again = hashify(['apply', plan, '--json']);
    expect({ status: again.status, out: describeResult(again) }).toMatchObject({ status: 0 });
    expect(again.json().applied + again.json().alreadyDone).toBe(again.json().ops);
    expectAllShared(t);
    expect(contentAndMetadata(t.root)).toEqual(before);
  });

  test.each([
    // The plan's lock file cannot get its one block.
    ['store mode, completely full', [] as string[], 0],
    // Some store directories fit; the journal write at the stop (or a checkpoint) does not.
    ['store mode, a little room', [] as string[], 24],
    ['no-store mode, completely full', ['--no-store'], 0],
  ])('plan, lock and journal on the full filesystem: %s', (_name, flags, headroomKiB) => {
    const loop = loopFs(16);
    const t = makeTree(twoGuests(N), { parent: loop.dir });
    if (!flags.includes('--no-store')) pinOutside(t, join(loop.dir, 'pinned'));
    const plansDir = join(loop.dir, 'plans');
    fs.mkdirSync(plansDir);
    const plan = join(plansDir, 'p.plan.jsonl');
    planOf(t, plan, flags);
    const before = contentAndMetadata(t.root);
    const filler = fillFilesystem(loop.dir, 'filler', headroomKiB);

    const r = hashify(['apply', plan, '--json']);
    expect({ status: r.status, out: describeResult(r) }).toMatchObject({ status: 1 });
    // The last line names what could not be written (lock, journal or store entry) and why.
    const last = r.stderr.trim().split('\n').filter((l) => l.startsWith('hashify: ')).pop() ?? '';
    expect(last).toMatch(/ENOSPC/);
    expect(last).toContain(loop.dir);
    expect(contentAndMetadata(t.root)).toEqual(before);
    expect(tmpLeftovers(loop.dir)).toEqual([]);
    // No lock file is left behind by the failed run.
    expect(fs.existsSync(`${plan}.lock`)).toBe(false);
    expect(fs.existsSync(join(t.root, '.hash', '.hashify.lock'))).toBe(false);

    fs.rmSync(filler);
    const again = hashify(['apply', plan, '--json']);
    expect({ status: again.status, out: describeResult(again) }).toMatchObject({ status: 0 });
    const second = again.json();
    expect(second).toMatchObject({ failed: 0, skipped: 0 });
    expect(second.applied + second.alreadyDone).toBe(second.ops);
    expectAllShared(t);
    expect(contentAndMetadata(t.root)).toEqual(before);
    expect(tmpLeftovers(loop.dir)).toEqual([]);
    expect(hashify(['status', plan, '--json']).json()).toMatchObject({ finished: true, done: second.ops });
  });

  test('a journal (--journal) on a full filesystem: exit 1 naming the journal; the rerun finds the work done', () => {
    const loop = loopFs(16);
    const journals = loopFs(8);
    const t = makeTree(twoGuests(N), { parent: loop.dir });
    const plan = join(scratch(), 'p.plan.jsonl');
    const journal = join(journals.dir, 'p.journal');
    planOf(t, plan);
    const before = contentAndMetadata(t.root);
    // Room for the journal's header block, not for 300 records.
    const filler = fillFilesystem(journals.dir, 'filler', 2);

    const r = hashify(['apply', plan, '--journal', journal, '--json']);
    expect({ status: r.status, out: describeResult(r) }).toMatchObject({ status: 1 });
    expect(r.stderr).toMatch(/ENOSPC/);
    expect(r.stderr).toContain(journal);
    expect(contentAndMetadata(t.root)).toEqual(before);
    expect(tmpLeftovers(loop.dir)).toEqual([]);
    expect(fs.existsSync(`${plan}.lock`)).toBe(false);

    fs.rmSync(filler);
    const again = hashify(['apply', plan, '--journal', journal, '--json']);
    expect({ status: again.status, out: describeResult(again) }).toMatchObject({ status: 0 });
    const second = again.json();
    expect(second).toMatchObject({ failed: 0, skipped: 0 });
    expect(second.applied + second.alreadyDone).toBe(second.ops);
    expectAllShared(t);
    expect(contentAndMetadata(t.root)).toEqual(before);
    expect(hashify(['status', plan, '--journal', journal, '--json']).json()).toMatchObject({ finished: true });
  });

  test('copy-in with less room than its largest entry is refused before the first change, and runs once there is room', () => {
    const loop = loopFs(16);
    const big = 'a 4 MiB file, twice\n'.repeat(Math.ceil((4 << 20) / 20)).slice(0, 4 << 20);
    const t = makeTree({ 'a/big': big, 'b/big': big, 'a/small': 'small\n', 'b/small': 'small\n' }, { parent: loop.dir });
    const plan = join(scratch(), 'p.plan.jsonl');
    planOf(t, plan);
    const before = contentAndMetadata(t.root);
    const filler = fillFilesystem(loop.dir, 'filler', 1024); // 1 MiB free: the 4 MiB entry cannot be copied in
    const r = hashify(['apply', plan, '--json']);
    expect({ status: r.status, out: describeResult(r) }).toMatchObject({ status: 1 });
    expect(r.stderr).toMatch(/Not enough free space \(ENOSPC\).*the largest entry needs 4194304/);
    expect(contentAndMetadata(t.root)).toEqual(before);
    expect(fs.existsSync(join(t.root, '.hash', 'sha256'))).toBe(false); // not even the small group was started
    fs.rmSync(filler);
    const again = hashify(['apply', plan, '--json']);
    expect({ status: again.status, out: describeResult(again) }).toMatchObject({ status: 0 });
    expect(fs.statSync(t.path('a/big')).ino).toBe(fs.statSync(t.path('b/big')).ino);
  });

  test('no-store mode with the plan elsewhere needs no space at all: apply on a completely full filesystem succeeds', () => {
    // Hard links take no data blocks, renames within a directory none either, and every
    // relinked file frees its own inode: nothing in this apply allocates on the full fs.
    const loop = loopFs(16);
    const t = makeTree(twoGuests(N), { parent: loop.dir });
    const plan = join(scratch(), 'p.plan.jsonl');
    planOf(t, plan, ['--no-store']);
    const before = contentAndMetadata(t.root);
    fillFilesystem(loop.dir, 'filler', 0);
    const freeBefore = fs.statfsSync(loop.dir).bfree;
    const r = hashify(['apply', plan, '--json']);
    expect({ status: r.status, out: describeResult(r) }).toMatchObject({ status: 0 });
    expect(r.json()).toMatchObject({ applied: N, failed: 0 });
    expectAllShared(t);
    expect(contentAndMetadata(t.root)).toEqual(before);
    execFileSync('sync', ['-f', loop.dir]);
    expect(fs.statfsSync(loop.dir).bfree).toBeGreaterThan(freeBefore);
  });

  test('undo needs blocks for its copies: ENOSPC part-way stops cleanly, undo again after freeing space finishes', () => {
    const loop = loopFs(24);
    // 3000-byte files: three 1 KiB blocks per restored copy.
    const t = makeTree(twoGuests(N, 3000), { parent: loop.dir });
    const plan = join(scratch(), 'p.plan.jsonl');
    const before = contentAndMetadata(t.root);
    planOf(t, plan);
    expect(hashify(['apply', plan, '-q']).status).toBe(0);
    expectAllShared(t);
    // Room for some dozens of copies, not for 300.
    const filler = fillFilesystem(loop.dir, 'filler', 150);

    const r = hashify(['undo', plan, '--json']);
    expect({ status: r.status, out: describeResult(r) }).toMatchObject({ status: 1 });
    expect(r.stderr).toMatch(/ENOSPC/);
    expect(r.stderr).toContain(t.root);
    const first = jsonOf(r);
    expect(first).toBeDefined();
    expect(first.restored).toBeGreaterThan(0);
    expect(first.failed).toBeGreaterThan(0);
    expect(contentAndMetadata(t.root)).toEqual(before);
    expect(tmpLeftovers(loop.dir)).toEqual([]);
    // Some paths have their own inode again, not all.
    const midway = inodeCount(t.root);
    expect(midway).toBeGreaterThan(N);
    expect(midway).toBeLessThan(2 * N);

    fs.rmSync(filler);
    const again = hashify(['undo', plan, '--json']);
    expect({ status: again.status, out: describeResult(again) }).toMatchObject({ status: 0 });
    const second = again.json();
    expect(second).toMatchObject({ failed: 0, skipped: 0 });
    expect(second.restored + second.alreadyDone).toBe(second.ops);
    const all = files(t.root);
    expect(inodeCount(t.root)).toBe(2 * N);
    for (const f of all.values()) expect(f.st.nlink).toBe(1n);
    expect(contentAndMetadata(t.root)).toEqual(before);
    expect(tmpLeftovers(loop.dir)).toEqual([]);
  });
});
