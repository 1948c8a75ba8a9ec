/**
 * apply on a filesystem that is (or becomes, mid-run) read-only: exit 1 with EROFS and a
 * path, nothing changed that was not a complete operation, and once it is writable again the
 * same apply finishes. The plan and journal live in /tmp (`--journal` could put the journal
 * anywhere) unless the test is about them. Root only; skips with the reason where loop
 * mounts are not possible.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { makeTree, snapshot, type Tree } from '../helpers/tree.js';
import { hashify, spawnHashify } from '../helpers/cli.js';
import { loopMountAvailable, makeLoopFs, perTestCleanups, type LoopFs } from '../helpers/loopfs.js';
import { contentAndMetadata, describeResult, files, inodeCount, jsonOf, tmpLeftovers, twoGuests } from './support.js';

const probe = loopMountAvailable('ext4');
if (!probe.ok) console.warn(`skipping read-only filesystem (EROFS) tests: ${probe.reason}`);
const d = probe.ok ? describe : describe.skip;

d('apply on a read-only filesystem (EROFS)', () => {
  const cleanups = perTestCleanups();
  const loopFs = (sizeMiB: number): LoopFs => {
    const m = makeLoopFs({ type: 'ext4', sizeMiB });
    cleanups.push(() => m.cleanup());
    return m;
  };
  const scratch = (): string => {
    const dir = fs.mkdtempSync(join(tmpdir(), 'hashify-erofs-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  const expectAllShared = (t: Tree, n: number) => {
    const all = files(t.root);
    expect(all.size).toBe(2 * n);
    for (let i = 0; i < n; i++) expect(all.get(`a/d${i % 8}/f${i}`)!.st.ino).toBe(all.get(`b/d${i % 8}/f${i}`)!.st.ino);
    expect(inodeCount(t.root)).toBe(n);
  };
  const planOf = (t: Tree, plan: string, extra: string[] = []) => {
    const r = hashify(['plan', t.path('a'), t.path('b'), '-o', plan, '--no-cache', '-q', ...extra]);
    expect({ status: r.status, out: describeResult(r) }).toMatchObject({ status: 0 });
  };
  /** Remount rw, apply again: everything done, nothing left over. */
  const finishAfterRemount = (loop: LoopFs, t: Tree, plan: string, n: number, before: Record<string, string>, extra: string[] = []) => {
    loop.remountRw();
    const again = hashify(['apply', plan, '--json', ...extra]);
    expect({ status: again.status, out: describeResult(again) }).toMatchObject({ status: 0 });
    const r = again.json();
    expect(r).toMatchObject({ failed: 0, skipped: 0 });
    expect(r.applied + r.alreadyDone).toBe(r.ops);
    expectAllShared(t, n);
    expect(contentAndMetadata(t.root)).toEqual(before);
    expect(tmpLeftovers(loop.dir)).toEqual([]);
    expect(hashify(['status', plan, '--json', ...extra]).json()).toMatchObject({ finished: true, failed: 0 });
    return r;
  };

  test.each([
    ['store mode (the store cannot even be created)', [] as string[]],
    ['no-store mode (every link fails)', ['--no-store']],
  ])('read-only before apply, %s: exit 1 naming EROFS and a path, nothing changed; rw again: finishes', (_name, flags) => {
    const n = 200;
    const loop = loopFs(16);
    const t = makeTree(twoGuests(n), { parent: loop.dir });
    const plan = join(scratch(), 'p.plan.jsonl');
    planOf(t, plan, flags);
    const before = contentAndMetadata(t.root);
    const exact = snapshot(t.root); // inode numbers and link counts too
    loop.remountRo();

    const r = hashify(['apply', plan, '--json']);
    expect({ status: r.status, out: describeResult(r) }).toMatchObject({ status: 1 });
    expect(r.stderr).toMatch(/EROFS|read-only/);
    expect(r.stderr).toContain(t.root);
    // Under --json, stdout always holds the result: the run's counts (nothing applied or
    // skipped), or the error that stopped it.
    const res = jsonOf(r);
    expect(res).toBeDefined();
    expect(res!.error ? res!.error.code : res).toEqual(res!.error ? 'EROFS' : expect.objectContaining({ applied: 0, skipped: 0 }));
    expect(snapshot(t.root)).toEqual(exact);

    finishAfterRemount(loop, t, plan, n, before);
  });

  test('plan and journal on the read-only filesystem: exit 1 naming the lock or journal; rw again: finishes', () => {
    const n = 100;
    const loop = loopFs(16);
    const t = makeTree(twoGuests(n), { parent: loop.dir });
    fs.mkdirSync(join(loop.dir, 'plans'));
    const plan = join(loop.dir, 'plans', 'p.plan.jsonl');
    planOf(t, plan);
    const before = contentAndMetadata(t.root);
    const exact = snapshot(t.root);
    loop.remountRo();

    const r = hashify(['apply', plan, '--json']);
    expect({ status: r.status, out: describeResult(r) }).toMatchObject({ status: 1 });
    expect(r.stderr).toMatch(/EROFS|read-only/);
    expect(r.stderr).toContain(join(loop.dir, 'plans'));
    expect(snapshot(t.root)).toEqual(exact);

    finishAfterRemount(loop, t, plan, n, before);
  });

  test.each([
    ['store mode', [] as string[]],
    ['no-store mode', ['--no-store']],
  ])('remounted read-only mid-run (%s): stops with EROFS, every file intact; rw again: the rerun resumes and finishes', async (_name, flags) => {
    const n = 3000;
    const loop = loopFs(32);
    const t = makeTree(twoGuests(n, 40, { xattrs: false }), { parent: loop.dir });
    const plan = join(scratch(), 'p.plan.jsonl');
    planOf(t, plan, flags);
    const before = contentAndMetadata(t.root);

    const child = spawnHashify(['apply', plan, '--json', '--progress']);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b) => (stdout += b));
    const exited = new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    // Once progress shows, freeze the child and remount under it. The kernel refuses (EBUSY)
    // while a replaced inode is still open and unlinked; let the child run a moment and retry.
    const remounted = await new Promise<boolean>((resolve) => {
      let done = false;
      child.stderr!.on('data', async (b) => {
        stderr += b;
        if (done || !/applying: [1-9]/.test(stderr)) return;
        done = true;
        for (let attempt = 0; attempt < 500; attempt++) {
          if (child.exitCode !== null) return resolve(false);
          child.kill('SIGSTOP');
          let ok = false;
          try {
            ok = loop.tryRemountRo(1);
          } finally {
            child.kill('SIGCONT');
          }
          if (ok) return resolve(true);
          await new Promise((r) => setTimeout(r, 1));
        }
        resolve(false);
      });
      void exited.then(() => resolve(false));
    });
    const [code, signal] = await exited;
    const result = { status: code, signal: signal as NodeJS.Signals | null, stdout, stderr, json: () => JSON.parse(stdout) };
    if (!remounted) {
      // The run outpaced the remount: nothing mid-run was tested; say so instead of passing silently.
      console.warn(`read-only mid-run: could not remount before apply finished (${describeResult(result)})`);
    }
    expect(remounted).toBe(true);
    expect({ status: code, out: describeResult(result) }).toMatchObject({ status: 1 });
    expect(stderr).toMatch(/EROFS|read-only/);
    expect(stderr).toContain(t.root);
    const first = JSON.parse(stdout);
    expect(first.applied).toBeGreaterThan(0);
    expect(first.applied).toBeLessThan(first.ops);
    // Every path still names a complete file with its content and metadata. The one thing
    // allowed besides: the temp link of the operation in flight on each of apply's two threads
    // when the filesystem turned read-only (link() done, or the exchange done and the old
    // file's temp name not removable); the rerun removes them.
    const now = contentAndMetadata(t.root);
    const leftovers = Object.keys(now).filter((rel) => /(^|\/)\.hashify-tmp-/.test(rel));
    expect(leftovers.length).toBeLessThanOrEqual(2);
    for (const rel of leftovers) delete now[rel];
    expect(now).toEqual(before);

    const second = finishAfterRemount(loop, t, plan, n, before);
    expect(second.resumedAt).toBeGreaterThan(0);
  });
});
