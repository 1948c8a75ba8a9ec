/**
 * The real link-count limit: 65,010 identical files on a loop-mounted ext4 (whose limit is
 * 65,000 links per inode). Every file must end up linked, no inode may exceed the limit, and
 * the content continues on a second store entry (numeric suffix) or a second keeper.
 *
 * Two ways to get there: the planner knows the limit (the plan itself splits the group), or
 * the plan is made with a larger --link-max so that apply runs into the kernel's EMLINK and
 * must start the next target itself (journaled, so a rerun follows it); the latter in store
 * and in no-store mode. About 20-35 s per case on two cores. Root only; skips with the
 * reason where loop mounts are not possible.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { hashify } from '../helpers/cli.js';
import { loopMountAvailable, makeLoopFs } from '../helpers/loopfs.js';
import { describeResult, files, tmpLeftovers } from './support.js';

const probe = loopMountAvailable('ext4');
if (!probe.ok) console.warn(`skipping real EMLINK tests: ${probe.reason}`);
const d = probe.ok ? describe : describe.skip;

const DIRS = 10;
const PER_DIR = 6501;
const TOTAL = DIRS * PER_DIR; // 65,010
const EXT4_LINK_MAX = 65000;
const CONTENT = Buffer.from('one content, sixty-five thousand and ten times\n');
const MTIME = new Date('2020-02-03T04:05:06Z');

/** 65,010 files, each its own inode, same content and metadata. */
function createFiles(root: string): void {
  for (let dir = 0; dir < DIRS; dir++) {
    const d = join(root, `d${dir}`);
    fs.mkdirSync(d, { recursive: true });
    for (let i = 0; i < PER_DIR; i++) {
      const p = join(d, `f${i}`);
      fs.writeFileSync(p, CONTENT);
      fs.utimesSync(p, MTIME, MTIME);
    }
  }
}

d('apply at the real ext4 link-count limit (65,010 identical files)', () => {
  test.each([
    ['store', [] as string[]],
    ['store, limit found by apply (EMLINK from the kernel)', ['--link-max', '100000']],
    ['no-store, limit found by apply (EMLINK from the kernel)', ['--no-store', '--link-max', '100000']],
  ])('%s: every file linked, no inode over 65,000 links', (name, flags) => {
    const started = Date.now();
    const loop = makeLoopFs({ type: 'ext4', sizeMiB: 256, mkfsArgs: ['-N', '80000'] });
    const scratch = fs.mkdtempSync(join(tmpdir(), 'hashify-emlink-'));
    try {
      const root = join(loop.dir, 'guests');
      createFiles(root);
      const created = Date.now();
      const plan = join(scratch, 'p.plan.jsonl');
      const p = hashify(['plan', root, '-o', plan, '--no-cache', '--json', ...flags], { timeout: 240_000 });
      expect({ status: p.status, out: describeResult(p) }).toMatchObject({ status: 0 });
      expect(p.json().files).toBe(TOTAL);
      const planned = Date.now();

      const r = hashify(['apply', plan, '--json'], { timeout: 240_000 });
      expect({ status: r.status, out: describeResult(r) }).toMatchObject({ status: 0 });
      const res = r.json();
      expect(res).toMatchObject({ failed: 0, skipped: 0 });
      expect(res.applied + res.alreadyDone).toBe(res.ops);
      const applied = Date.now();
      if (flags.includes('--link-max')) {
        // The plan did not split the group: apply met the kernel's EMLINK and said so.
        expect(p.json().groups).toBe(1);
        expect(r.stderr).toMatch(/link-count limit/);
      }

      // Every path is a link to one of very few inodes, none over the limit, content intact.
      const byInode = new Map<bigint, { nlink: bigint; paths: number }>();
      const all = files(root);
      expect(all.size).toBe(TOTAL);
      for (const f of all.values()) {
        const e = byInode.get(f.st.ino) ?? { nlink: f.st.nlink, paths: 0 };
        e.paths++;
        byInode.set(f.st.ino, e);
        expect(f.st.size).toBe(BigInt(CONTENT.length));
      }
      expect(byInode.size).toBeGreaterThanOrEqual(2);
      expect(byInode.size).toBeLessThanOrEqual(3);
      for (const { nlink, paths } of byInode.values()) {
        expect(nlink).toBeLessThanOrEqual(BigInt(EXT4_LINK_MAX));
        expect(paths).toBeGreaterThan(1);
      }
      for (const ino of byInode.keys()) {
        const f = [...all.values()].find((x) => x.st.ino === ino)!;
        expect(fs.readFileSync(f.path).equals(CONTENT)).toBe(true);
      }
      const biggest = Math.max(...[...byInode.values()].map((e) => e.paths));
      expect(biggest).toBeGreaterThanOrEqual(EXT4_LINK_MAX - 1);

      if (!flags.includes('--no-store')) {
        // The store holds the content twice: the entry and the entry with a numeric suffix.
        const hex = createHash('sha256').update(CONTENT).digest('hex');
        const shard = join(root, '.hash', 'sha256', hex.slice(0, 2));
        const names = fs.readdirSync(shard).sort();
        expect(names.length).toBeGreaterThanOrEqual(2);
        expect(names[0]).toBe(hex.slice(2));
        for (const n of names.slice(1)) expect(n).toMatch(new RegExp(`^${hex.slice(2)}-[1-9][0-9]*$`));
        const entries = names.map((n) => join(shard, n));
        for (const e of entries) {
          const st = fs.lstatSync(e, { bigint: true });
          expect(byInode.has(st.ino)).toBe(true); // every file is linked to a store entry
          expect(st.nlink).toBeLessThanOrEqual(BigInt(EXT4_LINK_MAX));
        }
        expect(entries.length).toBe(byInode.size);
      }
      expect(tmpLeftovers(loop.dir)).toEqual([]);

      if (flags.includes('--link-max')) {
        // The run met EMLINK: a second run follows the journaled new target and finds everything done.
        const again = hashify(['apply', plan, '--json'], { timeout: 240_000 });
        expect({ status: again.status, out: describeResult(again) }).toMatchObject({ status: 0 });
        expect(again.json()).toMatchObject({ applied: 0, failed: 0, skipped: 0 });
      }
      console.log(
        `real EMLINK (${name}): create ${((created - started) / 1000).toFixed(1)}s, plan ${((planned - created) / 1000).toFixed(1)}s, ` +
          `apply ${((applied - planned) / 1000).toFixed(1)}s, total ${((Date.now() - started) / 1000).toFixed(1)}s; inodes ${[...byInode.values()].map((e) => e.nlink).join('+')} links`,
      );
    } finally {
      loop.cleanup();
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }, 300_000);
});
