// The `usr-small` corpus: 3 copies of a /usr-like tree of 20,000 small text-like files
// (0.1–20 KiB), many of them duplicated inside the tree too. Deterministic.
import { existsSync, mkdirSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2];
if (existsSync(join(root, '.complete-v2'))) process.exit(0);
rmSync(root, { recursive: true, force: true }); // an older or half-written corpus
// mulberry32: a 32-bit generator in integer arithmetic (an LCG in doubles loses precision
// and cycles after a few values).
let seed = 7;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
};
const words = ['lib', 'usr', 'share', 'config', 'value', 'option', 'package', 'version', 'debian', 'license', 'copyright'];
const text = (bytes) => {
  let s = '';
  while (s.length < bytes) s += `${words[Math.floor(rand() * words.length)]} ${Math.floor(rand() * 1000)}\n`;
  return s.slice(0, bytes);
};
const contents = Array.from({ length: 12000 }, () => text(100 + Math.floor(rand() ** 2 * 20000)));
const mtime = new Date('2025-01-01T00:00:00Z');
const files = Array.from({ length: 20000 }, (_, i) => [`share/p${i % 400}/d${i % 13}/f${i}.txt`, contents[Math.floor(rand() * contents.length)]]);
for (let copy = 0; copy < 3; copy++) {
  for (const [rel, body] of files) {
    const p = join(root, `copy${copy}`, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, body);
    utimesSync(p, mtime, mtime);
  }
}
writeFileSync(join(root, '.complete-v2'), '');
console.log(`bench: usr-small corpus written (${3 * files.length} files)`);
