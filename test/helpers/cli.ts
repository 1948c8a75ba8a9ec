/** Runs the built command line (`dist/cli.js`) as a child process. */
import { spawnSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  json(): any;
}

let cacheRoot: string | undefined;

// Removed after the test file's last test: jest ends its worker processes without an 'exit'
// event, so a removal left to process exit never ran (over a thousand directories piled up).
(globalThis as { afterAll?: (fn: () => void) => void }).afterAll?.(() => {
  if (cacheRoot) rmSync(cacheRoot, { recursive: true, force: true });
  cacheRoot = undefined;
});

/**
 * XDG_CACHE_HOME for the running test: a directory of its own (named after the test), so no
 * test sees another's hash cache, while the commands of one test share theirs. Removed after
 * the test file's last test (or, outside jest, when the process ends).
 */
export function testCacheHome(): string {
  if (!cacheRoot) {
    const root = mkdtempSync(join(tmpdir(), 'hashify-test-cache-'));
    cacheRoot = root;
    process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  }
  const state = (globalThis as { expect?: { getState(): { testPath?: string; currentTestName?: string } } }).expect?.getState();
  const name = createHash('sha256').update(`${state?.testPath}\0${state?.currentTestName}`).digest('hex').slice(0, 16);
  const dir = join(cacheRoot, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Runs `hashify ARGS` synchronously; `env` adds to the environment (XDG_CACHE_HOME is the test's own, see testCacheHome). */
export function hashify(args: string[], options: { env?: Record<string, string>; input?: string; timeout?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: testCacheHome(), ...options.env },
    input: options.input,
    timeout: options.timeout ?? 120000,
  });
  return {
    status: r.status,
    signal: r.signal,
    stdout: r.stdout,
    stderr: r.stderr,
    json: () => JSON.parse(r.stdout),
  };
}

/** Starts `hashify ARGS` without waiting (for kill tests). */
export function spawnHashify(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { env: { ...process.env, XDG_CACHE_HOME: testCacheHome(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** printf's format for exactly these bytes: each one as an octal escape. */
const printfBytes = (b: Buffer): string => [...b].map((c) => `\\${c.toString(8).padStart(3, '0')}`).join('');

/**
 * Runs `hashify ARGS` in directory `cwd`, where an argument or the directory may be bytes
 * that are not UTF-8 (spawn takes strings only, and encodes them as UTF-8): sh rebuilds each
 * from its octal escapes with printf, changes to the directory, then execs node.
 */
export function hashifyBytes(args: (string | Buffer)[], options: { cwd?: Buffer; env?: Record<string, string> } = {}): CliResult {
  const script = 'd=$(printf "$1") && cd "$d" || exit 99; shift; for a do set -- "$@" "$(printf "$a")"; shift; done; exec "$@"';
  const argv = [options.cwd ?? Buffer.from(process.cwd()), Buffer.from(process.execPath), Buffer.from(CLI), ...args.map((a) => (typeof a === 'string' ? Buffer.from(a) : a))];
  const r = spawnSync('/bin/sh', ['-c', script, 'sh', ...argv.map(printfBytes)], {
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: testCacheHome(), ...options.env },
    timeout: 120000,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}
