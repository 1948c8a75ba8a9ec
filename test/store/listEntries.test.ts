import { closeSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { makeTree } from '../helpers/tree.js';
import { markStore, putEntry, sri } from '../helpers/store.js';
import { listEntries } from '../../src/store/listEntries.js';
import { openStore } from '../../src/store/marker.js';
import { storeLookup } from '../../src/store/storeEntries.js';

function list(store: string) {
  const fd = openStore(store);
  try {
    const { entries, foreign } = listEntries(fd);
    return {
      entries: entries.map((e) => ({ rel: e.rel.toString(), integrity: e.integrity, suffix: e.suffix, nlink: e.nlink, size: Number(e.size) })),
      foreign: foreign.map((f) => `${f.kind} ${f.rel.toString()}`).sort(),
    };
  } finally {
    closeSync(fd);
  }
}

describe('listEntries', () => {
  test('yields every entry with its integrity, suffix and link count, and names everything else', () => {
    const t = makeTree({ 'host/secret': 'host\n', 'host/dir/': { dir: true } });
    try {
      const s = t.path('store');
      markStore(s);
      writeFileSync(`${s}/.hashify.lock`, '');
      const one = putEntry(s, 'one\n');
      putEntry(s, 'one\n', 2);
      putEntry(s, 'two\n');
      linkSync(one, t.path('user-of-one'));
      const shard = one.slice(0, one.lastIndexOf('/'));
      writeFileSync(`${s}/stray`, 'x');
      writeFileSync(`${shard}/not-an-entry`, 'x');
      mkdirSync(`${shard}/cd`); // the old layout's second level
      symlinkSync(t.path('host/secret'), `${shard}/${'0'.repeat(62)}`);
      symlinkSync(t.path('host'), `${s}/sha512`);
      mkdirSync(`${s}/sha256/zz`);
      symlinkSync(t.path('host/dir'), `${s}/sha256/00`);
      const r = list(s);
      const i1 = sri('one\n');
      expect(r.entries.filter((e) => e.integrity === i1)).toEqual([
        expect.objectContaining({ suffix: 0, nlink: 2, size: 4 }),
        expect.objectContaining({ suffix: 2, nlink: 1, size: 4 }),
      ]);
      expect(r.entries.map((e) => e.integrity).sort()).toEqual([i1, i1, sri('two\n')].sort());
      const rel = (p: string) => p.slice(s.length + 1);
      expect(r.foreign).toEqual(
        [
          'file stray',
          'symlink sha512',
          'directory sha256/zz',
          'symlink sha256/00',
          `file ${rel(shard)}/not-an-entry`,
          `directory ${rel(shard)}/cd`,
          `symlink ${rel(shard)}/${'0'.repeat(62)}`,
        ].sort(),
      );
    } finally {
      t.cleanup();
    }
  });

  test('a store whose sha256 directory is a symlink to a host directory yields nothing from there', () => {
    const t = makeTree({});
    try {
      const host = t.path('host');
      putEntry(host, 'host file\n'); // named like an entry, in the host directory
      const s = t.path('store');
      markStore(s);
      symlinkSync(`${host}/sha256`, `${s}/sha256`);
      expect(list(s)).toEqual({ entries: [], foreign: ['symlink sha256'] });
    } finally {
      t.cleanup();
    }
  });
});

describe('storeLookup (the planner\'s)', () => {
  test('finds a content\'s entries with their suffixes and nothing for other contents', () => {
    const t = makeTree({});
    try {
      const s = t.path('store');
      markStore(s);
      const e0 = putEntry(s, 'one\n');
      const e3 = putEntry(s, 'one\n', 3);
      putEntry(s, 'two\n');
      const lookup = storeLookup(Buffer.from(s));
      try {
        expect(lookup(sri('one\n')).map((e) => [e.path.toString(), e.suffix])).toEqual([
          [e0, 0],
          [e3, 3],
        ]);
        expect(lookup(sri('three\n'))).toEqual([]);
        expect(lookup(sri('two\n'))).toHaveLength(1);
      } finally {
        lookup.close();
      }
    } finally {
      t.cleanup();
    }
  });

  test('the algorithm directory and each shard are read once: later look-ups of absent shards touch nothing', () => {
    const t = makeTree({});
    try {
      const s = t.path('store');
      markStore(s);
      putEntry(s, 'one\n');
      const one = sri('one\n');
      const shardOf = (i: string) => Buffer.from(i.slice(7), 'base64')[0];
      let n = 0;
      let other = '';
      do other = `content ${n++}\n`;
      while (shardOf(sri(other)) === shardOf(one));
      const lookup = storeLookup(Buffer.from(s));
      try {
        expect(lookup(sri(other))).toEqual([]);
        expect(lookup(one)).toHaveLength(1);
        // Written after the first look-ups: a look-up that went to the disk again would see them.
        putEntry(s, other);
        putEntry(s, 'one\n', 1);
        expect(lookup(sri(other))).toEqual([]);
        expect(lookup(one).map((e) => e.suffix)).toEqual([0]);
      } finally {
        lookup.close();
      }
      const fresh = storeLookup(Buffer.from(s));
      expect(fresh(sri(other))).toHaveLength(1);
      expect(fresh(one).map((e) => e.suffix)).toEqual([0, 1]);
      fresh.close();
    } finally {
      t.cleanup();
    }
  });

  test('a missing store has no entries; a directory that is not a store is refused', () => {
    const t = makeTree({ 'other/file': 'x' });
    try {
      const missing = storeLookup(Buffer.from(t.path('nothing')));
      expect(missing(sri('x'))).toEqual([]);
      missing.close();
      expect(() => storeLookup(Buffer.from(t.path('other')))).toThrow(/not a hashify store/);
    } finally {
      t.cleanup();
    }
  });
});
