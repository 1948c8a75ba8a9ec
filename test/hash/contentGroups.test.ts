/**
 * The groups of identical content as ranges of one array: ordered by integrity text, each
 * naming its own digest, also after rows are left out (the xattrs step drops unreadable ones).
 */
import { createHash } from 'node:crypto';
import { FileTable } from '../../src/scan/fileTable.js';
import { DirRecords } from '../../src/scan/dirRecords.js';
import { DigestSet } from '../../src/hash/digestSet.js';
import { ContentGroups } from '../../src/hash/contentGroups.js';
import { linkDomains } from '../../src/hash/statGroups.js';
import { integrityOf } from '../../src/integrity.js';
import { encodeRecords } from '../helpers/dirRecords.js';

const digest = (k: number) => createHash('sha256').update(`content ${k}`).digest();

/** Rows 0..n-1 on one device; row i has content i % contents, except rows marked -1. */
function setup(n: number, contents: number) {
  const t = new FileTable();
  t.roots = { fds: [-1], skip: [1], devs: [5n] };
  const d = t.addDir(Buffer.from('/r'), 0);
  const entries = Array.from({ length: n }, (_, i) => ({ name: `f${i}`, dev: 5n, ino: BigInt(i + 1), size: 1n, mtime: 1n, ctime: 1n, atime: 1n, mode: 0o100644, uid: 0, gid: 0, nlink: 1 }));
  const rec = new DirRecords(encodeRecords(entries));
  while (rec.next()) t.addRecord(d, rec);
  const set = new DigestSet(32, 4);
  const ids = Int32Array.from({ length: n }, (_, i) => (i % 7 === 6 ? -1 : set.intern(digest(i % contents))));
  return { t, set, ids };
}

test('groups come in integrity order, each with its own integrity and rows, also after rows are dropped', () => {
  const { t, set, ids } = setup(200, 9);
  const groups = ContentGroups.of(t, set, ids, 'sha256');
  set.freeze();
  const expected = (rows: number[]) => integrityOf('sha256', digest(rows[0] % 9));
  const check = () => {
    const texts: string[] = [];
    for (let g = 0; g < groups.count; g++) {
      const rows = Array.from(groups.members(g));
      expect(rows.length).toBeGreaterThanOrEqual(2);
      expect(new Set(rows.map((r) => r % 9)).size).toBe(1);
      expect(groups.integrity(g)).toBe(expected(rows));
      texts.push(groups.integrity(g));
    }
    expect(texts).toEqual([...texts].sort());
    return texts;
  };
  expect(check()).toHaveLength(9);
  // Leave all rows of the first group but one (the group goes) and one row of another.
  const first = Array.from(groups.members(0));
  const dropped = new Set([...first.slice(1), Array.from(groups.members(3))[0]]);
  groups.without(dropped);
  const after = check();
  expect(after).toHaveLength(8);
  expect(after).not.toContain(expected(first));
});

test('a content on two devices is two groups for hard links, one for clones (linkDomains acrossDevices)', () => {
  const t = new FileTable();
  t.roots = { fds: [-1, -1], skip: [1, 1], devs: [5n, 6n] };
  for (const [r, dev] of [5n, 6n].entries()) {
    const d = t.addDir(Buffer.from(`/r${r}`), r);
    const entries = [1, 2].map((i) => ({ name: `f${i}`, dev, ino: BigInt(i), size: 1n, mtime: 1n, ctime: 1n, atime: 1n, mode: 0o100644, uid: 0, gid: 0, nlink: 1 }));
    const rec = new DirRecords(encodeRecords(entries));
    while (rec.next()) t.addRecord(d, rec);
  }
  const set = new DigestSet(32, 4);
  const ids = Int32Array.from({ length: 4 }, () => set.intern(digest(0)));
  const members = (g: ContentGroups) => Array.from({ length: g.count }, (_, k) => Array.from(g.members(k)).sort());
  expect(members(ContentGroups.of(t, set, ids, 'sha256'))).toEqual([[0, 1], [2, 3]]);
  expect(members(ContentGroups.of(t, set, ids, 'sha256', linkDomains(t, true)))).toEqual([[0, 1, 2, 3]]);
});
