/** Runs the built command line (`dist/cli.js`) as a child process. */
import { spawnSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  json(): any;
}

/** Runs `hashify ARGS` synchronously; `env` adds to the environment (XDG_CACHE_HOME is set to a temp dir by default). */
export function hashify(args: string[], options: { env?: Record<string, string>; input?: string; timeout?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: process.env.HASHIFY_TEST_CACHE ?? '/tmp/hashify-test-cache', ...options.env },
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
  return spawn(process.execPath, [CLI, ...args], { env: { ...process.env, XDG_CACHE_HOME: '/tmp/hashify-test-cache', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}
