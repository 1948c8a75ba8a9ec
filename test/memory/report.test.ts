/**
 * memory's result from a measurement, in memory: the SPEC keys, bytesSaved as resident bytes
 * times the further roots mapping each inode, null (never a guess) where the kernel did not
 * tell, the reflink note, and the restart list grouped by root and by unit.
 */
import { memoryResult, memoryText } from '../../src/memory/report.js';
import type { Measurement, SharedUse } from '../../src/memory/measureMemory.js';
import type { StaleProcess } from '../../src/memory/stale.js';

const use = (path: string, resident: number | null, roots: string[], pids: number[]): SharedUse => ({
  dev: 1n,
  ino: BigInt(path.length),
  path,
  size: resident ?? 1000,
  resident,
  roots: new Set(roots),
  pids: new Set(pids),
  prelinked: false,
});

const measurement = (shared: SharedUse[], stale: StaleProcess[] = []): Measurement => ({ link: 'hardlink', shared, missing: 0, stale, unreadable: 0 });

test('the SPEC keys, with bytesSaved = resident × (roots − 1) summed over the inodes', () => {
  const r = memoryResult('sha256-x', measurement([use('/s/libc', 2_000_000, ['/v/a', '/v/b', '/v/c'], [1, 2, 3, 4]), use('/s/libm', 100_000, ['/v/a'], [1]), use('/s/doc', 5_000, [], [])]));
  expect(Object.keys(r).slice(0, 8)).toEqual(['digest', 'sharedInodes', 'residentBytes', 'mappings', 'processes', 'roots', 'bytesSaved', 'stale']);
  expect(r).toMatchObject({ sharedInodes: 3, residentBytes: 2_105_000, mappings: 5, processes: 4, roots: 3, bytesSaved: 4_000_000, stale: [] });
  expect(r.top[0]).toMatchObject({ path: '/s/libc', bytesSaved: 4_000_000, roots: ['/v/a', '/v/b', '/v/c'] });
});

test('residency the kernel would not give makes the totals null, not a partial sum', () => {
  const r = memoryResult('d', measurement([use('/s/a', null, ['/v/a', '/v/b'], [1, 2]), use('/s/b', 4096, ['/v/a', '/v/b'], [1, 2])]));
  expect(r.residentBytes).toBeNull();
  expect(r.bytesSaved).toBeNull();
  expect(memoryText(r).join('\n')).toContain('unknown');
});

test('an unknown residency mapped by one root still saves exactly nothing', () => {
  const r = memoryResult('d', measurement([use('/s/a', null, ['/v/a'], [1])]));
  expect(r.residentBytes).toBeNull();
  expect(r.bytesSaved).toBe(0);
});

test('a reflink plan shares no inode and says so', () => {
  const r = memoryResult('d', { link: 'reflink', shared: [], missing: 0, stale: [], unreadable: 0 });
  expect(r).toMatchObject({ sharedInodes: 0, residentBytes: 0, bytesSaved: 0, processes: 0, roots: 0, mappings: 0 });
  expect(r.note).toMatch(/reflink plan shares no inode/);
  expect(memoryText(r)[0]).toMatch(/^Note: a reflink plan shares no inode/);
});

test('the restart list groups stale processes by root, then by systemd unit or cgroup', () => {
  const stale = (pid: number, root: string, unit?: string): StaleProcess => ({
    pid,
    command: `cmd${pid}`,
    root,
    path: `${root}/usr/lib/libc.so.6`,
    bytes: 1024 * 1024,
    size: 2_000_000,
    via: 'map',
    cgroup: unit ? `/system.slice/${unit}` : '/lxc.payload.b',
    ...(unit ? { unit } : {}),
  });
  const text = memoryText(memoryResult('d', measurement([], [stale(10, '/v/a', 'nginx.service'), stale(11, '/v/a', 'nginx.service'), stale(12, '/v/b')]))).join('\n');
  expect(text).toContain('Restart to share: 3 processes still map or hold a replaced copy (3.0 MiB of page cache):');
  expect(text).toMatch(/root "\/v\/a":\n {4}unit nginx.service:\n {6}pid 10 "cmd10" maps .*\n {6}pid 11/);
  expect(text).toMatch(/root "\/v\/b":\n {4}cgroup \/lxc.payload.b:\n {6}pid 12/);
});
