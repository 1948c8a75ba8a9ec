/**
 * SIGKILL during a clone leaves DST absent (only the temp tree beside it), never half made,
 * and the next clone to the same DST removes that temp tree and finishes. Kill points are
 * deterministic (HASHIFY_CLONE_CRASH_AFTER=N: the native walker kills itself after N entries,
 * up to after the last one, before the root's metadata and the rename) and, in a second
 * test, at random moments from outside.
 */
import * as fs from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI, hashify, spawnHashify } from '../helpers/cli.js';
import { scratchDir, treeFacts } from './support.js';

const TMP = '.next.hashify-clone-tmp';

/** A store-backed guest `g/a` (and `g/b`) with 3 directories and a few dozen entries. */
function guest(dir: string): { src: string; dst: string; entries: number } {
  const g = join(dir, 'g');
  for (const x of ['a', 'b']) {
    for (let i = 0; i < 30; i++) {
      const p = join(g, x, `d${i % 3}`, `f${i}`);
      fs.mkdirSync(join(p, '..'), { recursive: true });
      fs.writeFileSync(p, `file ${i}${i % 4 === 0 ? ` of ${x}` : ''}\n`.repeat(50));
    }
    fs.symlinkSync('d0/f0', join(g, x, 'link'));
  }
  execFileSync('touch', ['-d', '2022-02-02', ...fs.readdirSync(g).flatMap((x) => [join(g, x, 'd0'), join(g, x, 'd1'), join(g, x, 'd2')])]);
  const plan = join(dir, 'p.plan.jsonl');
  if (hashify(['plan', join(g, 'a'), join(g, 'b'), '-o', plan, '--no-cache', '-q']).status !== 0) throw new Error('plan failed');
  if (hashify(['apply', plan, '-q']).status !== 0) throw new Error('apply failed');
  return { src: join(g, 'a'), dst: join(g, 'next'), entries: 34 };
}

function expectWhole(src: string, dst: string): void {
  expect(treeFacts(dst).entries).toEqual(treeFacts(src).entries);
  expect(fs.existsSync(join(dst, '..', TMP))).toBe(false);
}

describe('clone killed with SIGKILL', () => {
  test('at every kill point DST is absent, and the next clone removes the temp tree and finishes', () => {
    const s = scratchDir();
    try {
      const { src, dst, entries } = guest(s.dir);
      treeFacts(src);
      for (const n of [1, 2, 5, 11, 17, 23, 31, entries]) {
        const r = hashify(['clone', src, dst], { env: { HASHIFY_CLONE_CRASH_AFTER: String(n) } });
        expect([n, r.signal]).toEqual([n, 'SIGKILL']);
        expect(fs.existsSync(dst)).toBe(false);
        expect(fs.existsSync(join(dst, '..', TMP))).toBe(true);
        if (n % 2) continue; // every other time: a second kill on top of the first one's leftovers
        const again = hashify(['clone', src, dst, '--json']);
        expect([n, again.status, again.stderr]).toEqual([n, 0, '']);
        expect(again.json().entries).toBe(entries);
        expectWhole(src, dst);
        fs.rmSync(dst, { recursive: true });
      }
    } finally {
      s.cleanup();
    }
  });

  test('killed at random moments from outside: DST is absent or whole, and a rerun finishes', async () => {
    const s = scratchDir();
    try {
      const { src, dst } = guest(s.dir);
      treeFacts(src);
      for (let attempt = 0; attempt < 6; attempt++) {
        const child = spawnHashify(['clone', src, dst]);
        const delay = 50 + Math.floor(Math.random() * 400);
        const exited = new Promise<void>((res) => child.on('exit', () => res()));
        setTimeout(() => child.kill('SIGKILL'), delay);
        await exited;
        if (fs.existsSync(dst)) expectWhole(src, dst);
        else {
          const r = hashify(['clone', src, dst]);
          expect(r.status).toBe(0);
          expectWhole(src, dst);
        }
        fs.rmSync(dst, { recursive: true });
      }
    } finally {
      s.cleanup();
    }
  });

  test('a temp tree holding a symlink to a host directory is removed without following it', () => {
    const s = scratchDir();
    try {
      const { src, dst } = guest(s.dir);
      const host = join(s.dir, 'host');
      fs.mkdirSync(host);
      fs.writeFileSync(join(host, 'keep'), 'host file');
      const tmp = join(dst, '..', TMP);
      fs.mkdirSync(join(tmp, 'sub'), { recursive: true });
      fs.symlinkSync(host, join(tmp, 'sub', 'escape'));
      fs.symlinkSync(host, join(tmp, 'escape2'));
      expect(hashify(['clone', src, dst]).status).toBe(0);
      expectWhole(src, dst);
      expect(fs.readdirSync(host)).toEqual(['keep']);
      expect(fs.readFileSync(join(host, 'keep'), 'utf8')).toBe('host file');
    } finally {
      s.cleanup();
    }
  });

  test('a clone still building DST (its temp tree locked) makes a second clone to DST exit 4 and leaves that tree alone', () => {
    const s = scratchDir();
    try {
      const { src, dst } = guest(s.dir);
      const tmp = join(dst, '..', TMP);
      fs.mkdirSync(tmp);
      fs.writeFileSync(join(tmp, 'in-progress'), 'x');
      // a stand-in for the running clone: holds the flock on the temp tree, as cloneTree does
      const holder = spawnSync('python3', ['-c', 'import fcntl, os, sys, subprocess\nfd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\nfcntl.flock(fd, fcntl.LOCK_EX)\nr = subprocess.run(sys.argv[2:], capture_output=True)\nprint(r.returncode)', tmp, process.execPath, CLI, 'clone', src, dst], { encoding: 'utf8' });
      expect(holder.stdout.trim()).toBe('4');
      expect(fs.readdirSync(tmp)).toEqual(['in-progress']);
      expect(fs.existsSync(dst)).toBe(false);
    } finally {
      s.cleanup();
    }
  });

  test('refusals (exit 2): DST exists; SRC missing, a file or a symlink; DST inside SRC; a --store that is missing or not a store; nothing is created', () => {
    const s = scratchDir();
    try {
      const { src, dst } = guest(s.dir);
      fs.mkdirSync(dst);
      expect(hashify(['clone', src, dst]).status).toBe(2);
      expect(fs.readdirSync(dst)).toEqual([]);
      fs.rmdirSync(dst);
      fs.symlinkSync(src, join(s.dir, 'srclink'));
      for (const bad of [join(s.dir, 'missing'), join(src, 'd0/f0'), join(s.dir, 'srclink')]) {
        const r = hashify(['clone', bad, dst]);
        expect([bad, r.status]).toEqual([bad, 2]);
      }
      expect(hashify(['clone', src, join(src, 'inside')]).status).toBe(2);
      expect(hashify(['clone', src, dst, '--store', join(s.dir, 'nostore')]).status).toBe(2);
      fs.mkdirSync(join(s.dir, 'plain'));
      expect(hashify(['clone', src, dst, '--store', join(s.dir, 'plain')]).status).toBe(2); // no store marker
      expect(fs.existsSync(dst)).toBe(false);
      expect(fs.existsSync(join(dst, '..', TMP))).toBe(false);
    } finally {
      s.cleanup();
    }
  });
});
