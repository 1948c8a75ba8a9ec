/**
 * The prelink detector reads ELF section headers through a descriptor: a `.gnu.prelink_undo`
 * section marks a prelinked file; any other ELF file, a text file, an empty file or a
 * truncated or lying header is simply not prelinked (never an exception).
 */
import * as fs from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { makeTree, type Tree } from '../helpers/tree.js';
import { isPrelinked } from '../../src/memory/prelink.js';

let tree: Tree;
afterEach(() => tree?.cleanup());

function check(path: string): boolean {
  const fd = fs.openSync(path, 'r');
  try {
    return isPrelinked(fd);
  } finally {
    fs.closeSync(fd);
  }
}

const objcopy = spawnSync('objcopy', ['--version'], { stdio: 'ignore' }).status === 0;
if (!objcopy) console.warn('skipping the prelinked-ELF case: objcopy is not installed');

test('an ELF file without a .gnu.prelink_undo section is not prelinked', () => {
  expect(check('/bin/true')).toBe(false);
});

(objcopy ? test : test.skip)('an ELF file with a .gnu.prelink_undo section is prelinked (a 32-bit one too)', () => {
  tree = makeTree({ undo: 'the original bytes\n' });
  const out = tree.path('prelinked');
  execFileSync('objcopy', ['--add-section', `.gnu.prelink_undo=${tree.path('undo')}`, '/bin/true', out]);
  expect(check(out)).toBe(true);
  // Another section name of the same length is not enough.
  execFileSync('objcopy', ['--add-section', `.gnu.prelink_undx=${tree.path('undo')}`, '/bin/true', tree.path('other')]);
  expect(check(tree.path('other'))).toBe(false);
  const r = spawnSync('objcopy', ['-O', 'elf32-i386', out, tree.path('elf32')], { stdio: 'ignore' });
  if (r.status === 0) expect(check(tree.path('elf32'))).toBe(true);
  else console.warn('prelink test: this objcopy cannot write elf32-i386; the 32-bit case is not checked');
});

test('text, empty, truncated and lying files are not prelinked and do not throw', () => {
  const elf = fs.readFileSync('/bin/true');
  const lying = Buffer.from(elf.subarray(0, 64));
  lying.writeBigUInt64LE(0xffffffffn, 0x28); // section headers far past the end
  tree = makeTree({ text: 'hello\n', empty: '', truncated: elf.subarray(0, 40), header: elf.subarray(0, 64), lying });
  for (const f of ['text', 'empty', 'truncated', 'header', 'lying']) expect(check(tree.path(f))).toBe(false);
});
