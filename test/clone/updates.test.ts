/**
 * What an update inside DST may do to SRC: nothing, when files are replaced by rename (the way
 * package managers install) or when a copied file is written in place. The one hazard is an
 * in-place write to a store-backed file: it is one inode with SRC's and the store's, as with
 * every hard link (the README says so; this test shows it).
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { hashify } from '../helpers/cli.js';
import { scratchDir, treeFacts } from './support.js';

function setup(dir: string): { src: string; dst: string } {
  const g = join(dir, 'g');
  for (const x of ['a', 'b']) {
    fs.mkdirSync(join(g, x, 'usr/bin'), { recursive: true });
    fs.mkdirSync(join(g, x, 'etc'), { recursive: true });
    fs.writeFileSync(join(g, x, 'usr/bin/tool'), 'the same program\n'.repeat(100));
    fs.writeFileSync(join(g, x, 'etc/config'), `config of ${x}\n`);
  }
  fs.linkSync(join(g, 'a/etc/config'), join(g, 'a/etc/config.hardlink'));
  execFileSync('touch', ['-d', '2022-02-02', join(g, 'a/usr/bin/tool'), join(g, 'b/usr/bin/tool')]);
  const plan = join(dir, 'p.plan.jsonl');
  expect(hashify(['plan', join(g, 'a'), join(g, 'b'), '-o', plan, '--no-cache', '-q']).status).toBe(0);
  expect(hashify(['apply', plan, '-q']).status).toBe(0);
  const src = join(g, 'a');
  const dst = join(g, 'a.next');
  expect(hashify(['clone', src, dst]).status).toBe(0);
  return { src, dst };
}

const sha = (p: string) => createHash('sha256').update(fs.readFileSync(p)).digest('hex');

describe('updates inside a clone', () => {
  test('an append in place to a copied file, and a rename over a store-backed file, leave SRC byte-identical', () => {
    const s = scratchDir();
    try {
      const { src, dst } = setup(s.dir);
      treeFacts(src);
      const before = treeFacts(src);
      const tool = fs.statSync(join(src, 'usr/bin/tool'), { bigint: true });
      expect(fs.statSync(join(dst, 'usr/bin/tool'), { bigint: true }).ino).toBe(tool.ino);

      fs.appendFileSync(join(dst, 'etc/config'), 'upgraded\n');
      fs.appendFileSync(join(dst, 'etc/config.hardlink'), 'twice\n'); // the copy keeps SRC's hard-link set
      expect(fs.readFileSync(join(dst, 'etc/config'), 'utf8')).toBe('config of a\nupgraded\ntwice\n');
      fs.writeFileSync(join(dst, 'usr/bin/.tool.dpkg-new'), 'version 2\n');
      fs.renameSync(join(dst, 'usr/bin/.tool.dpkg-new'), join(dst, 'usr/bin/tool'));

      expect(treeFacts(src)).toEqual(before);
      expect(fs.readFileSync(join(src, 'etc/config'), 'utf8')).toBe('config of a\n');
      expect(sha(join(src, 'usr/bin/tool'))).toBe(sha(join(s.dir, 'g/b/usr/bin/tool')));
      expect(fs.statSync(join(src, 'usr/bin/tool'), { bigint: true }).nlink).toBe(tool.nlink - 1n); // the entry, a and b again
    } finally {
      s.cleanup();
    }
  });

  test('the hazard: an in-place write to a store-backed file in DST reaches SRC (one inode)', () => {
    const s = scratchDir();
    try {
      const { src, dst } = setup(s.dir);
      fs.appendFileSync(join(dst, 'usr/bin/tool'), 'patched in place\n');
      expect(fs.readFileSync(join(src, 'usr/bin/tool'), 'utf8')).toMatch(/patched in place\n$/);
    } finally {
      s.cleanup();
    }
  });
});
