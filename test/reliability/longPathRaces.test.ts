/**
 * A hostile guest racing apply and undo on a path longer than PATH_MAX: the racer
 * (test/helpers/racer.c, changed into the deep directory one name at a time with -C) swaps a
 * directory whose path below its root starts past 4096 bytes, one that only open_beneath's
 * pieces (native/beneath.c) resolve, (a) for a symlink to a host directory of secrets, or
 * (b) with another directory of the same guest (RENAME_EXCHANGE). SPEC "Hostile trees": nothing
 * outside the roots and the store is read, created, changed or removed; no guest file gets
 * another guest's or the host's bytes; every store entry hashes to its name; once the racer
 * stops, a rerun finishes. The host directory also holds the host's own hard links to g2's
 * files, so that a resolution that followed the symlink would meet the inodes the plan recorded
 * and act on host paths: with the pieces opened without resolve flags (openat2 resolve = 0),
 * apply relinks host/kI/f (checked: 5 runs of 5 fail). Dropping RESOLVE_NO_SYMLINKS alone is
 * not caught, nor can it be: RESOLVE_BENEATH still refuses the absolute symlink (EXDEV).
 */
import { chmodSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashify, spawnHashify, type CliResult } from '../helpers/cli.js';
import { startRacer } from '../helpers/racer.js';
import { contentAndMetadata, filesBelow, unsoundEntries } from '../helpers/crashHook.js';
import { listDeep, makeDeep, removeDeep, type DeepStat } from '../helpers/deepTree.js';

const N = 400;
const MTIME = 1_700_000_000;
const pad = (i: number) => String(i).padStart(5, '0');
/** 21 levels of 200 bytes: 4220 bytes, so DEEP/d is cut into the second piece. */
const DEEP = Array.from({ length: 21 }, () => 'd'.repeat(200)).join('/');
// The same length as the guests' contents: only the bytes tell the host's from theirs.
const secret = (i: number) => `SECRET host ${pad(i)}\n`.repeat(4);
const shared = (i: number) => `guest file ${pad(i)}\n`.repeat(4);
const other = (i: number) => `evil!!!!!! ${pad(i)}\n`.repeat(4);

/** `hashify ARGS` in a child process, the test's event loop free meanwhile. */
function run(args: string[]): Promise<CliResult> {
  const child = spawnHashify(args);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (status, signal) => resolve({ status, signal, stdout, stderr, json: () => JSON.parse(stdout) })));
}

/**
 * Each file in a directory of its own below d/ (d/kI/f): the executor opens each directory once
 * and keeps it, so N directories are N resolutions through d, each a chance for the racer.
 */
/** Roots g1 and g2 with the same files in DEEP/d; g1 also DEEP/e of other bytes; host/ (outside the roots): secrets sI and links kI/f to g2's DEEP/d/kI/f. */
function guests(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hashify-longrace-'));
  makeDeep(dir, Array.from({ length: N }, (_, i) => [
    { path: `g1/${DEEP}/d/k${i}/f`, content: shared(i), mtime: MTIME },
    { path: `g2/${DEEP}/d/k${i}/f`, content: shared(i), mtime: MTIME },
    { path: `g1/${DEEP}/e/k${i}/f`, content: other(i), mtime: MTIME },
  ]).flat());
  // The host's own hard links to g2's files (a backup made with cp -al, say): an executor that
  // followed the symlink would find there the very inodes the plan recorded, and act on them.
  makeDeep(dir, Array.from({ length: N }, (_, i) => ({ path: `host/k${i}/f`, link: `g2/${DEEP}/d/k${i}/f` })));
  for (let i = 0; i < N; i++) {
    writeFileSync(join(dir, `host/s${i}`), secret(i));
    chmodSync(join(dir, `host/s${i}`), 0o600);
  }
  return dir;
}

/** host/'s files: contents, metadata and inode (not link count or ctime) by path; and all its names. */
const hostNow = (dir: string) => {
  const inodes = filesBelow(join(dir, 'host'));
  const files = Object.entries(contentAndMetadata(dir, ['host'])).map(([p, s]) => [p, `${s} ino ${inodes.get(p.slice(5))?.ino}`]);
  // Every name below host/, directories too: none may appear or go.
  return Object.fromEntries([...files, ['names', readdirSync(join(dir, 'host'), { recursive: true }).map(String).sort().join('\n')]]);
};
/** Contents and metadata by path (not inode, link count or ctime). */
const kept = (all: Record<string, DeepStat>) => Object.fromEntries(Object.entries(all).map(([p, { mode, uid, gid, mtime, sha256 }]) => [p, `${mode} ${uid}:${gid} ${mtime} ${sha256}`]));
/** g1's files by name, wherever the swapper left d/ and e/: the pair of contents of d/kI/f and e/kI/f. */
const pairs = (g1: Record<string, DeepStat>) =>
  Array.from({ length: N }, (_, i) => [g1[`${DEEP}/d/k${i}/f`].sha256, g1[`${DEEP}/e/k${i}/f`].sha256].sort().join(' '));

const racers = {
  /** (a) g2's DEEP/d swapped for a symlink to host/ and back. */
  'a symlink to a host directory': (dir: string, stop: string) => startRacer(['-C', join(dir, 'g2', DEEP), 'symlink', 'd', join(dir, 'host'), stop], stop),
  /** (b) g1's DEEP/d and DEEP/e exchanged. */
  'another directory of the same guest (RENAME_EXCHANGE)': (dir: string, stop: string) => startRacer(['-C', join(dir, 'g1', DEEP), 'exchange', 'd', 'e', stop], stop),
};

describe.each(Object.entries(racers))('a directory past PATH_MAX swapped in a loop with %s', (_name, racer) => {
  let dir: string;
  let plan: string;
  let host: Record<string, string>;
  let secrets: string[];
  let g1: Record<string, DeepStat>;
  let g2: Record<string, DeepStat>;
  beforeAll(() => {
    dir = guests();
    expect(`${DEEP}/d`.length).toBeGreaterThan(4096);
    plan = join(dir, 'p.plan');
    const p = hashify(['plan', join(dir, 'g1'), join(dir, 'g2'), '-o', plan, '--no-cache', '--json']);
    expect(p.stderr).toBe('');
    expect(p.json()).toMatchObject({ files: 3 * N, ops: 2 * N });
    host = hostNow(dir);
    secrets = Object.entries(host).filter(([p]) => p.startsWith('host/s')).map(([, h]) => h.split(' ')[4]);
    g1 = listDeep(join(dir, 'g1'));
    g2 = listDeep(join(dir, 'g2'));
  });
  afterAll(() => dir && removeDeep(dir));

  /** Runs COMMAND while the racer swaps; then what must hold whatever it did. */
  async function raced(command: string): Promise<void> {
    const stop = join(dir, `stop-${command}`);
    const r = racer(dir, stop);
    const result = await run([command, plan, '--json']);
    const swaps = Number(await r.stop());
    expect(swaps).toBeGreaterThan(0);
    expect(result.signal).toBe(null);
    expect([0, 3]).toContain(result.status);
    expect(result.json()).toMatchObject({ ops: 2 * N, failed: 0 });
    // Nothing outside the roots and the store changed, appeared or went (host files keep mode 0600, mtime, bytes and inode).
    expect(hostNow(dir)).toEqual(host);
    const now1 = listDeep(join(dir, 'g1'));
    const now2 = listDeep(join(dir, 'g2'));
    // No guest file holds the host's bytes or the other guest's: g2 keeps its own, g1 its pairs.
    expect(kept(now2)).toEqual(kept(g2));
    expect(pairs(now1)).toEqual(pairs(g1));
    for (const s of [...Object.values(now1), ...Object.values(now2)]) expect(secrets).not.toContain(s.sha256);
    expect(Object.keys(now1).length + Object.keys(now2).length).toBe(3 * N);
    expect(unsoundEntries(join(dir, '.hash'))).toEqual([]);
  }

  test('apply while it swaps, then a rerun and verify once it stops', async () => {
    await raced('apply');
    const again = await run(['apply', plan, '--json']);
    expect([0, 3]).toContain(again.status);
    expect(again.json()).toMatchObject({ failed: 0 });
    // (run, not hashify: the lists of skipped long paths outgrow spawnSync's 1 MiB buffer)
    expect((await run(['status', plan, '--json'])).json()).toMatchObject({ failed: 0, finished: true });
    // The racer left the tree as it found it: no drift; what the race made apply skip stays
    // skipped (SPEC: a new plan picks it up; it may be every op), everything else is done.
    const v = (await run(['verify', plan, '--json'])).json();
    expect(v).toMatchObject({ drifted: 0 });
    expect(v.done + v.applicable).toBe(2 * N);
  }, 60_000);

  test('undo while it swaps, then a rerun once it stops', async () => {
    await raced('undo');
    const again = await run(['undo', plan, '--json']);
    expect(again.status).toBe(0);
    expect(again.json()).toMatchObject({ failed: 0 });
    // Every path of both guests has its own inode again.
    const all = [...Object.values(listDeep(join(dir, 'g1'))), ...Object.values(listDeep(join(dir, 'g2')))];
    expect(new Set(all.map((s) => s.ino)).size).toBe(3 * N);
  }, 60_000);
});
