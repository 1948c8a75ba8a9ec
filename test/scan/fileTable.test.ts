import { FileTable } from '../../src/scan/fileTable.js';
import { DirRecords } from '../../src/scan/dirRecords.js';
import { encodeRecords, type FakeEntry } from '../helpers/dirRecords.js';

/** Just the fields FileTable reads, distinct per row. */
function fakeEntry(i: number): FakeEntry {
  const n = BigInt(i);
  return {
    name: `f${i}`, dev: 7n, ino: 1000n + n, size: 10n + n, mtime: 1_700_000_000_000_000_000n + n, ctime: 1_800_000_000_000_000_000n + n,
    atime: 1_600_000_000_000_000_000n + n, mode: 0o100644, uid: i % 7, gid: i % 5, nlink: 1 + (i % 3),
  };
}

/** Rows from..to-1 in one directory, added as the scan adds them: from native-layout records. */
function fill(t: FileTable, from: number, to: number, dirName: string): void {
  const d = t.addDir(Buffer.from(dirName), 0);
  const rec = new DirRecords(encodeRecords(Array.from({ length: to - from }, (_, k) => fakeEntry(from + k))));
  while (rec.next()) t.addRecord(d, rec);
}

function expectRow(t: FileTable, row: number, i: number, dirName: string): void {
  expect(t.path(row).toString()).toBe(`${dirName}/f${i}`);
  expect([t.ino[row], t.size[row], t.mtime[row], t.ctime[row], t.atime[row]]).toEqual([1000n + BigInt(i), 10n + BigInt(i), 1_700_000_000_000_000_000n + BigInt(i), 1_800_000_000_000_000_000n + BigInt(i), 1_600_000_000_000_000_000n + BigInt(i)]);
  expect([t.modeOf(row), t.uidOf(row), t.gidOf(row), t.nlink[row]]).toEqual([0o100644, i % 7, i % 5, 1 + (i % 3)]);
}

describe('the file table', () => {
  test('keeps every column of every row through many growth steps', () => {
    const t = new FileTable();
    fill(t, 0, 200_000, '/data');
    expect(t.length).toBe(200_000);
    for (const row of [0, 1, 1023, 1024, 1535, 1536, 99_999, 131_072, 199_999]) expectRow(t, row, row, '/data');
  });

  test('joins a file in the root directory without a double slash', () => {
    const t = new FileTable();
    const rec = new DirRecords(encodeRecords([{ ...fakeEntry(1), name: 'etc' }]));
    rec.next();
    t.addRecord(t.addDir(Buffer.from('/'), 0), rec);
    expect(t.path(0).toString()).toBe('/etc');
  });
});
