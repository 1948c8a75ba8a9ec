/**
 * Step 2 of findDuplicates: rows grouped by (device, size, metadata that must match) with
 * typed arrays only. Held equal to the plain grouping by a string key, on rows whose keys
 * collide often (few sizes, owners, mtimes, and sizes that differ only above 32 bits).
 */
import { FileTable } from '../../src/scan/fileTable.js';
import { DirRecords } from '../../src/scan/dirRecords.js';
import { linkDomains, statGroups } from '../../src/hash/statGroups.js';
import { encodeRecords, type FakeEntry } from '../helpers/dirRecords.js';

function entry(i: number): FakeEntry {
  const size = BigInt(1 + (i % 5)) + (i % 11 === 0 ? 1n << 32n : 0n);
  return {
    name: `f${i}`, dev: 9n, ino: BigInt(i + 1), size, mtime: BigInt(1_700_000_000_000_000_000 + (i % 3)) + (i % 13 === 0 ? 1n << 40n : 0n),
    ctime: 1n, atime: 1n, mode: 0o100644 | (i % 4 === 0 ? 0o20 : 0), uid: i % 2, gid: i % 6 === 0 ? 5 : 0, nlink: 1,
  };
}

function table(n: number, roots: bigint[]): FileTable {
  const t = new FileTable();
  t.roots = { fds: roots.map(() => -1), skip: roots.map(() => 1), devs: roots };
  for (let r = 0; r < roots.length; r++) {
    const d = t.addDir(Buffer.from(`/r${r}`), r);
    const rec = new DirRecords(encodeRecords(Array.from({ length: n }, (_, k) => entry(k))));
    while (rec.next()) t.addRecord(d, rec);
  }
  return t;
}

/** The groups as sorted lists of rows, from the typed result. */
function groupsOf(t: FileTable, primary: Uint8Array, match: { mode: boolean; owner: boolean; mtime: boolean }, domains?: Int32Array): number[][] {
  const g = statGroups(t, primary, match, domains);
  const out: number[][] = [];
  for (let k = 0; k < g.count; k++) out.push(Array.from(g.rows.subarray(g.start[k], g.end[k])));
  return out.sort((a, b) => a[0] - b[0]);
}

/** The same by a string key per row. */
function naive(t: FileTable, primary: Uint8Array, match: { mode: boolean; owner: boolean; mtime: boolean }): number[][] {
  const by = new Map<string, number[]>();
  for (let i = 0; i < t.length; i++) {
    if (!primary[i]) continue;
    const k = [t.devOf(i), t.size[i], match.mode ? t.modeOf(i) : '', match.owner ? `${t.uidOf(i)}:${t.gidOf(i)}` : '', match.mtime ? t.mtime[i] : ''].join('/');
    by.set(k, [...(by.get(k) ?? []), i]);
  }
  return [...by.values()].filter((g) => g.length >= 2).sort((a, b) => a[0] - b[0]);
}

describe('stat groups', () => {
  const matches = [
    { mode: true, owner: true, mtime: true },
    { mode: true, owner: false, mtime: true },
    { mode: false, owner: true, mtime: false },
    { mode: false, owner: false, mtime: false },
  ];

  test.each(matches)('equal to the grouping by string key (%o)', (match) => {
    const t = table(700, [9n, 9n, 3n]);
    const primary = new Uint8Array(t.length).fill(1);
    for (let i = 0; i < t.length; i += 7) primary[i] = 0; // aliases are left out
    const got = groupsOf(t, primary, match);
    expect(got.length).toBeGreaterThan(10);
    expect(got).toEqual(naive(t, primary, match));
  });

  test('rows of roots on one device group together, of another device apart', () => {
    const t = table(1, [9n, 9n, 3n]); // one identical row under each root
    expect(groupsOf(t, new Uint8Array(3).fill(1), matches[0])).toEqual([[0, 1]]);
  });

  test('for clones (acrossDevices) rows of every root group together: devices of one filesystem, e.g. btrfs subvolumes', () => {
    const t = table(1, [9n, 9n, 3n]);
    expect(Array.from(linkDomains(t))).toEqual([0, 0, 1]);
    expect(Array.from(linkDomains(t, true))).toEqual([0, 0, 0]);
    expect(groupsOf(t, new Uint8Array(3).fill(1), matches[0], linkDomains(t, true))).toEqual([[0, 1, 2]]);
  });
});
