/**
 * Inodes read in place from the scan table (RowInode: paths from the directory and name
 * bytes, stat JSON from the columns) plan and write exactly what the same inodes made from
 * records do, for paths at the filesystem root, with escapes and with bytes that are not
 * UTF-8; paths order as Buffer.compare orders their bytes.
 */
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTable } from '../../src/scan/fileTable.js';
import { DirRecords } from '../../src/scan/dirRecords.js';
import { planContent, newCounters, recordInode, type PlanInode, type PlannerContext } from '../../src/plan/assemblePlan.js';
import { RowInode } from '../../src/plan/rowInode.js';
import { RowStats } from '../../src/plan/rowStat.js';
import { compareRowPaths, rowPathLength, sharedPrefixes } from '../../src/plan/rowPaths.js';
import { PlanWriter } from '../../src/planfile/writePlan.js';
import { PLAN_KIND, PLAN_VERSION, type HeaderRecord } from '../../src/planfile/records.js';
import { encodeRecords } from '../helpers/dirRecords.js';

const INTEGRITY = 'sha256-' + Buffer.alloc(32, 0x5a).toString('base64');
const DIRS = [Buffer.from('/'), Buffer.from('/r'), Buffer.from('/r/\xff"x\\', 'latin1'), Buffer.from('/r/a')];
const NAMES = ['a', 'b', 'é', 'q"', 'tab\t', '~', 'z', 'ab'];

function table(): FileTable {
  const t = new FileTable();
  t.roots = { fds: [-1], skip: [1], devs: [77n] };
  let ino = 1n;
  for (const dir of DIRS) {
    const d = t.addDir(dir, 0);
    const entries = NAMES.map((name, k) => ({ name, dev: 77n, ino: ino++, size: 4096n * BigInt(k) + 5n, mtime: 1700000000123456789n, ctime: 1700000000123456789n + BigInt(k), atime: 2n ** 62n, mode: 0o100644, uid: 1000, gid: 1000, nlink: 1 }));
    const rec = new DirRecords(encodeRecords(entries));
    while (rec.next()) t.addRecord(d, rec);
  }
  return t;
}

test('row paths have the length and order of their bytes', () => {
  const t = table();
  for (let a = 0; a < t.length; a++) {
    expect(rowPathLength(t, a)).toBe(t.path(a).length);
    for (let b = 0; b < t.length; b++) expect(Math.sign(compareRowPaths(t, a, b))).toBe(Math.sign(Buffer.compare(t.path(a), t.path(b))));
  }
  expect(t.path(0).toString()).toBe('/a');
});

test('rows of one root compare past what its directories share, and order as their bytes do', () => {
  const t = new FileTable();
  t.roots = { fds: [-1, -1], skip: [1, 1], devs: [77n, 78n] };
  const dirs: Array<[string, number]> = [['/r/deep', 0], ['/r/deep/x', 0], ['/r/deep/xy', 0], ['/r/deeper', 0], ['/s', 1], ['/', 1]];
  for (const [dir, root] of dirs) {
    const d = t.addDir(Buffer.from(dir), root);
    const rec = new DirRecords(encodeRecords(['a', 'x', 'xy', 'z'].map((name, k) => ({ name, dev: 77n, ino: BigInt(k + 1), size: 1n, mtime: 1n, ctime: 1n, atime: 1n, mode: 0o100644, uid: 0, gid: 0, nlink: 1 }))));
    while (rec.next()) t.addRecord(d, rec);
  }
  const shared = sharedPrefixes(t);
  expect(Array.from(shared)).toEqual(['/r/deep'.length, 1]);
  for (let a = 0; a < t.length; a++)
    for (let b = 0; b < t.length; b++) expect(Math.sign(compareRowPaths(t, a, b, shared))).toBe(Math.sign(Buffer.compare(t.path(a), t.path(b))));
});

test('sameKey of two table inodes is the equality of their keys, for every match option', () => {
  const t = new FileTable();
  t.roots = { fds: [-1], skip: [1], devs: [77n] };
  const d = t.addDir(Buffer.from('/r'), 0);
  const entries = [];
  for (let k = 0; k < 16; k++) entries.push({ name: `f${k}`, dev: 77n, ino: BigInt(k + 1), size: 1n, mtime: 1700000000000000000n + BigInt(k & 1) * 2n ** 32n, ctime: 1n, atime: 1n, mode: k & 2 ? 0o100644 : 0o104644, uid: k & 4 ? 1 : 0, gid: 0, nlink: 1 });
  const rec = new DirRecords(encodeRecords(entries));
  while (rec.next()) t.addRecord(d, rec);
  const stats = new RowStats(t);
  const inodes = entries.map((_, k) => new RowInode(t, stats, k, [k], k & 8 ? { 'user.a': k & 1 ? 'AA==' : 'AQ==' } : undefined));
  for (const mode of [true, false])
    for (const owner of [true, false])
      for (const mtime of [true, false])
        for (const xattrs of [true, false]) {
          const match = { mode, owner, mtime, xattrs };
          for (const a of inodes) for (const b of inodes) expect(a.sameKey(b, match)).toBe(a.key(match) === b.key(match));
        }
});

const header: HeaderRecord = {
  type: 'header', kind: PLAN_KIND, version: PLAN_VERSION, tool: 'test', created: '2026-01-01T00:00:00.000Z', roots: [{ path: '/r' }], store: { path: '/r/.hash' },
  link: 'hardlink', algorithm: 'sha256', minSize: '1', match: { mode: true, owner: true, mtime: true, xattrs: true }, exclude: [], linkMax: 65000,
};

test.each([
  ['copy-in to a store', {}, undefined],
  ['adopt into a store', { adopt: true }, undefined],
  ['no store', { store: null }, undefined],
  // Inodes with xattrs have their lines written in TS (copyRowPath), not by the addon.
  ['inodes with xattrs', {}, { 'user.k': 'AA==' }],
])('a plan of inodes from the table is the plan of the same inodes from records (%s)', (_name, ctx, xattrs) => {
  const t = table();
  const stats = new RowStats(t);
  const context: PlannerContext = { store: Buffer.from('/r/.hash'), link: 'hardlink', match: header.match, linkMax: 65000, ...ctx };
  // Contents of three, two and (with two paths of one inode) the rest.
  const contents = [[0, 9, 18], [27, 4], [5, 6, 7, 30, 31, 12, 20]];
  const write = (file: string, make: (rows: number[]) => PlanInode) => {
    const w = new PlanWriter(file, header);
    const counters = newCounters();
    for (const rows of contents) {
      const inodes = rows.length > 3 ? [make(rows.slice(0, 2)), ...rows.slice(2).map((r) => make([r]))] : rows.map((r) => make([r]));
      planContent({ integrity: INTEGRITY, inodes }, context, counters, w);
    }
    w.finish({ files: t.length, groups: counters.group, ops: counters.op, storeEntries: counters.storeEntries, bytesReclaimable: '0', sharedInodes: 0 });
  };
  const dir = mkdtempSync(join(tmpdir(), 'hashify-rows-'));
  try {
    const byPath = (rows: number[]) => [...rows].sort((a, b) => Buffer.compare(t.path(a), t.path(b)));
    // An inode of one path has no array of rows (as planInput makes it).
    write(join(dir, 'rows.jsonl'), (rows) => new RowInode(t, stats, rows[0], rows.length > 1 ? byPath(rows) : undefined, xattrs));
    write(join(dir, 'records.jsonl'), (rows) => recordInode(t.stat(rows[0]), byPath(rows).map((r) => t.path(r)), xattrs));
    const rows = fs.readFileSync(join(dir, 'rows.jsonl'), 'utf8');
    expect(rows).toBe(fs.readFileSync(join(dir, 'records.jsonl'), 'utf8'));
    expect(rows).toContain('"path64"');
    expect(rows).toContain('\\"');
    // The link lines of a file at the root "/" and of one below it.
    expect(rows).toMatch(/"type":"link","op":\d+,"group":\d+,"path":"\/z"/);
    expect(rows).toMatch(/"type":"link","op":\d+,"group":\d+,"path":"\/r\/a\/z"/);
    if (xattrs) expect(rows).toContain('"xattrs"');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
