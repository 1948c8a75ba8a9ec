/**
 * The installed command (package.json `bin`: dist/cli.js, run as a program) is first a shell
 * script that starts node on itself with libuv's pool sized before anything starts it: one
 * thread a core (nproc), at least 4, or the user's UV_THREADPOOL_SIZE, kept. Seen from a
 * preloaded module's exit handler; `nproc` is a stand-in that says how many cores there are.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string; bin: Record<string, string> };
const dir = mkdtempSync(join(tmpdir(), 'hashify-entry-'));
const probe = join(dir, 'probe.cjs');
writeFileSync(probe, "process.on('exit', () => process.stderr.write('pool ' + process.env.UV_THREADPOOL_SIZE + '\\n'));\n");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the entry as a program (through its shebang), with `cores` as what nproc says. */
function run(cores: string, env: Record<string, string | undefined>, args = ['--version'], direct = true) {
  const bin = join(dir, `cores-${cores}`);
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'nproc'), `#!/bin/sh\necho ${cores}\n`);
  chmodSync(join(bin, 'nproc'), 0o755);
  const e: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}`, NODE_OPTIONS: `--require ${probe}`, ...env };
  if (env.UV_THREADPOOL_SIZE === undefined) delete e.UV_THREADPOOL_SIZE;
  return direct ? spawnSync(ENTRY, args, { encoding: 'utf8', env: e }) : spawnSync(process.execPath, [ENTRY, ...args], { encoding: 'utf8', env: e });
}

describe('the installed entry', () => {
  test('is the package bin and dist/cli.js; run as a program, it sizes the pool one thread a core', () => {
    expect(pkg.bin.hashify).toBe('dist/cli.js');
    const r = run('12', { UV_THREADPOOL_SIZE: undefined });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
    expect(r.stderr).toBe('pool 12\n');
  });

  test('at least 4 threads, and the arguments and exit code pass through the shell unchanged', () => {
    const r = run('2', { UV_THREADPOOL_SIZE: undefined }, ['show', join(dir, "no such plan, it's 'quoted'"), '--json']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("no such plan, it's 'quoted'");
    expect(r.stderr).toContain('pool 4\n');
  });

  test("keeps the user's UV_THREADPOOL_SIZE; `node dist/cli.js` skips the shell (libuv's default)", () => {
    expect(run('12', { UV_THREADPOOL_SIZE: '7' }).stderr).toBe('pool 7\n');
    const viaNode = run('12', { UV_THREADPOOL_SIZE: undefined }, ['--version'], false);
    expect(viaNode.status).toBe(0);
    expect(viaNode.stderr).toBe('pool undefined\n');
  });
});
