/**
 * The hash cache file may be the user's: a file that is not a hashify cache is never
 * overwritten (exit 2, before any work), directories are created only for the default
 * location, and no temp file is left behind.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { makeTree } from '../helpers/tree.js';
import { hashify, testCacheHome } from '../helpers/cli.js';

const t = makeTree({ 'a/x': 'same\n', 'b/x': 'same\n' });
afterAll(() => t.cleanup());
const plan = (extra: string[], env: Record<string, string> = {}) => hashify(['plan', t.path('a'), t.path('b'), '-o', t.path('p.plan.jsonl'), ...extra], { env });

test('--cache naming a text file: exit 2, the file unchanged, no plan written', () => {
  fs.writeFileSync(t.path('notes.txt'), 'my notes\n');
  const r = plan(['--cache', t.path('notes.txt')]);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/not a hashify hash cache/);
  expect(fs.readFileSync(t.path('notes.txt'), 'utf8')).toBe('my notes\n');
  expect(fs.existsSync(t.path('p.plan.jsonl'))).toBe(false);
});

test('--cache naming a directory: exit 2, and no DIR.tmp-PID left', () => {
  fs.mkdirSync(t.path('cachedir'));
  const r = plan(['--cache', t.path('cachedir')]);
  expect(r.status).toBe(2);
  expect(fs.readdirSync(t.root).filter((n) => n.startsWith('cachedir.tmp'))).toEqual([]);
});

test('--cache in a missing directory: exit 2, and the directory is not created', () => {
  const r = plan(['--cache', t.path('nowhere/deeper/c.msgpack')]);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/does not exist/);
  expect(fs.existsSync(t.path('nowhere'))).toBe(false);
});

test('--cache FILE in an existing directory is made, then used: the second plan reads nothing', () => {
  const c = t.path('c.msgpack');
  expect(plan(['--cache', c, '-q']).status).toBe(0);
  expect(fs.existsSync(c)).toBe(true);
  const again = plan(['--cache', c, '--json']);
  expect(again.status).toBe(0);
  expect(again.json()).toMatchObject({ bytesRead: 0, cacheHits: 2 });
  expect(fs.readdirSync(t.root).filter((n) => n.includes('.tmp-'))).toEqual([]);
});

test('the default location is created with its directories', () => {
  const home = join(testCacheHome(), 'xdg');
  const r = plan(['-q'], { XDG_CACHE_HOME: home });
  expect(r.status).toBe(0);
  expect(fs.statSync(join(home, 'hashify', 'hashes.msgpack')).isFile()).toBe(true);
});
