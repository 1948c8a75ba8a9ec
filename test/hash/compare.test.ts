/**
 * Candidate groups of large files are read side by side: one file hashed, the others compared
 * with it byte for byte; groups of small files are read whole into memory and compared there,
 * one digest per distinct content. Files that agree in size (head and tail) but differ
 * anywhere else must never be grouped, and every file grouped must really have the integrity
 * the plan gives it.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { makeTree, type Entry } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';

const sri = (b: Buffer) => `sha256-${createHash('sha256').update(b).digest('base64')}`;

/** `size` bytes of a deterministic pattern, with `patch` applied at `at`. */
function body(size: number, seed: number, at?: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) b.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ seed) >>> 0, i);
  if (at !== undefined) b[at] ^= 0x5a;
  return b;
}

interface Planned {
  links: Array<{ path: string; integrity: string; target: string }>;
}

function planOf(roots: string[], file: string): Planned {
  const r = hashify(['plan', ...roots, '-o', file, '--no-cache', '-q', '--no-store']);
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  const out: Planned = { links: [] };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const rec = JSON.parse(line);
    if (rec.type === 'link') out.links.push({ path: rec.path, integrity: rec.integrity, target: rec.target.path });
  }
  return out;
}

describe('comparing candidate groups side by side', () => {
  test('files equal in size, head and tail but different inside are never grouped; every grouped file has the integrity of its bytes', () => {
    const size = 300 * 1024; // above the whole-file limit: partial hash, then comparison
    const spec: Record<string, Entry> = {
      'a/base': body(size, 1),
      'b/base': body(size, 1),
      'c/base': body(size, 1),
      'a/middle': body(size, 1, size / 2), // same head and tail as base
      'b/middle': body(size, 1, size / 2),
      'a/early': body(size, 1, 5000), // past the 4 KiB head
      'a/late': body(size, 1, size - 5000), // before the 4 KiB tail
      'b/chunk-edge': body(size, 1, 256 * 1024), // first byte of the second compared chunk
    };
    const t = makeTree(spec);
    try {
      const p = planOf([t.path('a'), t.path('b'), t.path('c')], t.path('p.jsonl'));
      for (const l of p.links) {
        expect({ path: l.path, integrity: sri(readFileSync(l.path)) }).toEqual({ path: l.path, integrity: l.integrity });
        expect(sri(readFileSync(l.target))).toBe(l.integrity);
      }
      const linked = p.links.map((l) => l.path.slice(t.root.length + 1)).sort();
      // base: two of three linked to the keeper; middle: one linked to the other; no others.
      expect(linked).toEqual(['b/base', 'b/middle', 'c/base']);
    } finally {
      t.cleanup();
    }
  });

  test('a group larger than one comparison batch, with odd ones anywhere in it, and a split group of large files', () => {
    const size = 70 * 1024;
    const spec: Record<string, Entry> = {};
    for (let i = 0; i < 150; i++) spec[`g/f${String(i).padStart(3, '0')}`] = body(size, 7, i % 50 === 3 ? 40000 + i : undefined);
    const big = 17 * 1024 * 1024; // shared out over the threads
    for (let i = 0; i < 4; i++) spec[`big/b${i}`] = body(big, 9, i === 3 ? big - 1 : undefined);
    const t = makeTree(spec);
    try {
      const p = planOf([t.path('g'), t.path('big')], t.path('p.jsonl'));
      const odd = new Set([3, 53, 103].map((i) => `g/f${String(i).padStart(3, '0')}`));
      const linked = new Set(p.links.map((l) => l.path.slice(t.root.length + 1)));
      // 147 equal files: 146 links; the 3 odd ones differ from everything (and each other).
      expect([...linked].filter((x) => x.startsWith('g/')).length).toBe(146);
      for (const o of odd) expect(linked.has(o)).toBe(false);
      expect([...linked].filter((x) => x.startsWith('big/')).sort()).toEqual(['big/b1', 'big/b2']);
      for (const l of p.links) expect(sri(readFileSync(l.path))).toBe(l.integrity);
    } finally {
      t.cleanup();
    }
  });

  test('small files of one size with several contents, more than one batch of them: each grouped only with its equals', () => {
    const size = 3000;
    const spec: Record<string, Entry> = {};
    // 200 files of one size, five contents that differ in one byte each (first, middle, last…),
    // and one file unlike any other.
    const at = [undefined, 0, 1500, size - 1, 2048];
    for (let i = 0; i < 200; i++) spec[`s/d${i % 7}/f${String(i).padStart(3, '0')}`] = body(size, 3, at[i % 5]);
    spec['s/lonely'] = body(size, 4);
    const t = makeTree(spec);
    try {
      const p = planOf([t.path('s')], t.path('p.jsonl'));
      const byTarget = new Map<string, Set<string>>();
      for (const l of p.links) {
        const bytes = readFileSync(l.path);
        expect({ path: l.path, integrity: sri(bytes) }).toEqual({ path: l.path, integrity: l.integrity });
        expect(readFileSync(l.target).equals(bytes)).toBe(true);
        byTarget.set(l.integrity, (byTarget.get(l.integrity) ?? new Set()).add(l.path));
      }
      // Five contents, 40 files each: 39 links per content, and the lonely file never linked.
      expect([...byTarget.values()].map((s) => s.size)).toEqual([39, 39, 39, 39, 39]);
      expect(p.links.some((l) => l.path.endsWith('lonely'))).toBe(false);
    } finally {
      t.cleanup();
    }
  });
});
