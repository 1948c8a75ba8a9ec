/**
 * A store entry at its link-count limit (65,000 on ext4) cannot take one more link: the clone
 * copies that file instead (a new inode with the same content and metadata) and says so.
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { hashify } from '../helpers/cli.js';
import { scratchDir, treeFacts } from './support.js';

const fsType = execFileSync('stat', ['-f', '-c', '%T', tmpdir()], { encoding: 'utf8' }).trim();
const ext4 = fsType === 'ext2/ext3';
if (!ext4) console.warn(`skipping the clone link-limit test: ${tmpdir()} is ${fsType}, not ext4 (limit 65,000 links)`);

(ext4 ? test : test.skip)('a store-backed file whose entry is at the link-count limit is copied', () => {
  const s = scratchDir();
  try {
    const g = join(s.dir, 'g');
    for (const x of ['a', 'b']) {
      fs.mkdirSync(join(g, x), { recursive: true });
      fs.writeFileSync(join(g, x, 'full'), 'an entry with 65,000 links\n');
      fs.writeFileSync(join(g, x, 'free'), 'an entry with room\n');
      execFileSync('touch', ['-d', '2022-02-02', join(g, x, 'full'), join(g, x, 'free')]);
    }
    const plan = join(s.dir, 'p.plan.jsonl');
    expect(hashify(['plan', join(g, 'a'), join(g, 'b'), '-o', plan, '--no-cache', '-q']).status).toBe(0);
    expect(hashify(['apply', plan, '-q']).status).toBe(0);
    const pad = join(s.dir, 'pad');
    fs.mkdirSync(pad);
    execFileSync('python3', ['-c', 'import os, sys\nfor i in range(65000 - os.stat(sys.argv[1]).st_nlink): os.link(sys.argv[1], f"{sys.argv[2]}/{i}")', join(g, 'a/full'), pad]);
    expect(fs.statSync(join(g, 'a/full')).nlink).toBe(65000);

    const r = hashify(['clone', join(g, 'a'), join(g, 'c'), '--json']);
    expect(r.status).toBe(0);
    expect(r.json()).toMatchObject({ linked: 1, copied: 1, atLinkLimit: 1 });
    expect(fs.statSync(join(g, 'c/full')).ino).not.toBe(fs.statSync(join(g, 'a/full')).ino);
    expect(fs.statSync(join(g, 'c/free')).ino).toBe(fs.statSync(join(g, 'a/free')).ino);
    expect(treeFacts(join(g, 'c')).entries).toEqual(treeFacts(join(g, 'a')).entries);
  } finally {
    s.cleanup();
  }
});
