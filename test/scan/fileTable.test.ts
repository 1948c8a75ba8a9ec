import type { BigIntStats } from 'node:fs';
import { FileTable } from '../../src/scan/fileTable.js';

/** Just the fields FileTable reads, distinct per row. */
function fakeStat(i: number): BigIntStats {
  const n = BigInt(i);
  return {
    dev: 7n, ino: 1000n + n, size: 10n + n, mtimeNs: 1_700_000_000_000_000_000n + n, ctimeNs: 1_800_000_000_000_000_000n + n,
    atimeNs: 1_600_000_000_000_000_000n + n, mode: 0o100644n, uid: BigInt(i % 7), gid: BigInt(i % 5), nlink: BigInt(1 + (i % 3)),
  } as unknown as BigIntStats;
}

function fill(t: FileTable, from: number, to: number, dirName: string): void {
  const d = t.addDir(Buffer.from(dirName));
  for (let i = from; i < to; i++) t.add(d, Buffer.from(`f${i}`), fakeStat(i));
}

function expectRow(t: FileTable, row: number, i: number, dirName: string): void {
  expect(t.path(row).toString()).toBe(`${dirName}/f${i}`);
  expect([t.ino[row], t.size[row], t.mtime[row], t.ctime[row], t.atime[row]]).toEqual([1000n + BigInt(i), 10n + BigInt(i), 1_700_000_000_000_000_000n + BigInt(i), 1_800_000_000_000_000_000n + BigInt(i), 1_600_000_000_000_000_000n + BigInt(i)]);
  expect([t.mode[row], t.uid[row], t.gid[row], t.nlink[row]]).toEqual([0o100644, i % 7, i % 5, 1 + (i % 3)]);
}

describe('the file table', () => {
  test('keeps every column of every row through many growth steps', () => {
    const t = new FileTable();
    fill(t, 0, 200_000, '/data');
    expect(t.length).toBe(200_000);
    for (const row of [0, 1, 1023, 1024, 1535, 1536, 99_999, 131_072, 199_999]) expectRow(t, row, row, '/data');
  });

  test('appends the tables of other threads with their directories and names', () => {
    const a = new FileTable();
    fill(a, 0, 3000, '/a');
    const b = new FileTable();
    fill(b, 3000, 5000, '/b/x');
    fill(b, 5000, 9000, '/b/y');
    const viewOfB = FileTable.fromShare(b.share());
    a.append(viewOfB);
    expect(a.length).toBe(9000);
    // Appending grows only as far as needed (half again at most), however often it is called.
    expect(a.dev.length).toBeLessThan(9000 * 1.5 + 2);
    expectRow(a, 2999, 2999, '/a');
    expectRow(a, 3000, 3000, '/b/x');
    expectRow(a, 8999, 8999, '/b/y');
  });

  test('joins a file in the root directory without a double slash', () => {
    const t = new FileTable();
    t.add(t.addDir(Buffer.from('/')), Buffer.from('etc'), fakeStat(1));
    expect(t.path(0).toString()).toBe('/etc');
  });
});
