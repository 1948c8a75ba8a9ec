/**
 * `memory` on btrfs, where /proc/PID/maps shows the filesystem's device number and stat the
 * subvolume's: the mapping is still found (confirmed through map_files), and a process that
 * maps a replaced copy is still stale. A reflink plan shares no inode and says so.
 * Root only; skipped with the reason where btrfs cannot be loop-mounted.
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hashify } from '../helpers/cli.js';
import { loopMountAvailable, makeLoopFs, type LoopFs } from '../helpers/loopfs.js';
import { mapperAvailable, startMapper, type Mapper } from '../helpers/mapper.js';

const btrfs = loopMountAvailable('btrfs');
const canMap = mapperAvailable();
if (!btrfs.ok) console.warn(`skipping memory tests on btrfs: ${btrfs.reason}`);
else if (!canMap) console.warn('skipping memory tests on btrfs: python3 (with mmap) is not available');
const onBtrfs = btrfs.ok && canMap ? describe : describe.skip;

const SIZE = 192 * 1024;
let lfs: LoopFs | undefined;
const mappers: Mapper[] = [];

afterEach(() => {
  for (const m of mappers.splice(0)) m.kill();
  lfs?.cleanup();
  lfs = undefined;
});

function guests(dir: string, names: string[]): Buffer {
  const content = randomBytes(SIZE);
  for (const g of names) {
    fs.mkdirSync(`${dir}/${g}/lib`, { recursive: true });
    fs.writeFileSync(`${dir}/${g}/lib/libz.so`, content);
    fs.utimesSync(`${dir}/${g}/lib/libz.so`, 1e9, 1e9);
  }
  return content;
}

onBtrfs('memory on btrfs', () => {
  test('mappings are found although maps and stat disagree on the device; a replaced copy is stale', async () => {
    lfs = makeLoopFs({ type: 'btrfs', sizeMiB: 160 });
    const dir = lfs.dir;
    guests(dir, ['a', 'b', 'c']);
    const old = await startMapper(`${dir}/c/lib/libz.so`);
    mappers.push(old);
    const plan = `${dir}/p.jsonl`;
    expect(hashify(['plan', `${dir}/a`, `${dir}/b`, `${dir}/c`, '-o', plan, '--no-cache', '--quiet']).status).toBe(0);
    expect(hashify(['apply', plan, '--quiet']).status).toBe(0);
    for (const g of ['a', 'b']) mappers.push(await startMapper(`${dir}/${g}/lib/libz.so`, { chrootTo: `${dir}/${g}` }));
    const r = hashify(['memory', plan, '--json']).json();
    expect(r.processes).toBe(2);
    expect(r.roots).toBe(2);
    expect(r.stale.map((s: { pid: number; root: string }) => [s.pid, s.root])).toEqual([[old.pid, `${dir}/c`]]);
  });

  test('a reflink plan shares no inode, and memory says so', () => {
    lfs = makeLoopFs({ type: 'btrfs', sizeMiB: 160 });
    const dir = lfs.dir;
    guests(dir, ['a', 'b']);
    const plan = `${dir}/p.jsonl`;
    expect(hashify(['plan', `${dir}/a`, `${dir}/b`, '-o', plan, '--link', 'reflink', '--no-cache', '--quiet']).status).toBe(0);
    expect(hashify(['apply', plan, '--quiet']).status).toBe(0);
    const r = hashify(['memory', plan, '--json']);
    expect(r.status).toBe(0);
    expect(r.json()).toMatchObject({ sharedInodes: 0, mappings: 0, processes: 0, roots: 0, bytesSaved: 0, stale: [] });
    expect(r.json().note).toMatch(/reflink plan shares no inode/);
    expect(hashify(['memory', plan]).stdout).toMatch(/reflink plan shares no inode/);
  });
});
