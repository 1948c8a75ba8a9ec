/**
 * PlanWriter writes the planner's link lines by hand from its inodes (no record, the target
 * and integrity serialised once each): every line it writes must be exactly JSON.stringify of
 * the record the planner makes for it (recordSink), for every shape the planner makes (store
 * or keeper target, copy-in or adopt, path64, xattrs, escapes, lines longer than its buffer).
 */
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planContent, newCounters, recordInode, type PlanInode, type PlannerContext, type RecordInode } from '../../src/plan/assemblePlan.js';
import { PlanWriter } from '../../src/planfile/writePlan.js';
import { PLAN_KIND, PLAN_VERSION, type BodyRecord, type HeaderRecord, type MatchOptions } from '../../src/planfile/records.js';

const INTEGRITY = 'sha256-' + Buffer.alloc(32, 0x5a).toString('base64');
const ALL: MatchOptions = { mode: true, owner: true, mtime: true, xattrs: true };
const header: HeaderRecord = {
  type: 'header', kind: PLAN_KIND, version: PLAN_VERSION, tool: 'test', created: '2026-01-01T00:00:00.000Z', roots: [{ path: '/r' }], store: { path: '/r/.hash' },
  link: 'hardlink', algorithm: 'sha256', minSize: '1', match: ALL, exclude: [], linkMax: 65000,
};

let ino = 1;
function inode(paths: Buffer[], xattrs?: Record<string, string>): RecordInode {
  return recordInode({ dev: '1', ino: String(ino++), size: '10', mode: 0o100644, uid: 0, gid: 0, nlink: paths.length, mtime: '1', ctime: '2', atime: '3' }, paths.sort(Buffer.compare), xattrs);
}

/** Plans the same contents every time into `out`: an array of records, or the writer itself. */
function records(ctx: Partial<PlannerContext>, out: BodyRecord[] | PlanWriter = []): BodyRecord[] {
  const context: PlannerContext = { store: Buffer.from('/r/.hash'), link: 'hardlink', match: ALL, linkMax: 65000, ...ctx };
  ino = 1;
  const counters = newCounters();
  // Numbers of several digits, with zeros inside.
  counters.op = 9_087_650;
  counters.group = 1009;
  const x = { 'user.a': 'AQI=' };
  const long = Buffer.from('/r/' + 'é"\\\n\t'.repeat(200_000));
  for (const inodes of [
    [inode([Buffer.from('/r/a')]), inode([Buffer.from('/r/b'), Buffer.from('/r/c')])],
    [inode([Buffer.from('/r/\xff-not-utf8', 'latin1')], x), inode([Buffer.from([0x2f, 0x72, 0x2f, 0xc3, 0x28])], x), inode([Buffer.from('/r/"q"\\\u0001')], x)],
    [inode([Buffer.from('/r/\u007f-del'), Buffer.from('/r/é'), Buffer.from('/r/~ ok')], {}), inode([Buffer.from('/r/\u2028')]), inode([Buffer.from('/r/a"b'), Buffer.from('/r/a\\b')])],
    [inode([long]), inode([Buffer.from('/r/short')])],
  ]) {
    planContent({ integrity: INTEGRITY, inodes }, context, counters, out);
  }
  return Array.isArray(out) ? out : [];
}

test.each([
  ['copy-in to a store', {}],
  ['adopt into a store', { adopt: true }],
  ['no store', { store: null }],
])('every line PlanWriter writes is JSON.stringify of its record (%s)', (_name, ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'hashify-writer-'));
  try {
    const recs = records(ctx);
    expect(recs.filter((r) => r.type === 'link' && r.path64 !== undefined).length).toBeGreaterThan(0);
    expect(recs.filter((r) => r.type === 'link' && r.xattrs !== undefined).length).toBeGreaterThan(0);
    // The planner writing into the writer (link lines from the paths' bytes).
    const w = new PlanWriter(join(dir, 'p.jsonl'), header);
    records(ctx, w);
    w.finish({ files: 0, groups: 0, ops: 0, storeEntries: 0, bytesReclaimable: '0', sharedInodes: 0 });
    const lines = fs.readFileSync(join(dir, 'p.jsonl'), 'utf8').split('\n');
    expect(lines.length).toBe(recs.length + 3); // the header, the trailer and the empty string after the last newline
    expect(lines[0]).toBe(JSON.stringify(header));
    expect(lines.slice(1, 1 + recs.length)).toEqual(recs.map((r) => JSON.stringify(r)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
