/**
 * Output for scripts and pipes: a reader that goes away ends the output quietly; an error
 * under --json is JSON on stdout; SIGINT during plan exits 130 with a message and leaves
 * no plan; non-UTF-8 names print as \xHH.
 */
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { makeTree } from '../helpers/tree.js';
import { CLI, hashify, spawnHashify } from '../helpers/cli.js';
import { displayPath } from '../../src/pathBytes.js';
import { Output, formatProgress } from '../../src/cli/output.js';

function pairs(n: number): Record<string, string> {
  const spec: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    spec[`a/d${i % 10}/file-with-a-longish-name-${i}`] = `content ${i}\n`;
    spec[`b/d${i % 10}/file-with-a-longish-name-${i}`] = `content ${i}\n`;
  }
  return spec;
}

describe('a closed stdout', () => {
  const t = makeTree(pairs(1500));
  afterAll(() => t.cleanup());

  test('show --ops | head -1: one line, no stack trace, show exits 0', () => {
    const p = t.path('p.plan.jsonl');
    expect(hashify(['plan', t.path('a'), t.path('b'), '--no-store', '-o', p, '--no-cache', '-q']).status).toBe(0);
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" show "${p}" --ops 2>"${t.path('err')}" | head -1; echo "status \${PIPESTATUS[0]}" >&2`], { encoding: 'utf8' });
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toBe('status 0\n');
    expect(fs.readFileSync(t.path('err'), 'utf8')).toBe('');
  });
});

describe('--json errors', () => {
  test('a missing plan under --json: { "error": { "code", "message" } } on stdout, exit 2', () => {
    const r = hashify(['show', '/nonexistent/p.plan.jsonl', '--json']);
    expect(r.status).toBe(2);
    const j = r.json();
    expect(j.error.code).toBe('PLAN_MISSING');
    expect(j.error.message).toMatch(/nonexistent/);
  });

  test('a usage error under --json is JSON too', () => {
    const r = hashify(['plan', '/tmp', '-o', 'x', '--threads', '0', '--json']);
    expect(r.status).toBe(2);
    expect(r.json().error.code).toBe('USAGE');
  });
});

test('SIGINT during plan: exit 130, a message, and no plan or temp file', async () => {
  const t = makeTree(pairs(15000));
  try {
    const p = t.path('p.plan.jsonl');
    const child = spawnHashify(['plan', t.path('a'), t.path('b'), '-o', p, '--no-cache', '--progress']);
    let stderr = '';
    await new Promise<void>((resolve) => {
      child.stderr!.on('data', (d) => {
        stderr += d;
        if (/scanning: \d+ files/.test(stderr)) resolve();
      });
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    child.stderr!.removeAllListeners();
    expect(code).toBe(130);
    expect(stderr).toMatch(/SIGINT: plan stopped; no plan was written/);
    expect(fs.readdirSync(t.root).filter((n) => n.includes('plan'))).toEqual([]);
  } finally {
    t.cleanup();
  }
});

describe('names that are not UTF-8', () => {
  test('print as \\xHH, so two of them never look alike', () => {
    const a = Buffer.from([0x2f, 0x74, 0x2f, 0xff, 0x61]);
    const b = Buffer.from([0x2f, 0x74, 0x2f, 0xfe, 0x61]);
    expect(displayPath(a)).toBe('"/t/\\xffa"');
    expect(displayPath(b)).toBe('"/t/\\xfea"');
    expect(displayPath(Buffer.from('/t/é\n"x"'))).toBe('"/t/é\\n\\"x\\""');
  });
});

describe('progress', () => {
  const tty = process.stderr.isTTY;
  afterEach(() => {
    process.stderr.isTTY = tty;
  });

  test('--quiet silences progress even on a terminal, and also when --progress asks for it', () => {
    process.stderr.isTTY = true;
    expect(new Output({}).progressOn).toBe(true);
    expect(new Output({ quiet: true }).progressOn).toBe(false);
    expect(new Output({ quiet: true, progress: true }).progressOn).toBe(false);
    expect(new Output({ progress: true }).progressOn).toBe(true);
    process.stderr.isTTY = false;
    expect(new Output({ progress: true }).progressOn).toBe(true);
    expect(new Output({}).progressOn).toBe(false);
  });

  test('hashing progress has the total, a percentage and an ETA', () => {
    expect(formatProgress('hashing', 5, 10, 1 << 20, 4 << 20, 2)).toBe('hashing: 5/10 files, 1.0 MiB of 4.0 MiB (25%), 512.0 KiB/s, ETA 6.0s');
  });
});
