/**
 * clone links only from the store's entries: a file in the store that is not named as an
 * entry (a stray name in a shard, a file beside the shards) is no entry, so a SRC file that
 * shares its inode is copied, while the real entries next to it are still linked.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { hashify } from '../helpers/cli.js';
import { scratchDir, treeFacts } from './support.js';

/** Guests a and b below dir/guests sharing three files through the store; one of its shards. */
function hashified(dir: string): { g: string; shard: string } {
  const g = join(dir, 'guests');
  for (const guest of ['a', 'b']) {
    fs.mkdirSync(join(g, guest), { recursive: true });
    for (let i = 0; i < 3; i++) {
      fs.writeFileSync(join(g, guest, `lib${i}.so`), `shared library ${i}\n`.repeat(50));
      fs.utimesSync(join(g, guest, `lib${i}.so`), 1609459200, 1609459200); // one mtime: plan links them
    }
  }
  const plan = join(dir, 'p.plan.jsonl');
  expect(hashify(['plan', join(g, 'a'), join(g, 'b'), '-o', plan, '--no-cache', '-q']).status).toBe(0);
  expect(hashify(['apply', plan, '-q']).status).toBe(0);
  return { g, shard: join(g, '.hash/sha256', fs.readdirSync(join(g, '.hash/sha256'))[0]) };
}

describe('clone and the store naming rule', () => {
  test('a store file not named as an entry is never linked from; the entries beside it are', () => {
    const s = scratchDir();
    try {
      const { g, shard } = hashified(s.dir);
      // two files of SRC whose inodes are also stray names inside the store
      fs.writeFileSync(join(g, 'a/stray-in-shard'), 'not an entry\n');
      fs.linkSync(join(g, 'a/stray-in-shard'), join(shard, 'not-an-entry'));
      fs.writeFileSync(join(g, 'a/stray-short'), 'short name\n');
      fs.linkSync(join(g, 'a/stray-short'), join(shard, 'abc'));

      const src = join(g, 'a');
      const dst = join(g, 'a.next');
      const r = hashify(['clone', src, dst, '--json']);
      expect(r.status).toBe(0);
      expect(r.json()).toMatchObject({ linked: 3, copied: 2, entries: 5 });
      expect(treeFacts(dst).entries).toEqual(treeFacts(src).entries);
      for (const rel of ['stray-in-shard', 'stray-short']) expect(fs.statSync(join(dst, rel)).ino).not.toBe(fs.statSync(join(src, rel)).ino);
      for (let i = 0; i < 3; i++) expect(fs.statSync(join(dst, `lib${i}.so`)).ino).toBe(fs.statSync(join(src, `lib${i}.so`)).ino);
    } finally {
      s.cleanup();
    }
  });

  // alone in a store (nothing else out of rule), each of these is still no entry
  test.each([
    ['hex digits, too few', 'abc'],
    ['hex digits, one too few', '0'.repeat(61)],
    ['a digest with a suffix no entry has', `${'0'.repeat(62)}-0`],
  ])('a stray name alone in a shard: %s', (_what, name) => {
    const s = scratchDir();
    try {
      const { g, shard } = hashified(s.dir);
      fs.writeFileSync(join(g, 'a/stray'), 'not an entry\n');
      fs.linkSync(join(g, 'a/stray'), join(shard, name));
      const r = hashify(['clone', join(g, 'a'), join(g, 'a.next'), '--json']);
      expect(r.status).toBe(0);
      expect(r.json()).toMatchObject({ linked: 3, copied: 1 });
      expect(fs.statSync(join(g, 'a.next/stray')).ino).not.toBe(fs.statSync(join(g, 'a/stray')).ino);
    } finally {
      s.cleanup();
    }
  });
});
