/**
 * File names are bytes: non-UTF-8 names, newlines, quotes, spaces, leading dashes, a
 * 255-byte component and a path of about 4000 bytes all go through plan → show → apply →
 * undo with their exact bytes, and every pair of copies ends up sharing one inode.
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, readFileSync, readdirSync } from 'node:fs';
import { makeTree, type Tree } from '../helpers/tree.js';
import { CLI, hashify, testCacheHome } from '../helpers/cli.js';

/**
 * Names relative to one copy, as latin1 strings (one char = one byte). Each has its own
 * content, so each pair of copies is its own group and one link operation.
 */
function relNames(rootLength: number): string[] {
  const names = [
    'plain',
    'bad\u00ff\u00fename', // 0xff 0xfe: not UTF-8
    'dir\u00ff\u00fe/inside', // a directory whose name is not UTF-8
    'caf\u00e9-latin1', // 0xe9 alone: not UTF-8 either
    'line\nbreak',
    'quote"double',
    "quote'single",
    'spa ced  name ',
    ' leading space',
    '-dash',
    '--double-dash',
    '-',
    'back\\slash',
    'n'.repeat(255),
  ];
  // A file whose absolute path is about 4000 bytes: nested directories of 250-byte names.
  const prefix = rootLength + '/-a/'.length;
  const leaf = 'deep-file';
  let rest = 4000 - prefix - leaf.length;
  const comps: string[] = [];
  for (let i = 0; rest > 1; i++) {
    const len = Math.min(250, rest - 1);
    comps.push(`d${i}`.padEnd(len, 'x'));
    rest -= len + 1;
  }
  names.push([...comps, leaf].join('/'));
  return names;
}

const contentOf = (rel: string) => Buffer.from(`content of ${Buffer.from(rel, 'latin1').toString('base64')}\n`);

/** Every regular file below `dir`, as latin1 relative paths (exact bytes), skipping `skip` names at the top. */
function listFiles(dir: Buffer, skip: string[] = []): string[] {
  const out: string[] = [];
  const walk = (d: Buffer, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true, encoding: 'buffer' })) {
      const name = e.name.toString('latin1');
      if (!rel && skip.includes(name)) continue;
      const p = Buffer.concat([d, Buffer.from('/'), e.name]);
      const r = rel ? `${rel}/${name}` : name;
      if (e.isDirectory()) walk(p, r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

describe('names that are bytes: non-UTF-8, newlines, quotes, spaces, dashes, 255-byte names, ~4000-byte paths', () => {
  let t: Tree;
  let names: string[];
  let plan: string;
  const bytes = (rel: string) => t.bytes(rel);
  const ino = (rel: string) => lstatSync(bytes(rel)).ino;

  beforeAll(() => {
    // Built in two steps: the long path's length depends on the temp root's.
    const probe = makeTree({});
    const rootLength = probe.root.length;
    probe.cleanup();
    names = relNames(rootLength);
    const spec: Record<string, Buffer> = {};
    for (const n of names) {
      spec[`-a/${n}`] = contentOf(n);
      spec[`-b/${n}`] = contentOf(n);
    }
    t = makeTree(spec);
    if (t.root.length !== rootLength) throw new Error('temp root length changed');
    plan = t.path('p.plan.jsonl');
  });
  afterAll(() => t?.cleanup());

  test('the tree really holds those names', () => {
    const long = names[names.length - 1];
    expect(bytes(`-a/${long}`).length).toBeGreaterThanOrEqual(3990);
    expect(bytes(`-a/${long}`).length).toBeLessThan(4096);
    expect(listFiles(Buffer.from(t.path('-a')))).toEqual([...names].sort());
    expect(listFiles(Buffer.from(t.path('-b')))).toEqual([...names].sort());
  });

  test('plan → show --json count one op per pair; the plan keeps non-UTF-8 names as path64', () => {
    const r = hashify(['plan', t.path('-a'), t.path('-b'), '-o', plan, '--json', '--no-cache']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.json()).toMatchObject({ files: 2 * names.length, groups: names.length, ops: names.length });
    const show = hashify(['show', plan, '--json']);
    expect(show.status).toBe(0);
    expect(show.json()).toMatchObject({ files: 2 * names.length, groups: names.length, ops: names.length });

    const records = readFileSync(plan, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    const withBytes = new Set<string>();
    const collect = (rec: { path?: string; path64?: string } | undefined) => {
      if (!rec || rec.path === undefined) return;
      const b = rec.path64 !== undefined ? Buffer.from(rec.path64, 'base64') : Buffer.from(rec.path, 'utf8');
      // A lossy string form must always come with path64.
      if (rec.path.includes('\ufffd')) expect(rec.path64).toBeDefined();
      if (rec.path64 !== undefined) expect(b.toString('utf8')).toBe(rec.path);
      withBytes.add(b.toString('latin1'));
    };
    for (const rec of records) {
      collect(rec);
      collect(rec.from);
      collect(rec.target);
    }
    // Every path of the tree appears in the plan with its exact bytes.
    for (const n of names) {
      expect(withBytes.has(bytes(`-a/${n}`).toString('latin1'))).toBe(true);
      expect(withBytes.has(bytes(`-b/${n}`).toString('latin1'))).toBe(true);
    }
    // The non-UTF-8 ones through path64 in particular, on the link operation.
    for (const n of ['bad\u00ff\u00fename', 'dir\u00ff\u00fe/inside', 'caf\u00e9-latin1']) {
      const want = bytes(`-b/${n}`).toString('base64');
      expect(records.some((rec) => rec.type === 'link' && rec.path64 === want)).toBe(true);
    }
    // The plan itself is UTF-8 JSON Lines: one record a line even with a newline in a name.
    expect(records[0]).toMatchObject({ type: 'header' });
    expect(records[records.length - 1]).toMatchObject({ type: 'trailer', ops: names.length });
  });

  test('apply links every pair; names and contents are unchanged byte for byte', () => {
    const before = listFiles(Buffer.from(t.root), ['.hash', 'p.plan.jsonl']);
    const r = hashify(['apply', plan, '--json']);
    expect(r.status).toBe(0);
    expect(r.json()).toMatchObject({ ops: names.length, applied: names.length, skipped: 0, failed: 0 });
    for (const n of names) {
      expect(ino(`-a/${n}`)).toBe(ino(`-b/${n}`));
      expect(readFileSync(bytes(`-a/${n}`))).toEqual(contentOf(n));
      expect(readFileSync(bytes(`-b/${n}`))).toEqual(contentOf(n));
    }
    // No name lost, added (no temp names left) or re-encoded.
    const after = listFiles(Buffer.from(t.root), ['.hash', 'p.plan.jsonl', 'p.plan.jsonl.journal']);
    expect(after).toEqual(before);
    // Distinct contents stayed distinct.
    expect(new Set(names.map((n) => ino(`-a/${n}`))).size).toBe(names.length);
  });

  test('undo gives every path its own inode again, names and contents unchanged', () => {
    const before = listFiles(Buffer.from(t.root), ['.hash', 'p.plan.jsonl', 'p.plan.jsonl.journal']);
    const r = hashify(['undo', plan, '--json']);
    expect(r.status).toBe(0);
    expect(r.json()).toMatchObject({ restored: names.length, skipped: 0, failed: 0 });
    for (const n of names) {
      expect(ino(`-a/${n}`)).not.toBe(ino(`-b/${n}`));
      expect(lstatSync(bytes(`-a/${n}`)).nlink).toBe(1);
      expect(lstatSync(bytes(`-b/${n}`)).nlink).toBe(1);
      expect(readFileSync(bytes(`-a/${n}`))).toEqual(contentOf(n));
      expect(readFileSync(bytes(`-b/${n}`))).toEqual(contentOf(n));
    }
    const after = listFiles(Buffer.from(t.root), ['.hash', 'p.plan.jsonl', 'p.plan.jsonl.journal', 'p.plan.jsonl.undo-journal']).filter(
      (p) => !p.startsWith('p.plan.jsonl'),
    );
    expect(after).toEqual(before.filter((p) => !p.startsWith('p.plan.jsonl')));
  });
});

describe('roots whose names start with a dash', () => {
  /** Runs the CLI in `cwd`, so that relative roots can start with `-`. */
  const run = (cwd: string, args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: testCacheHome() } });
    return { ...r, json: () => JSON.parse(r.stdout) };
  };

  test('given after `--` they are roots, not options', () => {
    const t = makeTree({ '-a/-x': 'dash content\n', '-b/-x': 'dash content\n', '--c/-x': 'dash content\n' });
    try {
      const r = run(t.root, ['plan', '--no-cache', '--json', '-o', 'p.plan.jsonl', '--', '-a', '-b', '--c']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.json()).toMatchObject({ files: 3, groups: 1, ops: 2 });
      const header = JSON.parse(readFileSync(t.path('p.plan.jsonl'), 'utf8').split('\n')[0]);
      expect(header.roots.map((x: { path: string }) => x.path).sort()).toEqual([t.path('--c'), t.path('-a'), t.path('-b')].sort());
      const a = run(t.root, ['apply', '--json', '--', 'p.plan.jsonl']);
      expect(a.status).toBe(0);
      expect(a.json()).toMatchObject({ applied: 2, failed: 0, skipped: 0 });
      expect(lstatSync(t.path('-a/-x')).ino).toBe(lstatSync(t.path('-b/-x')).ino);
      expect(lstatSync(t.path('-a/-x')).ino).toBe(lstatSync(t.path('--c/-x')).ino);
    } finally {
      t.cleanup();
    }
  });

  test('without `--`, a dash name is taken for an option and refused as usage (exit 2), changing nothing', () => {
    const t = makeTree({ '-a/x': 'same\n', '-b/x': 'same\n' });
    try {
      const r = run(t.root, ['plan', '--no-cache', '-o', 'p.plan.jsonl', '-a', '-b']);
      expect(r.status).toBe(2);
      expect(readdirSync(t.root).sort()).toEqual(['-a', '-b']);
    } finally {
      t.cleanup();
    }
  });
});
