// The `million` corpus: N small files (default 1,000,000) in 1,000 directories, in groups
// of ten identical files, each a distinct inode. Deterministic.
import { existsSync, mkdirSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

const [root, n] = [process.argv[2], Number(process.argv[3])];
const mark = join(root, `.complete-${n}`);
if (existsSync(mark)) process.exit(0);
rmSync(root, { recursive: true, force: true }); // a corpus of another size, or half written
const perDir = 1000;
const t = new Date('2024-01-01T00:00:00Z');
for (let d = 0; d * perDir < n; d++) {
  const dir = join(root, `d${d}`);
  mkdirSync(dir, { recursive: true });
  for (let f = 0; f < perDir && d * perDir + f < n; f++) {
    const p = join(dir, `file-${f}.txt`);
    writeFileSync(p, `content ${(d * perDir + f) % Math.ceil(n / 10)}\n` + '\n'.repeat(f % 7));
    utimesSync(p, t, t);
  }
}
writeFileSync(mark, '');
console.log(`bench: million corpus written (${n} files)`);
