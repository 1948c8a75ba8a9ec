/**
 * `plan`'s options are checked before any work (exit 2, nothing written), and each option
 * does what its help says: one GLOB per --exclude, sizes with suffixes, -q without progress.
 */
import * as fs from 'node:fs';
import { makeTree, snapshot } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';

const tree = () =>
  makeTree({
    'a/keep/x': 'same content\n',
    'b/keep/x': 'same content\n',
    'a/dir1/y': 'other content\n',
    'b/dir1/y': 'other content\n',
    'a/big': 'k'.repeat(5000),
    'b/big': 'k'.repeat(5000),
  });

describe('plan refuses bad options with exit 2 before it scans', () => {
  const t = tree();
  afterAll(() => t.cleanup());
  const cases: Array<[string, string[], RegExp]> = [
    ['--store together with --no-store', ['--store', 'x', '--no-store'], /--store DIR and --no-store cannot be given together/],
    ['--cache together with --no-cache', ['--cache', 'c', '--no-cache'], /--cache DIR and --no-cache/],
    ['--threads abc', ['--threads', 'abc'], /--threads must be a whole number of at least 1/],
    ['--threads 0', ['--threads', '0'], /--threads must be a whole number of at least 1/],
    ['--link-max 1', ['--link-max', '1'], /--link-max must be a whole number of at least 2/],
    ['--min-size -1', ['--min-size=-1'], /--min-size must be a size in bytes/],
    ['--min-size 4x', ['--min-size', '4x'], /--min-size must be a size in bytes/],
    ['--min-size beyond 64 bits', ['--min-size', '20000000000G'], /--min-size must be at most 2\^64 - 1 bytes/],
    ['an unbalanced glob', ['--exclude', '['], /--exclude "\[" is not a valid glob/],
    ['an empty range glob', ['--exclude', '[z-a]'], /is not a valid glob/],
    ['-o given twice', ['-o', 'other.plan.jsonl'], /--output was given more than once/],
  ];
  test.each(cases)('%s', (_name, extra, message) => {
    const before = snapshot(t.root);
    const r = hashify(['plan', t.path('a'), t.path('b'), '-o', t.path('p.plan.jsonl'), '--no-cache', ...extra]);
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(2);
    expect(snapshot(t.root)).toEqual(before);
  });

  test('show --top abc is refused', () => {
    const r = hashify(['show', t.path('nothing.plan.jsonl'), '--top', 'abc']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--top must be a whole number/);
  });

  test('apply --expect with something that is not a digest says so', () => {
    const p = t.path('d.plan.jsonl');
    expect(hashify(['plan', t.path('a'), t.path('b'), '-o', p, '--no-cache', '-q']).status).toBe(0);
    const before = snapshot(t.root);
    const r = hashify(['apply', p, '--expect', 'deadbeef']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/"deadbeef" is not a digest/);
    expect(snapshot(t.root)).toEqual(before);
  });
});

describe('option values', () => {
  const t = tree();
  afterAll(() => t.cleanup());

  test('--exclude takes one GLOB per use: roots after it stay roots, and what it matches is not planned', () => {
    const p = t.path('e.plan.jsonl');
    const r = hashify(['plan', '--exclude', 'dir1/**', t.path('a'), '--exclude', 'big', t.path('b'), '-o', p, '--no-cache', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // Copy-in (the default): the keeper's path is an operation too.
    expect(r.json()).toMatchObject({ ops: 2, groups: 1 });
    const text = fs.readFileSync(p, 'utf8');
    expect(text).toContain('keep/x');
    expect(text).not.toContain('dir1/y');
    expect(text).not.toContain('/big');
    expect(JSON.parse(text.split('\n')[0]).exclude).toEqual(['dir1/**', 'big']);
  });

  test('--min-size takes suffixes: 4k leaves out the files under 4096 bytes', () => {
    const r = hashify(['plan', t.path('a'), t.path('b'), '-o', t.path('m.plan.jsonl'), '--no-cache', '--json', '--min-size', '4k']);
    expect(r.status).toBe(0);
    expect(r.json().ops).toBe(2);
    expect(fs.readFileSync(t.path('m.plan.jsonl'), 'utf8')).not.toContain('keep/x');
    expect(JSON.parse(fs.readFileSync(t.path('m.plan.jsonl'), 'utf8').split('\n')[0]).minSize).toBe('4096');
  });

  test('-q prints nothing, not even progress asked for by a terminal', () => {
    const r = hashify(['plan', t.path('a'), t.path('b'), '-o', t.path('q.plan.jsonl'), '--no-cache', '-q']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
  });

  test('--progress shows the hashing total, percentage and ETA; small files compared whole count in the total', () => {
    const r = hashify(['plan', t.path('a'), t.path('b'), '-o', t.path('g.plan.jsonl'), '--no-cache', '--progress']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/hashing: \d+\/\d+ files, .* of .* \(\d+%\), .*\/s, ETA /);
    // Six candidate files of 2 × (13 + 14 + 5000) bytes: none hashed yet when the phase starts.
    expect(r.stderr).toContain('hashing: 0/6 files, 0 B of 9.8 KiB (0%)');
  });
});

describe('where the plan goes', () => {
  const t = tree();
  afterAll(() => t.cleanup());

  test('-o - is refused (a plan is a file that show and apply read), and no file named - appears', () => {
    const r = hashify(['plan', t.path('a'), t.path('b'), '-o', '-', '--no-cache'], {});
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot go to stdout/);
    expect(fs.existsSync('-')).toBe(false);
  });

  test('-o into a missing directory is refused before the scan, naming the directory', () => {
    const r = hashify(['plan', t.path('a'), t.path('b'), '-o', t.path('missing/p.plan.jsonl'), '--no-cache', '--progress']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`the directory "${t.path('missing')}" does not exist`);
    expect(r.stderr).not.toMatch(/scanning|hashing/);
  });
});
