/**
 * The installed command (package.json `bin`: dist/hashify.cjs, from src/hashify.cts) sizes
 * libuv's pool before the ES module loader starts it, then runs the command line. Seen from a
 * preloaded module's exit handler: the variable the entry set (one thread a core, at least 4),
 * or the user's own, kept.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('../../dist/hashify.cjs', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string; bin: Record<string, string> };
const dir = mkdtempSync(join(tmpdir(), 'hashify-entry-'));
const probe = join(dir, 'probe.cjs');
writeFileSync(probe, "process.on('exit', () => process.stderr.write('pool ' + process.env.UV_THREADPOOL_SIZE + '\\n'));\n");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(env: Record<string, string | undefined>) {
  const e: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `--require ${probe}`, ...env };
  if (env.UV_THREADPOOL_SIZE === undefined) delete e.UV_THREADPOOL_SIZE;
  return spawnSync(process.execPath, [ENTRY, '--version'], { encoding: 'utf8', env: e });
}

describe('the installed entry', () => {
  test('is the package bin, runs the command line, and sizes the pool one thread a core, at least 4', () => {
    expect(pkg.bin.hashify).toBe('dist/hashify.cjs');
    const r = run({ UV_THREADPOOL_SIZE: undefined });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
    expect(r.stderr).toContain(`pool ${Math.max(4, availableParallelism())}\n`);
  });

  test("keeps the user's UV_THREADPOOL_SIZE", () => {
    const r = run({ UV_THREADPOOL_SIZE: '7' });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('pool 7\n');
  });
});
