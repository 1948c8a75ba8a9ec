/**
 * The crash test: a child `hashify apply` on a plan of thousands of operations kills itself
 * (SIGKILL, HASHIFY_CRASH_AT) after a seeded pseudo-random number of its changing steps, again
 * and again, until a run finishes: the same kill points on any machine, however loaded. After every kill no
 * file's content or metadata differs from before (only inode, link count and ctime may), and
 * every path still exists; at the end the inode sharing equals that of an uninterrupted run
 * on an identical tree, and no temp file is left.
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { hashify } from '../helpers/cli.js';
import { crashAt } from '../helpers/crashHook.js';

const GUESTS = 3;
const FILES = 1000;
const MTIME = new Date('2023-05-06T07:08:09Z');

/** A deterministic pseudo-random sequence (so a failure can be replayed). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Guests with shared files, a few changed ones, pre-existing hard links and a non-UTF-8 directory. */
function buildTree(root: string): void {
  const odd = Buffer.from('lib-\xe9\xff', 'latin1');
  for (let g = 0; g < GUESTS; g++) {
    const base = join(root, `guest${g}`);
    for (let i = 0; i < FILES; i++) {
      const dir = i % 10 === 0 ? Buffer.concat([Buffer.from(base + '/'), odd]) : Buffer.from(`${base}/d${i % 7}`);
      fs.mkdirSync(dir, { recursive: true });
      const p = Buffer.concat([dir, Buffer.from(`/f${i}`)]);
      const changed = g === 2 && i % 50 === 0;
      fs.writeFileSync(p, changed ? `guest ${g} own ${i}\n` : `shared ${i}\n`.repeat(1 + (i % 40) * 20));
      fs.utimesSync(p, MTIME, MTIME);
    }
    // Two names for one inode inside each guest: they must stay one inode.
    fs.linkSync(`${base}/d1/f1`, `${base}/d1/f1.hardlink`);
  }
}

interface FileState {
  content: string;
  meta: string;
}

function walk(dir: Buffer, rel: string, out: Map<string, { path: Buffer; st: fs.BigIntStats }>): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
    const p = Buffer.concat([dir, Buffer.from('/'), e.name]);
    const r = `${rel}/${e.name.toString('latin1')}`;
    if (e.isDirectory()) {
      if (e.name.toString() !== '.hash') walk(p, r, out);
    } else out.set(r, { path: p, st: fs.lstatSync(p, { bigint: true }) });
  }
}

function files(root: string): Map<string, { path: Buffer; st: fs.BigIntStats }> {
  const out = new Map();
  walk(Buffer.from(root), '', out);
  return out;
}

function state(root: string): Map<string, FileState> {
  const out = new Map<string, FileState>();
  for (const [rel, { path, st }] of files(root)) {
    out.set(rel, {
      content: createHash('sha256').update(fs.readFileSync(path)).digest('hex'),
      meta: `${st.mode} ${st.uid} ${st.gid} ${st.mtimeNs} ${st.size}`,
    });
  }
  return out;
}

/** Which relative paths share an inode, as a canonical sorted list of groups. */
function sharing(root: string): string[] {
  const byInode = new Map<bigint, string[]>();
  for (const [rel, { st }] of files(root)) byInode.set(st.ino, [...(byInode.get(st.ino) ?? []), rel]);
  return [...byInode.values()].map((g) => g.sort().join('|')).sort();
}

function tempFiles(root: string): string[] {
  return [...files(root).keys()].filter((r) => r.includes('.hashify-tmp-'));
}

describe('apply killed (SIGKILL) after seeded pseudo-random numbers of steps', () => {
  const work = fs.mkdtempSync(join(tmpdir(), 'hashify-crash-'));
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('loses nothing, resumes past the start, and ends like an uninterrupted run', async () => {
    const crashed = join(work, 'crashed');
    const reference = join(work, 'reference');
    buildTree(crashed);
    buildTree(reference);
    const before = state(crashed);

    const planCrashed = join(work, 'crashed.plan.jsonl');
    const planReference = join(work, 'reference.plan.jsonl');
    const guests = (root: string) => Array.from({ length: GUESTS }, (_, g) => join(root, `guest${g}`));
    expect(hashify(['plan', ...guests(crashed), '-o', planCrashed, '--no-cache', '-q']).status).toBe(0);
    expect(hashify(['plan', ...guests(reference), '-o', planReference, '--no-cache', '-q']).status).toBe(0);
    const ops = hashify(['show', planCrashed, '--json']).json().ops;
    expect(ops).toBeGreaterThan(1000);

    const random = rng(20261125);
    let kills = 0;
    let resumedPastStart = false;
    let finished = false;
    for (let attempt = 0; attempt < 80 && !finished; attempt++) {
      // Past the first journal checkpoint (512 operations, about 1,500 steps) in most runs, so
      // that resumed runs start past the start; a run has about 13,000 steps in all.
      const r = crashAt(1200 + Math.floor(random() * 3000), ['apply', planCrashed, '--json', '--no-progress']);
      const [killed, code] = [r.signal === 'SIGKILL', r.status];
      if (killed) kills++;
      else {
        expect(code === 0 || code === null).toBe(true);
        finished = code === 0;
      }
      // After every run, killed or not: every path is there, with its content and metadata.
      const now = state(crashed);
      expect([...now.keys()].filter((k) => !k.includes('.hashify-tmp-')).sort()).toEqual([...before.keys()].sort());
      for (const [rel, s] of before) expect({ rel, ...now.get(rel) }).toEqual({ rel, ...s });
      const status = hashify(['status', planCrashed, '--json']).json();
      if (!finished && status.done > 0 && status.next > 0) resumedPastStart = true;
    }
    console.log(`crash test: ${ops} operations, ${kills} SIGKILLs before a run finished`);
    expect(finished).toBe(true);
    expect(kills).toBeGreaterThanOrEqual(3);
    expect(resumedPastStart).toBe(true);

    const last = hashify(['apply', planCrashed, '--json']);
    expect(last.status).toBe(0);
    expect(last.json()).toMatchObject({ ops, applied: 0, alreadyDone: ops, resumedAt: ops });

    expect(hashify(['apply', planReference, '-q']).status).toBe(0);
    const rel = (root: string) => sharing(root).map((g) => g);
    expect(rel(crashed)).toEqual(rel(reference));
    expect(tempFiles(crashed)).toEqual([]);
    expect(tempFiles(join(crashed, '.hash'))).toEqual([]);
  }, 900_000); // several thousand operations in up to 80 runs: minutes on a loaded machine
});
