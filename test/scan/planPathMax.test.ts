/**
 * A plan holds paths of at most PLAN_PATH_MAX bytes (the schema's limit): the scan leaves out
 * a directory below which a file's path (directory, '/', a name of at most 255 bytes) could be
 * longer, counting it unreadable with a warning, so that plan never writes a plan that show
 * and apply refuse. Building a real tree that deep costs seconds of openat2 per level, so the
 * listing here is readDir's layout written by hand.
 */
import { readFileSync } from 'node:fs';
import { takeListing, newCounts, type WalkContext } from '../../src/scan/walk.js';
import { FileTable } from '../../src/scan/fileTable.js';
import { KIND_DIR, KIND_FILE } from '../../src/scan/dirRecords.js';
import { excludeMatcher } from '../../src/scan/excludeMatcher.js';
import { PLAN_PATH_MAX } from '../../src/pathBytes.js';
import { encodeRecords, type FakeEntry } from '../helpers/dirRecords.js';

const entry = (name: string, kind: number): FakeEntry => ({
  name, kind, dev: 7n, ino: BigInt(name.length), size: 10n, mtime: 0n, ctime: 0n, atime: 0n, mode: 0o100644, uid: 0, gid: 0, nlink: 1,
});

test("the schema's path limits are PLAN_PATH_MAX bytes (path64: their base64)", () => {
  const schema = JSON.parse(readFileSync(new URL('../../schemas/plan-record.schema.json', import.meta.url), 'utf8'));
  expect(schema.definitions.path.maxLength).toBe(PLAN_PATH_MAX);
  expect(schema.definitions.path64.maxLength).toBe(4 * Math.ceil(PLAN_PATH_MAX / 3));
});

test('a subdirectory whose path leaves no room for a 255-byte name below it within PLAN_PATH_MAX is left out, counted and named', () => {
  const root = Buffer.from('/r');
  const warnings: string[] = [];
  const ctx: WalkContext = {
    roots: [root], rootFds: { fds: [-1], skip: [root.length + 1], devs: [7n] }, rootTexts: ['/r'],
    skip: [], minSize: 1n, exclude: excludeMatcher([]), warn: (m) => warnings.push(m),
  };
  // dir + '/' + 'k' is exactly PLAN_PATH_MAX - 256 bytes long: the longest kept.
  const dir = Buffer.concat([root, Buffer.from('/'), Buffer.alloc(PLAN_PATH_MAX - 256 - root.length - 3, 'd')]);
  const records = encodeRecords([entry('f', KIND_FILE), entry('k', KIND_DIR), entry('lo', KIND_DIR)]);
  const counts = newCounts();
  const table = new FileTable();
  const subdirs = takeListing({ dir, root: 0 }, records, ctx, table, counts);
  expect(subdirs.map((s) => s.dir.length)).toEqual([PLAN_PATH_MAX - 256]);
  expect(counts).toMatchObject({ files: 1, unreadable: 1 });
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/is 1048321 bytes long: a path below it may be longer than a plan holds \(1048576 bytes\); skipped$/);
});
