// The `bigfiles` corpus: files of one size whose contents differ at the first byte or at the
// last byte (so every stage but the full hash would be fooled by a careless tool), and two
// truly identical ones.
import { existsSync, mkdirSync, rmSync, openSync, writeSync, closeSync, writeFileSync, copyFileSync, utimesSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

const [root, mb] = [process.argv[2], Number(process.argv[3])];
const mark = join(root, `.complete-${mb}`);
if (existsSync(mark)) process.exit(0);
rmSync(root, { recursive: true, force: true }); // files of another size
mkdirSync(root, { recursive: true });
const a = join(root, 'a.img');
const fd = openSync(a, 'w');
const chunk = randomBytes(1 << 20);
for (let i = 0; i < mb; i++) {
  chunk[0] = i & 255; // not one repeated MiB: every MiB differs
  writeSync(fd, chunk);
}
closeSync(fd);
const patch = (file, at) => {
  copyFileSync(a, file);
  const f = openSync(file, 'r+');
  writeSync(f, Buffer.from([0x5a]), 0, 1, at);
  closeSync(f);
};
patch(join(root, 'first-byte-differs.img'), 0);
patch(join(root, 'last-byte-differs.img'), mb * (1 << 20) - 1);
copyFileSync(a, join(root, 'identical-1.img'));
copyFileSync(a, join(root, 'identical-2.img'));
const t = new Date('2025-01-01T00:00:00Z');
for (const n of ['a.img', 'first-byte-differs.img', 'last-byte-differs.img', 'identical-1.img', 'identical-2.img']) utimesSync(join(root, n), t, t);
writeFileSync(mark, '');
console.log(`bench: bigfiles corpus written (5 x ${mb} MiB)`);
