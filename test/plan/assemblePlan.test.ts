/**
 * The pure planner, in memory: inodes of one content in, store and link records out.
 */
import { planContent, newCounters, recordInode, type PlanContent, type PlanInode, type PlannerContext, type RecordInode } from '../../src/plan/assemblePlan.js';
import { storeEntryPath } from '../../src/store/storePath.js';
import type { BodyRecord, LinkRecord, MatchOptions, StoreRecord } from '../../src/planfile/records.js';

const STORE = Buffer.from('/r/.hash');
const INTEGRITY = 'sha256-' + Buffer.alloc(32, 0x5a).toString('base64');
const ALL: MatchOptions = { mode: true, owner: true, mtime: true, xattrs: true };

let nextIno = 1000;
function inode(
  paths: Array<string | Buffer>,
  o: { nlink?: number; mode?: number; uid?: number; gid?: number; mtime?: string; xattrs?: Record<string, string>; size?: number; storeEntry?: number } = {},
): RecordInode {
  const bytes = paths.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p)));
  const stat = {
    dev: '64768',
    ino: String(nextIno++),
    size: String(o.size ?? 100),
    mode: 0o100000 | (o.mode ?? 0o644),
    uid: o.uid ?? 1000,
    gid: o.gid ?? 1000,
    nlink: o.nlink ?? bytes.length,
    mtime: o.mtime ?? '1700000000123456789',
    ctime: '1700000000123456789',
  };
  return recordInode(stat, bytes, o.xattrs, o.storeEntry === undefined ? undefined : { path: storeEntryPath(STORE, INTEGRITY, o.storeEntry), suffix: o.storeEntry });
}

/** Plans one content; `adopt` (the keeper's own inode becomes the entry) unless ctx says otherwise. */
function plan(inodes: PlanInode[], ctx: Partial<PlannerContext> = {}, used: number[] = []) {
  const context: PlannerContext = { store: STORE, link: 'hardlink', match: ALL, linkMax: 65000, adopt: true, ...ctx };
  const content: PlanContent = { integrity: INTEGRITY, inodes, storeSuffixes: used };
  const counters = newCounters();
  const out: BodyRecord[] = [];
  planContent(content, context, counters, out);
  return { out, counters, stores: out.filter((r): r is StoreRecord => r.type === 'store'), links: out.filter((r): r is LinkRecord => r.type === 'link') };
}

const entry = (suffix: number) => storeEntryPath(STORE, INTEGRITY, suffix).toString();
/** "op group: path -> target" for every link record. */
const ops = (links: LinkRecord[]) => links.map((l) => `${l.op} ${l.group}: ${l.path} -> ${l.target.path}`);

describe('keeper rule without a store', () => {
  const noStore = { store: null };

  test('the inode with the most links is kept, even when another path sorts first', () => {
    const a = inode(['/r/a/x']);
    const z = inode(['/r/z/x', '/r/z/y']);
    const { out, links, counters } = plan([a, z], noStore);
    expect(out.every((r) => r.type === 'link')).toBe(true);
    expect(ops(links)).toEqual(['0 0: /r/a/x -> /r/z/x']);
    expect(links[0].target.stat).toBe(z.stat());
    expect(counters).toEqual({ group: 1, op: 1, storeEntries: 0, bytesReclaimable: 100n });
  });

  test('links outside the roots count: an inode with one path here but three links is kept', () => {
    const outside = inode(['/r/b/x'], { nlink: 3 });
    const two = inode(['/r/a/x', '/r/a/y']);
    const { links, counters } = plan([two, outside], noStore);
    expect(ops(links)).toEqual(['0 0: /r/a/x -> /r/b/x', '1 0: /r/a/y -> /r/b/x']);
    expect(counters.bytesReclaimable).toBe(100n);
  });

  test('between equal link counts, the first path bytewise (not by UTF-16 code units) is kept', () => {
    // U+FF5E is EF BD 9E in UTF-8, U+1F600 is F0 9F 98 80: bytewise the first one sorts first,
    // while as JS strings (UTF-16, D83D…) the emoji would.
    const fullwidth = inode(['/r/\uff5e']);
    const emoji = inode(['/r/\u{1f600}']);
    const upper = inode(['/r/Z']);
    const { links } = plan([emoji, fullwidth], noStore);
    expect(ops(links)).toEqual(['0 0: /r/\u{1f600} -> /r/\uff5e']);
    // 'Z' (0x5a) sorts before 'a' (0x61) and before any non-ASCII byte.
    const lower = inode(['/r/a']);
    const latin1 = inode([Buffer.from('/r/\xe9', 'latin1')]);
    expect(ops(plan([latin1, lower, upper], noStore).links)).toEqual(['0 0: /r/a -> /r/Z', '1 0: /r/\ufffd -> /r/Z']);
    const l1 = plan([latin1, lower, upper], noStore).links[1];
    expect(l1.path64).toBe(Buffer.from('/r/\xe9', 'latin1').toString('base64'));
  });

  test('the same inputs in any order give the same plan', () => {
    const inodes = [inode(['/r/c']), inode(['/r/a']), inode(['/r/b1', '/r/b2'], { nlink: 2 }), inode(['/r/d'])];
    const forward = ops(plan(inodes, noStore).links);
    expect(ops(plan([...inodes].reverse(), noStore).links)).toEqual(forward);
    expect(forward).toEqual(['0 0: /r/a -> /r/b1', '1 0: /r/c -> /r/b1', '2 0: /r/d -> /r/b1']);
  });
});

describe('store mode', () => {
  test('copy-in (the default): the entry is copied from the keeper, whose paths are operations too; the copy is paid from what is freed', () => {
    const keeper = inode(['/r/a/x', '/r/a/y']);
    const { stores, links, counters } = plan([inode(['/r/b/x']), keeper, inode(['/r/c/x'])], { adopt: false });
    expect(stores).toEqual([{ type: 'store', group: 0, integrity: INTEGRITY, path: entry(0), keeper: { path: '/r/a/x', stat: keeper.stat() } }]);
    expect(ops(links)).toEqual([`0 0: /r/a/x -> ${entry(0)}`, `1 0: /r/a/y -> ${entry(0)}`, `2 0: /r/b/x -> ${entry(0)}`, `3 0: /r/c/x -> ${entry(0)}`]);
    // The target's identity is the keeper's: the metadata the entry is given.
    expect(links.every((l) => l.target.stat === keeper.stat())).toBe(true);
    // Three inodes freed (300), one copy made (100).
    expect(counters).toEqual({ group: 1, op: 4, storeEntries: 1, bytesReclaimable: 200n });
  });

  test('plan --adopt: the keeper becomes a new entry (from its first path) and every other path links to the entry', () => {
    const { out, stores, links, counters } = plan([inode(['/r/b/x']), inode(['/r/a/x']), inode(['/r/c/x'])]);
    expect(out[0].type).toBe('store');
    expect(stores).toHaveLength(1);
    expect(stores[0]).toMatchObject({ group: 0, integrity: INTEGRITY, path: entry(0), from: { path: '/r/a/x' } });
    expect(ops(links)).toEqual([`0 0: /r/b/x -> ${entry(0)}`, `1 0: /r/c/x -> ${entry(0)}`]);
    expect(counters).toEqual({ group: 1, op: 2, storeEntries: 1, bytesReclaimable: 200n });
  });

  test('a new entry avoids the suffixes already used in the store', () => {
    const { stores } = plan([inode(['/r/a/x']), inode(['/r/b/x'])], {}, [0, 1, 3]);
    expect(stores.map((s) => s.path)).toEqual([entry(2)]);
  });
});

describe('metadata split', () => {
  const cases: Array<[string, Parameters<typeof inode>[1], keyof MatchOptions]> = [
    ['mode', { mode: 0o600 }, 'mode'],
    ['owner uid', { uid: 0 }, 'owner'],
    ['owner gid', { gid: 0 }, 'owner'],
    ['mtime', { mtime: '1600000000000000000' }, 'mtime'],
    ['xattrs', { xattrs: { 'security.capability': 'AQAAAg==' } }, 'xattrs'],
  ];
  test.each(cases)('a different %s gives a separate store entry with a suffix, and no link across', (_name, other, field) => {
    const a1 = inode(['/r/a/1']);
    const a2 = inode(['/r/b/1']);
    const b1 = inode(['/r/a/2'], other);
    const b2 = inode(['/r/b/2'], other);
    const { stores, links, counters } = plan([b2, a2, b1, a1]);
    // Parts are ordered by their first path: /r/a/1's part gets the first entry.
    expect(stores.map((s) => [s.group, s.path, s.from?.path])).toEqual([
      [0, entry(0), '/r/a/1'],
      [1, entry(1), '/r/a/2'],
    ]);
    expect(ops(links)).toEqual([`0 0: /r/b/1 -> ${entry(0)}`, `1 1: /r/b/2 -> ${entry(1)}`]);
    for (const l of links) expect([l.stat.mode, l.stat.uid, l.stat.gid, l.stat.mtime, l.xattrs]).toEqual([l.target.stat.mode, l.target.stat.uid, l.target.stat.gid, l.target.stat.mtime, l.target.xattrs]);
    expect(counters.storeEntries).toBe(2);
    // With that field ignored, all four are one group.
    const relaxed = plan([b2, a2, b1, a1], { match: { ...ALL, [field]: false } });
    expect(relaxed.stores).toHaveLength(1);
    expect(relaxed.links).toHaveLength(3);
  });

  test('a metadata part with a single inode gets no entry and no operation', () => {
    const { stores, links } = plan([inode(['/r/a/1']), inode(['/r/b/1']), inode(['/r/c/1'], { mode: 0o600 })]);
    expect(stores.map((s) => s.path)).toEqual([entry(0)]);
    expect(links.map((l) => l.path)).toEqual(['/r/b/1']);
  });

  test('xattrs are carried on the store record, the link and its target', () => {
    const x = { 'user.k': 'dg==' };
    const { stores, links } = plan([inode(['/r/a'], { xattrs: x }), inode(['/r/b'], { xattrs: x })]);
    expect(stores[0].xattrs).toEqual(x);
    expect(links[0].xattrs).toEqual(x);
    expect(links[0].target.xattrs).toEqual(x);
  });
});

describe('files that already share an inode', () => {
  test('one inode with several paths and nothing else: no records at all', () => {
    for (const store of [STORE, null]) {
      const { out, counters } = plan([inode(['/r/a/x', '/r/b/x', '/r/c/x'])], { store });
      expect(out).toEqual([]);
      expect(counters).toEqual(newCounters());
    }
  });

  test('the kept inode\'s own paths get no operation; another inode\'s paths move together, in order', () => {
    const kept = inode(['/r/k1', '/r/k2', '/r/k3']);
    const pair = inode(['/r/p2', '/r/p1'].sort());
    const single = inode(['/r/a']);
    const { stores, links, counters } = plan([single, pair, kept]);
    expect(stores[0]).toMatchObject({ path: entry(0), from: { path: '/r/k1' } });
    expect(links.map((l) => l.path).sort()).toEqual(['/r/a', '/r/p1', '/r/p2']);
    const p = links.filter((l) => l.path.startsWith('/r/p'));
    expect(p.map((l) => l.path)).toEqual(['/r/p1', '/r/p2']);
    expect(p[1].op).toBe(p[0].op + 1);
    expect(new Set(links.map((l) => l.group))).toEqual(new Set([0]));
    expect(counters.bytesReclaimable).toBe(200n);
  });

  test('an inode with links outside the roots is linked but not counted as reclaimable', () => {
    const { links, counters } = plan([inode(['/r/a']), inode(['/r/b'], { nlink: 2 })], { store: null });
    // /r/b has the most links and is kept: /r/a is freed.
    expect(ops(links)).toEqual(['0 0: /r/a -> /r/b']);
    expect(counters.bytesReclaimable).toBe(100n);
    const { counters: c2 } = plan([inode(['/r/a'], { nlink: 5 }), inode(['/r/b'], { nlink: 5 })], { store: null });
    expect(c2.bytesReclaimable).toBe(0n);
  });
});

describe('a file that already is a store entry', () => {
  test('is the target without a `from`, and its paths get no operation', () => {
    const existing = inode(['/r/a/x'], { nlink: 2, storeEntry: 0 });
    const { stores, links, counters } = plan([inode(['/r/b/x']), existing, inode(['/r/0/x'])], {}, [0]);
    expect(stores).toHaveLength(1);
    expect(stores[0].path).toBe(entry(0));
    expect(stores[0]).not.toHaveProperty('from');
    expect(stores[0].stat).toBe(existing.stat());
    expect(ops(links)).toEqual([`0 0: /r/0/x -> ${entry(0)}`, `1 0: /r/b/x -> ${entry(0)}`]);
    expect(counters.storeEntries).toBe(1);
  });

  test('an entry with every path already linked plans nothing', () => {
    expect(plan([inode(['/r/a/x', '/r/b/x'], { nlink: 3, storeEntry: 0 })], {}, [0]).out).toEqual([]);
  });

  test('of two existing entries with the same metadata, the one with more links is the target', () => {
    const small = inode(['/r/a/x'], { nlink: 2, storeEntry: 0 });
    const big = inode(['/r/b/x', '/r/b/y'], { nlink: 3, storeEntry: 1 });
    const { stores, links } = plan([small, big], {}, [0, 1]);
    expect(stores.map((s) => s.path)).toEqual([entry(1)]);
    expect(ops(links)).toEqual([`0 0: /r/a/x -> ${entry(1)}`]);
  });
});

describe('the link-count limit splits a group', () => {
  const five = () => [0, 1, 2, 3, 4].map((i) => inode([`/r/f${i}`]));

  test('store mode: a second entry (suffix -1) when the first is full; the store link counts', () => {
    const { stores, links } = plan(five(), { linkMax: 4 });
    // Entry 0: f0 + its store name + f1 + f2 = 4 links. Entry 1: f3 + store name + f4.
    expect(stores.map((s) => [s.group, s.path, s.from?.path])).toEqual([
      [0, entry(0), '/r/f0'],
      [1, entry(1), '/r/f3'],
    ]);
    expect(ops(links)).toEqual([`0 0: /r/f1 -> ${entry(0)}`, `1 0: /r/f2 -> ${entry(0)}`, `2 1: /r/f4 -> ${entry(1)}`]);
  });

  test('--no-store: a second keeper when the first is full', () => {
    const { links, counters } = plan(five(), { store: null, linkMax: 3 });
    expect(ops(links)).toEqual(['0 0: /r/f1 -> /r/f0', '1 0: /r/f2 -> /r/f0', '2 1: /r/f4 -> /r/f3']);
    expect(counters.group).toBe(2);
  });

  test('the links of one inode never straddle two targets, and no target passes the limit', () => {
    const inodes = [inode(['/r/a']), inode(['/r/b1', '/r/b2', '/r/b3']), inode(['/r/c']), inode(['/r/d1', '/r/d2']), inode(['/r/e'])];
    const linkMax = 4;
    const { links } = plan(inodes, { store: null, linkMax });
    const groupOf = new Map<string, Set<number>>();
    const perTarget = new Map<string, number>();
    for (const l of links) {
      const ino = l.stat.ino;
      groupOf.set(ino, (groupOf.get(ino) ?? new Set()).add(l.group));
      perTarget.set(l.target.path, (perTarget.get(l.target.path) ?? l.target.stat.nlink) + 1);
    }
    for (const groups of groupOf.values()) expect(groups.size).toBe(1);
    for (const n of perTarget.values()) expect(n).toBeLessThanOrEqual(linkMax);
    // Every inode but the keepers is linked: nothing is silently dropped.
    const keepers = new Set(links.map((l) => l.target.path));
    expect(links.length + [...keepers].length).toBeGreaterThanOrEqual(inodes.length);
    const linked = new Set(links.map((l) => l.path));
    for (const i of inodes) {
      const first = i.paths[0].toString();
      expect(keepers.has(first) || i.paths.every((p) => linked.has(p.toString()))).toBe(true);
    }
  });

  test('a full existing entry keeps its paths and a new entry takes the rest', () => {
    const full = inode(['/r/a1', '/r/a2', '/r/a3'], { nlink: 4, storeEntry: 0 });
    const { stores, links } = plan([full, inode(['/r/b']), inode(['/r/c'])], { linkMax: 4 }, [0]);
    expect(stores.map((s) => [s.path, s.from?.path])).toEqual([[entry(1), '/r/b']]);
    expect(ops(links)).toEqual([`0 0: /r/c -> ${entry(1)}`]);
  });

  test('an inode with more links than the limit allows next to a target is left alone', () => {
    const big = inode(['/r/b1', '/r/b2', '/r/b3']);
    const { links } = plan([inode(['/r/a']), big], { store: null, linkMax: 3 });
    // Keeper is the 3-link inode; /r/a would make it 4.
    expect(links).toEqual([]);
  });
});

describe('reflink mode', () => {
  const reflink = { link: 'reflink' as const, store: null };

  test('files with other hard links are never cloned over (it would split their links)', () => {
    const a = inode(['/r/a']);
    const b = inode(['/r/b1', '/r/b2']);
    const c = inode(['/r/c1', '/r/c2', '/r/c3']);
    const d = inode(['/r/d']);
    const { links } = plan([a, b, c, d], reflink);
    // Keeper: c (most links). b has two links: skipped. a and d are cloned from c.
    expect(ops(links)).toEqual(['0 0: /r/a -> /r/c1', '1 0: /r/d -> /r/c1']);
  });

  test('a single path with links outside the roots is skipped too', () => {
    const { links } = plan([inode(['/r/a']), inode(['/r/b'], { nlink: 2 }), inode(['/r/c'])], reflink);
    expect(ops(links)).toEqual(['0 0: /r/a -> /r/b', '1 0: /r/c -> /r/b']);
    const { links: l2 } = plan([inode(['/r/a'], { nlink: 2 }), inode(['/r/b'], { nlink: 3 })], reflink);
    expect(l2).toEqual([]);
  });

  test('metadata need not match (a clone keeps its own inode) and the link limit does not apply', () => {
    const inodes = [inode(['/r/a']), inode(['/r/b'], { mode: 0o600 }), inode(['/r/c'], { uid: 0 }), inode(['/r/d'], { mtime: '1' })];
    const { links, stores } = plan(inodes, { ...reflink, linkMax: 2 });
    expect(stores).toEqual([]);
    expect(ops(links)).toEqual(['0 0: /r/b -> /r/a', '1 0: /r/c -> /r/a', '2 0: /r/d -> /r/a']);
  });
});

describe('counters carry across contents', () => {
  test('groups and operations continue from the counters given', () => {
    const counters = newCounters();
    const out: BodyRecord[] = [];
    const ctx: PlannerContext = { store: null, link: 'hardlink', match: ALL, linkMax: 65000 };
    planContent({ integrity: INTEGRITY, inodes: [inode(['/r/a']), inode(['/r/b'])] }, ctx, counters, out);
    planContent({ integrity: INTEGRITY.replace('W', 'X'), inodes: [inode(['/r/c']), inode(['/r/d']), inode(['/r/e'])] }, ctx, counters, out);
    expect(out.map((r) => [r.type === 'link' ? r.op : -1, r.group])).toEqual([
      [0, 0],
      [1, 1],
      [2, 1],
    ]);
    expect(counters).toEqual({ group: 2, op: 3, storeEntries: 0, bytesReclaimable: 300n });
  });
});
