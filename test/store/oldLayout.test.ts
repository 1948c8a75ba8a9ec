/**
 * A store of the old two-level layout (sha256/ab/cd/<rest>, no marker) is refused by every
 * command that would use it, with exit 2 and what to do, and nothing in it changes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fullSnapshot, makeTree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';

describe('a store of the old layout', () => {
  test('plan, apply, gc and fsck refuse it (exit 2) and say what to do', () => {
    const t = makeTree({ 'a/x': 'one\n', 'b/x': 'one\n' });
    try {
      const plan = t.path('p.plan.jsonl');
      expect(hashify(['plan', t.path('a'), t.path('b'), '-o', plan, '--no-cache', '-q']).status).toBe(0);
      const store = t.path('.hash');
      mkdirSync(`${store}/sha256/ab/cd`, { recursive: true });
      writeFileSync(`${store}/sha256/ab/cd/${'e'.repeat(60)}`, 'old entry\n');
      const before = fullSnapshot(t.root);
      for (const args of [
        ['plan', t.path('a'), t.path('b'), '-o', t.path('q.plan.jsonl'), '--no-cache', '-q'],
        ['apply', plan, '-q'],
        ['gc', store],
        ['fsck', store],
      ]) {
        const r = hashify(args);
        expect({ args: args[0], status: r.status }).toEqual({ args: args[0], status: 2 });
        expect(r.stderr).toMatch(/older hashify \(two shard levels/);
        expect(r.stderr).toMatch(/hint: undo the plans applied with it/);
      }
      // Every file keeps its inode, links, metadata and content (apply's lock files aside).
      const files = (snap: Record<string, string>) => Object.fromEntries(Object.entries(snap).filter(([k]) => !k.startsWith('lstat:') && !k.includes('.lock')));
      expect(files(fullSnapshot(t.root))).toEqual(files(before));
    } finally {
      t.cleanup();
    }
  });
});
