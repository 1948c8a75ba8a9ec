import { existsSync, mkdirSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { fullSnapshot, makeTree } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';

function entries(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${d}/${e.name}`);
      else if (!e.name.startsWith('.') && e.name !== 'hashify-store.json') out.push(`${d}/${e.name}`);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

describe('gc', () => {
  test('removes exactly the entries no file uses, and --dry-run removes nothing', () => {
    const t = makeTree({ 'a/x': 'one\n', 'b/x': 'one\n', 'a/y': 'two\n', 'b/y': 'two\n' });
    try {
      const plan = t.path('p.plan.jsonl');
      hashify(['plan', t.path('a'), t.path('b'), '-o', plan, '--no-cache', '-q']);
      expect(hashify(['apply', plan, '-q']).status).toBe(0);
      const store = t.path('.hash');
      expect(entries(store)).toHaveLength(2);
      for (const p of ['a/y', 'b/y']) unlinkSync(t.path(p));
      const dry = hashify(['gc', store, '--dry-run', '--json']);
      expect(dry.status).toBe(0);
      expect(dry.json().removed).toHaveLength(1);
      const orphan = dry.json().removed[0];
      expect(entries(store)).toHaveLength(2);
      const r = hashify(['gc', store, '--json']);
      expect(r.status).toBe(0);
      expect(r.json()).toMatchObject({ removed: [orphan], bytes: 4 });
      expect(entries(store)).toHaveLength(1);
      expect(readdirSync(t.path('a'))).toEqual(['x']);
    } finally {
      t.cleanup();
    }
  });

  test('prints each removed path on its own line', () => {
    const t = makeTree({ 'a/x': 'one\n', 'b/x': 'one\n' });
    try {
      const plan = t.path('p.plan.jsonl');
      hashify(['plan', t.path('a'), t.path('b'), '-o', plan, '--no-cache', '-q']);
      hashify(['apply', plan, '-q']);
      unlinkSync(t.path('a/x'));
      unlinkSync(t.path('b/x'));
      const r = hashify(['gc', t.path('.hash')]);
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toContain('/.hash/sha256/');
    } finally {
      t.cleanup();
    }
  });

  test('refuses (exit 2) a directory that is not a hashify store, and removes nothing from it', () => {
    const t = makeTree({ 'd/sha256/ab/cd/': { dir: true }, 'd/sha256/ee/': { dir: true }, [`d/sha256/ab/${'0'.repeat(62)}`]: 'x' });
    try {
      const before = fullSnapshot(t.path('d'));
      const r = hashify(['gc', t.path('d')]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/not a hashify store|older hashify/);
      expect(fullSnapshot(t.path('d'))).toEqual(before);
    } finally {
      t.cleanup();
    }
  });

  test('exits 4 while another hashify holds the store lock', () => {
    const t = makeTree({ 'a/x': 'one\n' });
    try {
      const store = t.path('.hash');
      hashify(['plan', t.path('a'), '-o', t.path('p.plan.jsonl'), '-q']);
      mkdirSync(store, { recursive: true });
      writeFileSync(`${store}/hashify-store.json`, '{"kind":"hashify-store","layout":2}\n');
      // A lock held by a live process (this one): pid and its start time, as hashify writes them.
      const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
      writeFileSync(`${store}/.hashify.lock`, `${process.pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}\n`);
      const r = hashify(['gc', store]);
      expect(r.status).toBe(4);
      expect(r.stderr).toMatch(/locked/);
    } finally {
      t.cleanup();
    }
  });
});

