import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SpaceFigures, allocatedBytes, spaceText } from '../../src/plan/spaceFigures.js';
import { makeTree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';

const shape = (existing: string[]) => ({ has: (rel: string) => existing.includes(rel) });
const rest = (c: string) => c.repeat(62);

describe('space figures (pure)', () => {
  test('a freed file counts its size apparent and its whole blocks reclaimable', () => {
    expect(allocatedBytes(550n, 4096)).toBe(4096n);
    expect(allocatedBytes(4097n, 4096)).toBe(8192n);
    const s = new SpaceFigures(4096);
    s.freed(550n);
    s.freed('8192');
    expect(s.bytesApparent).toBe(8742n);
    expect(s.bytesReclaimable).toBe(12288n);
  });

  test('sums stay exact past 2^53, with copies subtracted', () => {
    const sizes = [2n ** 52n - 1n, 2n ** 52n - 1n, 2n ** 52n - 1n, 2n ** 60n + 1n, 12345n, 1n, 2n ** 53n + 3n];
    const s = new SpaceFigures(4000);
    let apparent = 0n;
    let allocated = 0n;
    for (const [k, size] of sizes.entries()) {
      const sign = k === 5 ? -1n : 1n;
      if (sign < 0n) s.copied(size);
      else s.freed(k % 2 ? String(size) : size);
      apparent += sign * size;
      allocated += sign * allocatedBytes(size, 4000);
      expect(s.bytesApparent).toBe(apparent);
    }
    expect(s.bytesReclaimable).toBe(allocated);
  });

  test('blocks are counted exactly when the sum of two sizes under 2^52 passes 2^53', () => {
    // 2^52 - 2 is a multiple of 7, 2^52 - 1 rounds up to 2^52 + 5: together 2^53 + 3, which no float holds.
    const s = new SpaceFigures(7);
    s.freed(2n ** 52n - 2n);
    s.freed(2n ** 52n - 1n);
    expect(s.bytesApparent).toBe(2n ** 53n - 3n);
    expect(s.bytesReclaimable).toBe(2n ** 53n + 3n);
    expect(s.bytesReclaimable).toBe(allocatedBytes(2n ** 52n - 2n, 7) + allocatedBytes(2n ** 52n - 1n, 7));
  });

  test('the float fast path and the BigInt path agree with exact sums, for sizes and sums around 2^51 to 2^53 and odd block sizes', () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (const block of [7, 512, 4096, 65536]) {
      const s = new SpaceFigures(block);
      let apparent = 0n;
      let allocated = 0n;
      for (let i = 0; i < 3000; i++) {
        const scale = [2 ** 12, 2 ** 40, 2 ** 50, 2 ** 51, 2 ** 52][i % 5];
        const size = BigInt(Math.floor(rand() * scale)) + BigInt(i % 3);
        const copy = i % 7 === 0;
        if (copy) s.copied(size);
        else s.freed(size);
        apparent += copy ? -size : size;
        allocated += (copy ? -1n : 1n) * allocatedBytes(size, block);
      }
      expect(s.bytesApparent).toBe(apparent);
      expect(s.bytesReclaimable).toBe(allocated);
    }
  });

  test('the directories a new store needs are subtracted once each: root, marker, algorithm, each new shard', () => {
    const s = new SpaceFigures(4096, shape([]));
    for (let i = 0; i < 3; i++) s.freed(100n);
    s.newEntry(`sha256/ab/${rest('0')}`);
    s.newEntry(`sha256/ab/${rest('1')}`);
    s.newEntry(`sha256/cd/${rest('0')}`);
    // 3 blocks freed; root, marker, sha256/, ab/, cd/ made.
    expect(s.storeDirectories).toBe(4);
    expect(s.bytesReclaimable).toBe(3n * 4096n - 5n * 4096n);
    expect(s.record()).toEqual({ bytesReclaimable: String(-2 * 4096), bytesApparent: '300', blockSize: 4096, storeDirectories: 4 });
  });

  test('where directories take no blocks (tmpfs, btrfs), a new store costs its marker only', () => {
    const s = new SpaceFigures(4096, shape([]), false);
    for (let i = 0; i < 3; i++) s.freed(100n);
    for (let i = 0; i < 200; i++) s.newEntry(`sha256/cd/${i.toString(16).padStart(62, '0')}`);
    expect(s.storeDirectories).toBe(3);
    expect(s.bytesReclaimable).toBe(3n * 4096n - 4096n);
  });

  test('what the store has already costs nothing; a big new shard costs the blocks its records fill', () => {
    const s = new SpaceFigures(4096, shape(['', 'hashify-store.json', 'sha256', 'sha256/ab']));
    s.newEntry(`sha256/ab/${rest('0')}`);
    expect(s.bytesReclaimable).toBe(0n);
    for (let i = 0; i < 200; i++) s.newEntry(`sha256/cd/${i.toString(16).padStart(62, '0')}`);
    // 200 records of 72 bytes = 14400 bytes: 4 blocks for the new shard.
    expect(s.storeDirectories).toBe(1);
    expect(s.bytesReclaimable).toBe(-4n * 4096n);
  });

  test('no store (--no-store, reflink): nothing is created', () => {
    const s = new SpaceFigures(4096);
    s.newEntry(`sha256/ab/${rest('0')}`);
    s.freed(1n);
    expect(s.bytesReclaimable).toBe(4096n);
  });

  test('the text for people says on-disk and apparent bytes, with a sign', () => {
    const fmt = (n: bigint) => `${n} B`;
    expect(spaceText({ bytesReclaimable: '-8192', bytesApparent: '10', blockSize: 4096, storeDirectories: 3 }, 10n, fmt)).toBe('-8192 B on disk (10 B apparent; the store gains 3 directories)');
    expect(spaceText(undefined, 10n, fmt)).toBe('10 B');
  });
});

describe('space figures (plan, then apply)', () => {
  test('bytesReclaimable is what du sees go (many small files); bytesApparent is not', () => {
    const t = makeTree({});
    const cleanups: Array<() => void> = [];
    try {
      const when = new Date('2024-01-02T03:04:05Z');
      for (const r of ['a', 'b']) mkdirSync(t.path(r));
      for (let i = 0; i < 600; i++) {
        const content = randomBytes(275).toString('hex');
        for (const r of ['a', 'b']) {
          writeFileSync(t.path(`${r}/f${i}`), content);
          utimesSync(t.path(`${r}/f${i}`), when, when);
        }
      }
      // The plan and its journal live outside the measured tree and store.
      const plans = makeTree({});
      cleanups.push(plans.cleanup);
      const plan = plans.path('p.plan.jsonl');
      const p = hashify(['plan', t.path('a'), t.path('b'), '-o', plan, '--store', t.path('.hash'), '--no-cache', '--json']);
      expect(p.status).toBe(0);
      const { bytesReclaimable, bytesApparent } = p.json();
      expect(bytesApparent).toBe(600 * 550);
      expect(hashify(['show', plan, '--json']).json()).toMatchObject({ bytesReclaimable, bytesApparent });
      const du = () => Number(execFileSync('du', ['-s', '-B1', t.root], { encoding: 'utf8' }).split('\t')[0]);
      const before = du();
      expect(hashify(['apply', plan, '-q']).status).toBe(0);
      const freed = before - du();
      const block = statfsSync(t.root).bsize;
      // Exact for plain files on ext4 but for the guest directories' growth from apply's temp
      // names; within a few blocks elsewhere (btrfs keeps small files inline).
      expect(Math.abs(bytesReclaimable - freed)).toBeLessThanOrEqual(Math.max(8 * block, freed * 0.05));
      expect(bytesApparent).toBeLessThan(freed / 3);
    } finally {
      cleanups.forEach((c) => c());
      t.cleanup();
    }
  });

  // tmpfs: directories take no blocks, files whole pages; exact, with the store's 3 new directories.
  const shm = (() => {
    try {
      return execFileSync('stat', ['-f', '-c', '%T', '/dev/shm'], { encoding: 'utf8' }).trim() === 'tmpfs' ? '/dev/shm' : undefined;
    } catch {
      return undefined;
    }
  })();
  if (!shm) console.log('skipping the tmpfs space test: /dev/shm is not a tmpfs here');
  (shm ? test : test.skip)('on tmpfs, bytesReclaimable is exactly what du sees go: new store directories cost nothing there', () => {
    const dir = mkdtempSync(join(shm!, 'hashify-space-'));
    const plans = makeTree({});
    try {
      const when = new Date('2024-01-02T03:04:05Z');
      const content = randomBytes(50_000).toString('hex');
      for (const r of ['a', 'b']) {
        mkdirSync(join(dir, r));
        writeFileSync(join(dir, r, 'f'), content);
        utimesSync(join(dir, r, 'f'), when, when);
      }
      const plan = plans.path('p.plan.jsonl');
      const p = hashify(['plan', join(dir, 'a'), join(dir, 'b'), '-o', plan, '--store', join(dir, '.hash'), '--no-cache', '--json']);
      expect(p.status).toBe(0);
      const du = () => Number(execFileSync('du', ['-s', '-B1', dir], { encoding: 'utf8' }).split('\t')[0]);
      const before = du();
      expect(hashify(['apply', plan, '-q']).status).toBe(0);
      // 100,000 bytes (25 pages) freed, the marker's page taken.
      expect(before - du()).toBe(25 * 4096 - 4096);
      expect(p.json().bytesReclaimable).toBe(before - du());
    } finally {
      plans.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
