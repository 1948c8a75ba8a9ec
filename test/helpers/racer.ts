/** The hostile guest of the race tests (test/helpers/racer.c), compiled once per test run. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

let binary: string | undefined;

/** The racer's path (built with cc on first use). */
export function racerBinary(): string {
  if (binary && existsSync(binary)) return binary;
  const dir = mkdtempSync(join(tmpdir(), 'hashify-racer-'));
  binary = join(dir, 'racer');
  execFileSync('cc', ['-O2', '-o', binary, fileURLToPath(new URL('./racer.c', import.meta.url))]);
  return binary;
}

export interface Racer {
  child: ChildProcess;
  /** Creates the stop file and waits for the racer to exit; its stdout. */
  stop(): Promise<string>;
}

/** Starts `racer MODE ARGS…`; the last argument is the stop file when `stopFile` is given. */
export function startRacer(args: string[], stopFile?: string): Racer {
  const child = spawn(racerBinary(), args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const done = new Promise<string>((resolve) => child.on('exit', () => resolve(out)));
  return {
    child,
    stop: async () => {
      if (stopFile) writeFileSync(stopFile, '');
      return done;
    },
  };
}
