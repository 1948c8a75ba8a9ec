/**
 * `memory` on real processes: a process that mapped a file before apply keeps its own copy
 * (stale, it must restart to share); processes in two guest roots mapping the shared inode
 * are counted per root, and the memory saved is one resident copy; the plan's files are
 * opened beneath their roots; prelinked files are named.
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { makeTree, type Tree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';
import { mapperAvailable, startMapper, type Mapper } from '../helpers/mapper.js';

const SIZE = 256 * 1024;
const canMap = mapperAvailable();
if (!canMap) console.warn('skipping the process tests of memory: python3 (with mmap) is not available');
const withProcesses = canMap ? describe : describe.skip;

let tree: Tree;
const mappers: Mapper[] = [];

function planAndApply(roots: string[], extra: string[] = []): string {
  const plan = `${tree.root}/p.jsonl`;
  const p = hashify(['plan', ...roots, '-o', plan, '--no-cache', '--quiet', ...extra]);
  expect(p.stderr).toBe('');
  expect(p.status).toBe(0);
  const a = hashify(['apply', plan, '--quiet']);
  expect(a.status).toBe(0);
  return plan;
}

function memory(plan: string) {
  const r = hashify(['memory', plan, '--json']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.json();
}

afterEach(() => {
  for (const m of mappers.splice(0)) m.kill();
  tree?.cleanup();
});

withProcesses('memory with running processes', () => {
  test('a process that mapped a file before apply is listed as stale after it, with its root and bytes', async () => {
    const content = randomBytes(SIZE);
    tree = makeTree({ 'a/lib.so': content, 'b/lib.so': content });
    const m = await startMapper(tree.path('b/lib.so'));
    mappers.push(m);
    const plan = planAndApply([tree.path('a'), tree.path('b')]);
    const r = memory(plan);
    expect(r.sharedInodes).toBe(1);
    const mine = r.stale.filter((s: { pid: number }) => s.pid === m.pid);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ command: 'python3', root: tree.path('b'), path: tree.path('b/lib.so') });
    // Every page was read: the old copy holds about the file's size (null only without cachestat).
    if (mine[0].bytes !== null) expect(mine[0].bytes).toBeGreaterThanOrEqual(SIZE);
    const text = hashify(['memory', plan]);
    expect(text.stdout).toContain('Restart to share');
    expect(text.stdout).toContain(`pid ${m.pid} "python3" maps ${JSON.stringify(tree.path('b/lib.so'))}`);
  });

  test('a deleted copy that the plan did not replace (not applied, or undone since) is not stale', async () => {
    const content = randomBytes(SIZE);
    tree = makeTree({ 'a/lib.so': content, 'b/lib.so': content, 'c/lib.so': content });
    const m = await startMapper(tree.path('b/lib.so'));
    mappers.push(m);
    const plan = `${tree.root}/p.jsonl`;
    expect(hashify(['plan', tree.path('a'), tree.path('b'), tree.path('c'), '-o', plan, '--no-cache', '--quiet']).status).toBe(0);
    fs.unlinkSync(tree.path('b/lib.so')); // someone else deleted it: no name left, but not hashify's doing
    const mine = (r: { stale: Array<{ pid: number }> }) => r.stale.filter((s) => s.pid === m.pid);
    expect(mine(memory(plan))).toEqual([]);
    const m2 = await startMapper(tree.path('c/lib.so'));
    mappers.push(m2);
    hashify(['apply', plan, '--quiet']);
    const stale = memory(plan).stale.filter((s: { pid: number }) => s.pid === m.pid || s.pid === m2.pid);
    expect(stale.map((s: { pid: number }) => s.pid)).toEqual([m2.pid]);
    expect([0, 3]).toContain(hashify(['undo', plan, '--quiet']).status); // 3: b's operation was skipped (its file was deleted)
    expect(memory(plan).stale.filter((s: { pid: number }) => s.pid === m2.pid)).toEqual([]);
  });

  test('a process that only holds the replaced file open (no mapping) is stale too; after it exits, nothing is', async () => {
    const content = randomBytes(SIZE);
    tree = makeTree({ 'a/data': content, 'b/data': content });
    const holder = spawnHolder(tree.path('b/data'));
    const plan = planAndApply([tree.path('a'), tree.path('b')]);
    try {
      const r = memory(plan);
      expect(r.stale.filter((s: { pid: number; path: string }) => s.pid === holder.pid && s.path === tree.path('b/data'))).toHaveLength(1);
    } finally {
      holder.kill();
    }
    await waitExit(holder.pid);
    expect(memory(plan).stale.filter((s: { path: string }) => s.path.startsWith(tree.root))).toEqual([]);
  });

  test('two processes chrooted into two guest roots share one copy: processes ≥ 2, roots ≥ 2, bytesSaved ≈ one resident copy', async () => {
    const content = randomBytes(SIZE);
    tree = makeTree({ 'a/usr/lib/libx.so': content, 'b/usr/lib/libx.so': content });
    const plan = planAndApply([tree.path('a'), tree.path('b')]);
    for (const g of ['a', 'b']) {
      const m = await startMapper(tree.path(`${g}/usr/lib/libx.so`), { chrootTo: tree.path(g) });
      mappers.push(m);
      if (m.how !== 'chroot') console.warn(`memory test: chroot refused (${m.how}); roots come from the mapped paths`);
    }
    const r = memory(plan);
    expect(r.processes).toBeGreaterThanOrEqual(2);
    expect(r.roots).toBeGreaterThanOrEqual(2);
    expect(r.mappings).toBeGreaterThanOrEqual(2);
    expect(r.top[0].roots).toEqual([tree.path('a'), tree.path('b')]);
    if (r.residentBytes === null) {
      console.warn('memory test: cachestat(2) is not available here: residentBytes and bytesSaved are null, as they must be');
      expect(r.bytesSaved).toBeNull();
      return;
    }
    expect(Math.abs(r.bytesSaved - SIZE)).toBeLessThanOrEqual(SIZE / 4);
    expect(r.top[0].bytesSaved).toBe(r.bytesSaved);
    expect(r.stale).toEqual([]);
    const text = hashify(['memory', plan]).stdout;
    expect(text).toMatch(/processes in 2 roots map them/);
    expect(text).toContain('Shared files saving the most memory');
  });

  test('a chrooted process counts under the root it runs in, not under the path it opened the file by', async () => {
    const content = randomBytes(SIZE);
    tree = makeTree({ 'a/lib.so': content, 'b/lib.so': content });
    const plan = planAndApply([tree.path('a'), tree.path('b')]);
    const m = await startMapper(tree.path('a/lib.so'), { chrootTo: tree.path('b') });
    mappers.push(m);
    if (m.how !== 'chroot') {
      console.warn(`skipping the chroot grouping check: chroot refused (${m.how})`);
      return;
    }
    const r = memory(plan);
    expect(r.top[0]).toMatchObject({ processes: 1, roots: [tree.path('b')], bytesSaved: 0 });
  });

  test('a process in its own mount namespace, chrooted into a bind mount of a guest, counts under that guest', async () => {
    const content = randomBytes(SIZE);
    tree = makeTree({ 'a/lib.so': content, 'b/lib.so': content, 'mnt/.keep': '' });
    const plan = planAndApply([tree.path('a'), tree.path('b')]);
    if (spawnSync('unshare', ['--mount', 'true']).status !== 0) {
      console.warn('skipping the mount-namespace grouping check: unshare --mount is not permitted here');
      return;
    }
    // Inside its namespace the file is /mnt/lib.so; from here its root reads as <tree>/mnt.
    const m = await startMapper(tree.path('mnt/lib.so'), { chrootTo: tree.path('mnt'), bindFrom: tree.path('b') });
    mappers.push(m);
    expect(fs.readlinkSync(`/proc/${m.pid}/root`)).toBe(tree.path('mnt'));
    const r = memory(plan);
    expect(r.top[0]).toMatchObject({ processes: 1, roots: [tree.path('b')] });
  });
});

describe('memory without processes', () => {
  test('before apply nothing is shared yet, and it says so', () => {
    tree = makeTree({ 'a/f': 'same content\n', 'b/f': 'same content\n' });
    const plan = `${tree.root}/p.jsonl`;
    expect(hashify(['plan', tree.path('a'), tree.path('b'), '-o', plan, '--no-cache', '--quiet']).status).toBe(0);
    const r = memory(plan);
    expect(r).toMatchObject({ sharedInodes: 0, mappings: 0, processes: 0, roots: 0, bytesSaved: 0, stale: [], missing: 1 });
    expect(r.note).toMatch(/applied/);
  });

  test('with --no-store the keepers are the shared inodes', () => {
    tree = makeTree({ 'a/f': 'x'.repeat(10000), 'b/f': 'x'.repeat(10000), 'c/f': 'x'.repeat(10000) });
    const plan = planAndApply([tree.path('a'), tree.path('b'), tree.path('c')], ['--no-store']);
    const r = memory(plan);
    expect(r.sharedInodes).toBe(1);
    expect(r.top[0].path.startsWith(tree.root)).toBe(true);
  });

  test('a shared inode reached through a symlinked directory is not opened (resolved beneath its root)', () => {
    tree = makeTree({ 'a/d/f': 'y'.repeat(5000), 'b/d/f': 'y'.repeat(5000) });
    const plan = planAndApply([tree.path('a'), tree.path('b')], ['--no-store']);
    const keeper = JSON.parse(hashify(['memory', plan, '--json']).stdout).top[0].path as string;
    const dir = keeper.slice(0, keeper.lastIndexOf('/'));
    fs.renameSync(dir, `${dir}.moved`);
    // The symlink leads to the very same inode: only a walk that follows it would find it.
    fs.symlinkSync(`${dir}.moved`, dir);
    expect(memory(plan)).toMatchObject({ sharedInodes: 0, missing: 1 });
  });

  const objcopy = spawnSync('objcopy', ['--version'], { stdio: 'ignore' }).status === 0;
  (objcopy ? test : test.skip)('a prelinked ELF file (a .gnu.prelink_undo section) is named', () => {
    if (!objcopy) console.warn('skipping the prelink test: objcopy is not installed');
    tree = makeTree({ undo: 'original bytes\n' });
    const elf = tree.path('lib.so');
    execFileSync('objcopy', ['--add-section', `.gnu.prelink_undo=${tree.path('undo')}`, '/bin/true', elf]);
    fs.mkdirSync(tree.path('a'));
    fs.mkdirSync(tree.path('b'));
    fs.copyFileSync(elf, tree.path('a/lib.so'));
    fs.copyFileSync(elf, tree.path('b/lib.so'));
    fs.copyFileSync('/bin/true', tree.path('a/true'));
    fs.copyFileSync('/bin/true', tree.path('b/true'));
    for (const f of ['a/lib.so', 'b/lib.so', 'a/true', 'b/true']) fs.utimesSync(tree.path(f), 1e9, 1e9);
    const plan = planAndApply([tree.path('a'), tree.path('b')]);
    const r = memory(plan);
    expect(r.sharedInodes).toBe(2);
    expect(r.prelinked).toHaveLength(1);
    expect(hashify(['memory', plan]).stdout).toContain('Prelinked ELF files');
  });
});

/** A process that holds a file open (a descriptor, no mapping). */
function spawnHolder(file: string) {
  const child = spawn('python3', ['-c', 'import sys,time\nf=open(sys.argv[1],"rb")\nprint("ready",flush=True)\ntime.sleep(600)', file]);
  execFileSync('sh', ['-c', `for i in $(seq 100); do ls -l /proc/${child.pid}/fd 2>/dev/null | grep -q "${file}" && exit 0; sleep 0.05; done; exit 1`]);
  return { pid: child.pid!, kill: () => child.kill('SIGKILL') };
}

async function waitExit(pid: number): Promise<void> {
  for (let i = 0; i < 100 && fs.existsSync(`/proc/${pid}/maps`) && !/^State:\s+Z/m.test(readStatus(pid)); i++) await new Promise((r) => setTimeout(r, 50));
}

function readStatus(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
}
