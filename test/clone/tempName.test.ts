/** The temp tree's name beside DST: fixed by DST's name, and within NAME_MAX for any DST name. */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { cloneTempName } from '../../src/clone/tempName.js';
import { hashify } from '../helpers/cli.js';
import { scratchDir } from './support.js';

test('a short name gets .NAME.hashify-clone-tmp; a long one a digest of itself, the same every time', () => {
  expect(cloneTempName(Buffer.from('web.next')).toString()).toBe('.web.next.hashify-clone-tmp');
  const long = Buffer.from('d'.repeat(250));
  const name = cloneTempName(long);
  expect(name.toString()).toMatch(/^\.[0-9a-f]{32}\.hashify-clone-tmp$/);
  expect(name.equals(cloneTempName(long))).toBe(true);
  expect(name.equals(cloneTempName(Buffer.from('e'.repeat(250))))).toBe(false);
});

test('a clone to a DST whose name leaves no room for the suffix', () => {
  const s = scratchDir();
  try {
    fs.mkdirSync(join(s.dir, 'src'));
    fs.writeFileSync(join(s.dir, 'src/f'), 'data\n');
    const dst = join(s.dir, 'd'.repeat(250));
    const ok = hashify(['clone', join(s.dir, 'src'), dst, '--json']);
    expect(ok.status).toBe(0);
    expect(fs.readFileSync(join(dst, 'f'), 'utf8')).toBe('data\n');
    expect(fs.readdirSync(s.dir).sort()).toEqual(['d'.repeat(250), 'src']);
  } finally {
    s.cleanup();
  }
});
