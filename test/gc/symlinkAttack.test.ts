/**
 * A store inside a guest's tree (one root: ROOT/.hash) is the guest's to change: it replaces
 * `.hash/sha256`, or one shard, with a symlink to a host directory that holds files named
 * like entries (one link each) and empty directories. gc must never remove, or even enter,
 * anything there: it walks the store's real directories by descriptor only. One test swaps a
 * shard with such a symlink in a loop (RENAME_EXCHANGE, a real racing process) while gc runs.
 */
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { fullSnapshot, makeTree, type Tree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';
import { hex, markStore, putEntry } from '../helpers/store.js';

/** A host directory that looks like a store's `sha256/` of either layout: every name an unused entry. */
function hostLikeStore(t: Tree, shard: string): string {
  const host = t.path('host');
  for (let i = 0; i < 20; i++) {
    const h = hex(`host secret ${i}\n`);
    const name = shard + h.slice(2);
    fs.mkdirSync(`${host}/sha256/${shard}/${name.slice(2, 4)}`, { recursive: true });
    fs.writeFileSync(`${host}/sha256/${shard}/${name.slice(2)}`, `host secret ${i}\n`); // layout 2 name
    fs.writeFileSync(`${host}/sha256/${shard}/${name.slice(2, 4)}/${name.slice(4)}`, `host secret ${i}\n`); // layout 1 name
  }
  fs.mkdirSync(`${host}/sha256/${shard}/empty-dir`);
  fs.mkdirSync(`${host}/sha256/ee/ff`, { recursive: true });
  return host;
}

describe('gc and a store directory replaced by a symlink', () => {
  test('a symlinked sha256/ leads gc nowhere: nothing outside the store is removed', () => {
    const t = makeTree({});
    try {
      const host = hostLikeStore(t, 'ab');
      const store = t.path('guest/.hash');
      markStore(store);
      fs.symlinkSync(`${host}/sha256`, `${store}/sha256`);
      const before = fullSnapshot(host);
      const r = hashify(['gc', store, '--json']);
      expect(r.status).toBe(0);
      expect(r.json()).toMatchObject({ removed: [], directories: 0, foreign: 1 });
      expect(fullSnapshot(host)).toEqual(before);
    } finally {
      t.cleanup();
    }
  });

  test('a shard swapped with a symlink to a host directory in a loop (RENAME_EXCHANGE) while gc runs: the host is untouched', async () => {
    const t = makeTree({});
    try {
      const store = t.path('guest/.hash');
      markStore(store);
      // Unused entries in shard `ab` and in others, so gc has work in the real directory.
      const inAb: string[] = [];
      const elsewhere: string[] = [];
      for (let i = 0; inAb.length < 5 || elsewhere.length < 10; i++) {
        const c = `guest ${i}\n`;
        if (hex(c).startsWith('ab')) inAb.push(putEntry(store, c));
        else if (elsewhere.length < 10) elsewhere.push(c);
      }
      const shard = inAb[0].replace(/\/[^/]+$/, '');
      const host = hostLikeStore(t, 'ab');
      fs.symlinkSync(`${host}/sha256/ab`, `${shard}.swap`);
      const before = fullSnapshot(host);
      const racer = spawn('python3', [
        '-c',
        `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = sys.argv[1].encode(), sys.argv[2].encode()
while True:
    libc.renameat2(-100, a, -100, b, 2)  # RENAME_EXCHANGE
`,
        shard,
        `${shard}.swap`,
      ]);
      let removed = 0;
      try {
        for (let run = 0; run < 15; run++) {
          // Unused entries in shards the racer does not touch (written before each run).
          for (const c of elsewhere) putEntry(store, c);
          const r = hashify(['gc', store, '--json']);
          expect(r.status).toBe(0);
          removed += r.json().removed.length;
        }
      } finally {
        racer.kill('SIGKILL');
        await new Promise((res) => racer.once('exit', res));
      }
      expect(removed).toBeGreaterThan(0); // gc did work in the real store meanwhile
      expect(fullSnapshot(host)).toEqual(before);
    } finally {
      t.cleanup();
    }
  }, 120000);
});
