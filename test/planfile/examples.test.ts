/**
 * The reviewed example plans in plans/ are valid plans of the current format, as `hashify show`
 * sees them (JSON, schema, rules, trailer totals and integrity), and still show what
 * plans/README.md says they show. When the format changes, regenerate them with
 * plans/regenerate.sh.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { makeTree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';
import { openPlan } from '../../src/planfile/readPlan.js';
import { decodePath } from '../../src/pathBytes.js';
import type { LinkRecord, PlanRecord, StoreRecord } from '../../src/planfile/records.js';

const PLANS = fileURLToPath(new URL('../../plans/', import.meta.url));
const files = fs.readdirSync(PLANS).filter((n) => n.endsWith('.jsonl')).sort();
const sri = (bytes: Buffer) => 'sha256-' + createHash('sha256').update(bytes).digest('base64');

/** Validates like `show` does and returns every record. */
function readValid(name: string): { records: PlanRecord[]; digest: string } {
  const plan = openPlan(join(PLANS, name));
  try {
    return { records: [...plan.records()], digest: plan.digest };
  } finally {
    plan.close();
  }
}

const links = (records: PlanRecord[]) => records.filter((r): r is LinkRecord => r.type === 'link');
const stores = (records: PlanRecord[]) => records.filter((r): r is StoreRecord => r.type === 'store');
const tail = (rec: { path: string; path64?: string }) => decodePath(rec).toString('latin1').replace(/^\/tmp\/hashify-examples\/[^/]+\//, '');

describe('example plans in plans/', () => {
  test('the three documented examples are there', () => {
    expect(files).toEqual(expect.arrayContaining(['store.plan.jsonl', 'no-store.plan.jsonl', 'metadata-split.plan.jsonl']));
  });

  test.each(files)('%s is valid for the reader, and show --json exits 0 with its digest', (name) => {
    const bytes = fs.readFileSync(join(PLANS, name));
    const { records, digest } = readValid(name);
    expect(digest).toBe(sri(bytes));
    expect(links(records).length).toBeGreaterThan(0);
    const r = hashify(['show', join(PLANS, name), '--json']);
    expect([r.stderr, r.status]).toEqual(['', 0]);
    expect(r.json()).toMatchObject({ digest, ops: links(records).length });
  });

  test('store.plan.jsonl: guest1 keeps (the entries are copied from it), both guests are linked to the store, hostname is left alone', () => {
    const { records } = readValid('store.plan.jsonl');
    const header = records[0];
    expect(header).toMatchObject({ type: 'header', store: { path: '/tmp/hashify-examples/store/.hash' }, link: 'hardlink' });
    const s = stores(records);
    expect(s.map((r) => tail(r.keeper!)).sort()).toEqual(['guest1/etc/os-release', 'guest1/usr/bin/hello', 'guest1/usr/share/doc/hello/README']);
    expect(s.every((r) => r.path.startsWith('/tmp/hashify-examples/store/.hash/sha256/'))).toBe(true);
    expect(links(records).map((r) => tail(r)).sort()).toEqual(['guest1/etc/os-release', 'guest1/usr/bin/hello', 'guest1/usr/share/doc/hello/README', 'guest2/etc/os-release', 'guest2/usr/bin/hello', 'guest2/usr/share/doc/hello/README']);
  });

  test('no-store.plan.jsonl: the inode with the most links is the keeper, then the first path bytewise', () => {
    const { records } = readValid('no-store.plan.jsonl');
    expect(records[0]).toMatchObject({ type: 'header', store: null });
    expect(stores(records)).toEqual([]);
    const pairs = links(records).map((r) => [tail(r), tail(r.target), r.target.stat.nlink]);
    expect(pairs).toEqual(
      expect.arrayContaining([
        ['build1/lib/libfoo.so', 'build2/lib/libfoo.so', 2],
        ['build2/include/foo.h', 'build1/include/foo.h', 1],
      ]),
    );
    expect(pairs).toHaveLength(2);
  });

  test('metadata-split.plan.jsonl: one content, two modes, two store entries; a non-UTF-8 name with path64', () => {
    const { records } = readValid('metadata-split.plan.jsonl');
    const s = stores(records);
    const byIntegrity = new Map<string, StoreRecord[]>();
    for (const r of s) byIntegrity.set(r.integrity, [...(byIntegrity.get(r.integrity) ?? []), r]);
    const split = [...byIntegrity.values()].find((list) => list.length === 2)!;
    expect(split).toBeDefined();
    expect(split.map((r) => (r.stat ?? r.keeper!.stat).mode & 0o7777).sort()).toEqual([0o644, 0o755]);
    expect(split[1].path).toBe(split[0].path + '-1');
    for (const l of links(records)) expect(l.stat.mode).toBe(l.target.stat.mode);
    const latin1 = links(records).find((l) => l.path64 !== undefined && l.path.includes('/b/'))!;
    expect(latin1).toBeDefined();
    expect(decodePath(latin1)).toEqual(Buffer.from('/tmp/hashify-examples/metadata/b/data/caf\xe9.txt', 'latin1'));
    expect(latin1.path).toContain('\ufffd');
  });
});

describe('show does not need the files a plan names', () => {
  test('a plan of a tree that was removed since still shows with exit 0', () => {
    const t = makeTree({ 'a/x': 'gone\n', 'b/x': 'gone\n' });
    const plan = join(fs.mkdtempSync(join(tmpdir(), 'hashify-examples-test-')), 'p.plan.jsonl');
    try {
      expect(hashify(['plan', t.path('a'), t.path('b'), '-o', plan, '--no-cache', '-q']).status).toBe(0);
      t.cleanup();
      expect(fs.existsSync(t.root)).toBe(false);
      const r = hashify(['show', plan, '--json']);
      expect([r.stderr, r.status]).toEqual(['', 0]);
      expect(r.json()).toMatchObject({ ops: 2, groups: 1 });
    } finally {
      t.cleanup();
      fs.rmSync(join(plan, '..'), { recursive: true, force: true });
    }
  });
});
