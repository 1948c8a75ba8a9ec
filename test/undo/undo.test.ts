import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { makeTree, type Tree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';

/** Every recorded property of each file, keyed by path: what undo must give back. */
function metadata(t: Tree, rels: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of rels) {
    const st = lstatSync(t.path(r), { bigint: true });
    const attrs = execFileSync('getfattr', ['-d', '-m', '-', '--absolute-names', '-e', 'hex', t.path(r)], { encoding: 'utf8' }).split('\n').slice(1).join(' ');
    out[r] = `nlink=${st.nlink} mode=${st.mode.toString(8)} uid=${st.uid} gid=${st.gid} mtime=${st.mtimeNs} atime=${st.atimeNs} size=${st.size} ${attrs}`;
  }
  return out;
}

const mtime = new Date('2021-02-03T04:05:06.123Z');
const hasTools = (() => {
  try {
    execFileSync('getfattr', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

function guests(): Tree {
  const t = makeTree({
    'a/conf': { content: 'conf\n', xattrs: { 'user.tag': 'hello' }, mode: 0o640, uid: 65534, gid: 65534, mtime },
    'b/conf': { content: 'conf\n', xattrs: { 'user.tag': 'hello' }, mode: 0o640, uid: 65534, gid: 65534, mtime },
    'a/big': { content: 'x'.repeat(100_000), mtime },
    'b/big': { content: 'x'.repeat(100_000), mtime },
    'b/big.link': { hardlink: 'b/big' },
    'c/big': { content: 'x'.repeat(100_000), mtime },
  });
  execFileSync('setcap', ['cap_net_raw+ep', t.path('a/big')]);
  execFileSync('setcap', ['cap_net_raw+ep', t.path('b/big')]);
  execFileSync('setcap', ['cap_net_raw+ep', t.path('c/big')]);
  return t;
}
const FILES = ['a/conf', 'b/conf', 'a/big', 'b/big', 'b/big.link', 'c/big'];

(hasTools ? describe : describe.skip)('undo', () => {
  if (!hasTools) console.log('skipping undo tests: getfattr/setcap not installed');

  test('restores independent inodes with identical content and metadata, and re-shares hard links', () => {
    const t = guests();
    try {
      const before = metadata(t, FILES);
      const plan = t.path('p.plan.jsonl');
      expect(hashify(['plan', t.path('a'), t.path('b'), t.path('c'), '-o', plan, '--no-cache', '-q']).status).toBe(0);
      expect(hashify(['apply', plan, '-q']).status).toBe(0);
      expect(lstatSync(t.path('a/big')).ino).toBe(lstatSync(t.path('c/big')).ino);
      const r = hashify(['undo', plan, '--json']);
      expect(r.status).toBe(0);
      // Copy-in relinked the keepers' paths too: all six are restored.
      expect(r.json()).toMatchObject({ restored: 6, skipped: 0, failed: 0 });
      // It says which store entries it removed: the plan's, each gone from the store now.
      const removed = (r.json().removedEntries as Array<{ path: string }>).map((e) => e.path);
      const made = readFileSync(plan, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.type === 'store').map((x) => x.path);
      expect(removed.sort()).toEqual(made.sort());
      for (const e of removed) expect(existsSync(e)).toBe(false);
      expect(metadata(t, FILES)).toEqual(before);
      expect(lstatSync(t.path('b/big')).ino).toBe(lstatSync(t.path('b/big.link')).ino);
      expect(lstatSync(t.path('a/big')).ino).not.toBe(lstatSync(t.path('c/big')).ino);
      // A second undo has nothing to do.
      expect(hashify(['undo', plan, '--json']).json()).toMatchObject({ restored: 0, alreadyDone: 6 });
    } finally {
      t.cleanup();
    }
  });

  test('of a plan never applied does nothing, exits 0, and leaves the plan free to apply (no undo journal)', () => {
    const t = guests();
    try {
      const before = metadata(t, FILES);
      const plan = t.path('p.plan.jsonl');
      hashify(['plan', t.path('a'), t.path('b'), t.path('c'), '-o', plan, '--no-cache', '-q']);
      const r = hashify(['undo', plan, '--json']);
      expect(r.status).toBe(0);
      const ops = r.json().ops;
      expect(ops).toBeGreaterThan(0);
      expect(r.json()).toMatchObject({ restored: 0, alreadyDone: ops, skipped: 0, failed: 0, notReached: 0, removedEntries: [] });
      expect(hashify(['undo', plan]).stdout).toContain('never applied');
      expect(metadata(t, FILES)).toEqual(before);
      expect(existsSync(`${plan}.undo.journal`)).toBe(false);
      expect(hashify(['apply', plan, '-q']).status).toBe(0);
    } finally {
      t.cleanup();
    }
  });

  test('leaves a path that changed since apply alone and reports it (exit 3)', () => {
    const t = guests();
    try {
      const plan = t.path('p.plan.jsonl');
      hashify(['plan', t.path('a'), t.path('b'), '-o', plan, '--no-cache', '-q']);
      expect(hashify(['apply', plan, '-q']).status).toBe(0);
      // Replaced by its owner after apply: a new file at the path.
      writeFileSync(t.path('b/conf.new'), 'mine now\n');
      execFileSync('mv', [t.path('b/conf.new'), t.path('b/conf')]);
      const r = hashify(['undo', plan, '--json']);
      expect(r.status).toBe(3);
      expect(r.json().skipped).toBe(1);
      expect(execFileSync('cat', [t.path('b/conf')], { encoding: 'utf8' })).toBe('mine now\n');
    } finally {
      t.cleanup();
    }
  });

  test('killed right after any single step (HASHIFY_CRASH_AT), loses nothing, and a rerun finishes with the hard-link set whole', () => {
    let points = 0;
    for (let n = 1; n < 200; n++) {
      const t = guests();
      try {
        // Contents first: reading sets the atime, which the plan then records.
        const contents = Object.fromEntries(FILES.map((f) => [f, readFileSync(t.path(f), 'utf8')]));
        const before = metadata(t, FILES);
        const plan = t.path('p.plan.jsonl');
        expect(hashify(['plan', t.path('a'), t.path('b'), t.path('c'), '-o', plan, '--no-cache', '-q']).status).toBe(0);
        expect(hashify(['apply', plan, '-q']).status).toBe(0);
        const r = hashify(['undo', plan, '-q'], { env: { HASHIFY_CRASH_AT: String(n) } });
        if (r.signal !== 'SIGKILL') {
          expect(r.status).toBe(0);
          break;
        }
        points++;
        // Every path exists with its content after every kill.
        for (const f of FILES) expect({ n, f, content: readFileSync(t.path(f), 'utf8') }).toEqual({ n, f, content: contents[f] });
        const again = hashify(['undo', plan, '--json']);
        expect({ n, status: again.status }).toEqual({ n, status: 0 });
        // (atime aside: this test's own reads after the kill may set it on an inode already restored)
        const noAtime = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.replace(/atime=\d+ /, '')]));
        expect(noAtime(metadata(t, FILES))).toEqual(noAtime(before));
        expect(lstatSync(t.path('b/big')).ino).toBe(lstatSync(t.path('b/big.link')).ino);
        expect(new Set(['a/big', 'b/big', 'c/big'].map((f) => lstatSync(t.path(f)).ino)).size).toBe(3);
      } finally {
        t.cleanup();
      }
    }
    // Per restored path: O_TMPFILE, copy, metadata, temp link, exchange, unlink; and the entries' removal.
    expect(points).toBeGreaterThanOrEqual(20);
  }, 900_000);
});
