import { appendFileSync, mkdirSync, openSync, closeSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { fullSnapshot, makeTree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';
import { markStore, putEntry, sri } from '../helpers/store.js';


describe('fsck', () => {
  test('a store that apply made is sound: exit 0, every entry ok', () => {
    const t = makeTree({ 'a/x': 'one\n', 'b/x': 'one\n', 'a/y': 'two\n', 'b/y': 'two\n' });
    try {
      const plan = t.path('p.plan.jsonl');
      expect(hashify(['plan', t.path('a'), t.path('b'), '-o', plan, '--no-cache', '-q']).status).toBe(0);
      expect(hashify(['apply', plan, '-q']).status).toBe(0);
      const r = hashify(['fsck', t.path('.hash'), '--json']);
      expect(r.status).toBe(0);
      expect(r.json()).toMatchObject({ store: t.path('.hash'), entries: 2, ok: 2, corrupt: [], foreign: [] });
    } finally {
      t.cleanup();
    }
  });

  test('an in-place write through a shared path is found, with its link count and (--plan) the paths that share it; nothing changes', () => {
    const t = makeTree({ 'a/x': 'one\n', 'b/x': 'one\n', 'c/x': 'one\n', 'a/y': 'two\n', 'b/y': 'two\n' });
    try {
      const plan = t.path('p.plan.jsonl');
      expect(hashify(['plan', t.path('a'), t.path('b'), t.path('c'), '-o', plan, '--no-cache', '-q']).status).toBe(0);
      expect(hashify(['apply', plan, '-q']).status).toBe(0);
      // A guest writes into its own copy: every path sharing the inode (and the entry) changes.
      const fd = openSync(t.path('b/x'), 'r+');
      writeSync(fd, 'ONE', 0);
      closeSync(fd);
      const before = fullSnapshot(t.root);
      const r = hashify(['fsck', t.path('.hash'), '--json', '--plan', plan]);
      expect(r.status).toBe(3);
      const j = r.json();
      expect(j).toMatchObject({ entries: 2, ok: 1, foreign: [] });
      expect(j.corrupt).toHaveLength(1);
      expect(j.corrupt[0]).toMatchObject({ links: 4, expected: sri('one\n'), found: sri('ONE\n') });
      expect(j.corrupt[0].entry).toMatch(new RegExp(`^${t.path('.hash')}/sha256/[0-9a-f]{2}/[0-9a-f]{62}$`));
      expect([...j.corrupt[0].paths].sort()).toEqual([t.path('a/x'), t.path('b/x'), t.path('c/x')]);
      expect(fullSnapshot(t.root)).toEqual(before);
      const text = hashify(['fsck', t.path('.hash')]);
      expect(text.status).toBe(3);
      expect(text.stdout).toMatch(/corrupt: .* \(4 links\)/);
    } finally {
      t.cleanup();
    }
  });

  test('reports what is not an entry (stray files, wrong names, symlinks, directories), never follows a symlink, and exits 0 while every entry matches its name', () => {
    const t = makeTree({ 'host/secret': 'host\n' });
    try {
      const s = t.path('store');
      markStore(s);
      const e = putEntry(s, 'content\n');
      const shard = e.slice(0, e.lastIndexOf('/'));
      writeFileSync(`${s}/stray`, 'x');
      writeFileSync(`${shard}/wrong-name`, 'x');
      mkdirSync(`${shard}/cd`);
      symlinkSync(t.path('host/secret'), `${shard}/${'0'.repeat(62)}`);
      symlinkSync(t.path('host'), `${s}/sha512`);
      const before = fullSnapshot(t.root);
      const r = hashify(['fsck', s, '--json']);
      expect(r.status).toBe(0);
      const j = r.json();
      expect(j).toMatchObject({ entries: 1, ok: 1, corrupt: [] });
      expect(j.foreign.map((f: { kind: string; path: string }) => `${f.kind} ${f.path.slice(s.length + 1)}`).sort()).toEqual(
        ['file stray', 'symlink sha512', `file ${shard.slice(s.length + 1)}/wrong-name`, `directory ${shard.slice(s.length + 1)}/cd`, `symlink ${shard.slice(s.length + 1)}/${'0'.repeat(62)}`].sort(),
      );
      expect(fullSnapshot(t.root)).toEqual(before);
    } finally {
      t.cleanup();
    }
  });

  test('hashes many entries on all threads and finds exactly the damaged ones, with progress on stderr', () => {
    const t = makeTree({});
    try {
      const s = t.path('store');
      markStore(s);
      const paths: string[] = [];
      for (let i = 0; i < 300; i++) paths.push(putEntry(s, `entry ${i}\n`.repeat(1 + (i % 50) * 100)));
      const damaged = [paths[3], paths[150], paths[299]];
      for (const p of damaged) appendFileSync(p, 'x');
      const r = hashify(['fsck', s, '--json', '--progress']);
      expect(r.status).toBe(3);
      const j = r.json();
      expect(j).toMatchObject({ entries: 300, ok: 297, foreign: [] });
      expect(j.corrupt.map((c: { entry: string; links: number }) => [c.entry, c.links]).sort()).toEqual(damaged.map((p) => [p, 1]).sort());
      expect(r.stderr).toMatch(/fsck: \d+\/300 entries/);
    } finally {
      t.cleanup();
    }
  });

  test('refuses (exit 2) a directory that is not a hashify store', () => {
    const t = makeTree({ 'd/file': 'x' });
    try {
      const r = hashify(['fsck', t.path('d')]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/not a hashify store/);
    } finally {
      t.cleanup();
    }
  });
});
