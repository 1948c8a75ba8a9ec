/**
 * A row's stat JSON written from the scan table's columns is exactly JSON.stringify of the
 * StatRecord the table makes for it, for every range of value: small numbers, above 2^32 and
 * 2^53, the largest 64-bit ones, nanosecond times and times before 1970.
 */
import { FileTable } from '../../src/scan/fileTable.js';
import { DirRecords } from '../../src/scan/dirRecords.js';
import { RowStats, STAT_MOST } from '../../src/plan/rowStat.js';
import { encodeRecords } from '../helpers/dirRecords.js';

const U64 = [0n, 1n, 9n, 10n, 4294967295n, 4294967296n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 10n ** 18n, 10n ** 18n - 1n, 1700000000123456789n, 2n ** 63n - 1n, 2n ** 64n - 1n, 18446744073000000000n, 2n ** 63n + 999999999n];
const I64 = [0n, 1n, 1700000000123456789n, 999999999n, 1000000000n, 2n ** 63n - 1n, -1n, -1700000000123456789n, -(2n ** 63n)];

test('the stat JSON from the columns is JSON.stringify(table.stat(row)) for every range of value', () => {
  const t = new FileTable();
  t.roots = { fds: [-1], skip: [1], devs: [2n ** 64n - 2n] };
  const d = t.addDir(Buffer.from('/r'), 0);
  const entries = [];
  for (let k = 0; k < 64; k++) {
    const u = (j: number) => U64[(k * 7 + j) % U64.length];
    const s = (j: number) => I64[(k * 5 + j) % I64.length];
    entries.push({ name: `f${k}`, dev: t.roots.devs[0], ino: u(0), size: u(3), mtime: s(0), ctime: s(1), atime: s(2), mode: 0o100000 | (k * 37) % 0o7777, uid: k * 65599, gid: 4294967295 - k, nlink: k * 1031 });
  }
  const rec = new DirRecords(encodeRecords(entries));
  while (rec.next()) t.addRecord(d, rec);
  expect(Array.from(t.size.subarray(0, t.length))).toContain(2n ** 64n - 1n);
  expect(Array.from(t.mtime.subarray(0, t.length))).toContain(-(2n ** 63n));
  const stats = new RowStats(t);
  const out = Buffer.alloc(4096);
  for (let i = 0; i < t.length; i++) {
    const end = stats.write(i, out, 7);
    expect(out.toString('latin1', 7, end)).toBe(JSON.stringify(t.stat(i)));
    expect(end - 7).toBeLessThanOrEqual(STAT_MOST);
  }
  // Rows whose stats match have the same mtime key, others not.
  expect(stats.mtimeKey(0) === stats.mtimeKey(1)).toBe(t.mtime[0] === t.mtime[1]);
  expect(stats.write(0, out, out.length - STAT_MOST + 1)).toBe(-1);
});
