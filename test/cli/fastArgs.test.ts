/**
 * The usual `clone` and `switch` command lines are read without yargs (src/cli/fastArgs.ts):
 * every line read there must be read the same by yargs with the real command table, every
 * other line must go to yargs, and these commands must indeed start without loading it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { cloneCommand, globalOptions, switchCommand } from '../../src/cli/commands.js';
import { fastArgs } from '../../src/cli/fastArgs.js';
import { CLI } from '../helpers/cli.js';

const GLOBALS = ['json', 'quiet', 'progress'];
const KEYS = { clone: ['src', 'dst', 'store', ...GLOBALS], switch: ['a', 'b', ...GLOBALS] };

/** What yargs, with the real builders of clone and switch, hands their handler for `args`. */
async function yargsReads(args: string[]): Promise<Record<string, unknown>> {
  let seen: Record<string, unknown> | undefined;
  const capture = (argv: Record<string, unknown>) => {
    seen = argv;
  };
  await globalOptions(yargs(args))
    .command({ ...cloneCommand, handler: capture })
    .command({ ...switchCommand, handler: capture })
    .strict()
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseAsync();
  if (!seen) throw new Error(`yargs ran no command for ${JSON.stringify(args)}`);
  return seen;
}

const pick = (argv: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, argv[k]]));

const READ = [
  ['clone', 'a', 'b'],
  ['clone', 'a', 'b', '--json'],
  ['clone', '--json', 'a', 'b', '-q'],
  ['clone', 'a', '--store', 's', 'b', '--progress'],
  ['clone', '/src/dir', '/dst/dir', '--store=/x/.hash', '--quiet'],
  ['clone', '123', '0x10', '--store', '7'],
  ['clone', 'a b', 'c=d'],
  ['clone', 'a.b', 'c.d.e'],
  ['switch', 'A', 'B'],
  ['switch', 'A', 'B', '--quiet', '--json', '--progress'],
  ['switch', '1', '2e3'],
  ['clone', 'a', '--progress', 'True'],
  ['clone', 'plan', 'switch'],
  ['clone', 'help', 'completion'],
  ['switch', 'version', '$0'],
];

const NOT_READ = [
  [],
  ['plan', 'x', '-o', 'p'],
  ['--json', 'clone', 'a', 'b'],
  ['clone'],
  ['clone', 'a'],
  ['clone', 'a', 'b', 'c'],
  ['clone', 'a', 'b', '--help'],
  ['clone', '-h'],
  ['--version'],
  ['clone', 'a', 'b', '--json', '--json'],
  ['clone', 'a', 'b', '-q', '--quiet'],
  ['clone', 'a', 'b', '--no-json'],
  ['clone', 'a', 'b', '--json=false'],
  ['clone', 'a', 'b', '--store'],
  ['clone', 'a', 'b', '--store', '-x'],
  ['clone', 'a', 'b', '--store='],
  ['clone', 'a', 'b', '--store', 's', '--store', 't'],
  ['clone', 'a', 'b', '--', '-c'],
  ['clone', '-', 'b'],
  ['clone', '', 'b'],
  ['clone', 'a', 'b', '--bogus'],
  ['clone', 'a', 'b', '-qq'],
  ['clone', 'a', 'b', '--toString'],
  ['switch', 'a', 'b', '--store', 's'],
  ['clone', 'a', '--json', 'true'],
  ['clone', '--json', 'false', 'a', 'b'],
  ['switch', 'a', 'b', '-q', 'true'],
];

describe('fastArgs', () => {
  test.each(READ)('reads %j as yargs does', async (...args) => {
    const fast = fastArgs(args);
    expect(fast).toBeDefined();
    const keys = KEYS[fast!.command];
    expect(pick(fast!.argv as unknown as Record<string, unknown>, keys)).toEqual(pick(await yargsReads(args), keys));
  });

  test.each(NOT_READ.map((a) => [a]))('leaves %j to yargs', (args) => {
    expect(fastArgs(args)).toBeUndefined();
  });

  test('random lines of these words: every line read is read as yargs does', async () => {
    const words = ['a', 'b', 'c', 'true', 'false', '1', '--json', '--quiet', '-q', '--progress', '--store', '--store=s', '--no-json', '--', '-x', ''];
    let seed = 12345;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    let read = 0;
    for (let k = 0; k < 1500; k++) {
      const args = [next(2) ? 'clone' : 'switch', ...Array.from({ length: 1 + next(6) }, () => words[next(words.length)])];
      const fast = fastArgs(args);
      if (!fast) continue;
      read++;
      const keys = KEYS[fast.command];
      expect([args, pick(fast.argv as unknown as Record<string, unknown>, keys)]).toEqual([args, pick(await yargsReads(args), keys)]);
    }
    expect(read).toBeGreaterThan(50);
  });
});

describe('start-up', () => {
  // A resolve hook (it runs on the loader's thread) that says when anything imports yargs.
  const hook = 'data:text/javascript,import{register}from"node:module";register("data:text/javascript,export async function resolve(s,c,n){if(s===\\"yargs\\")console.error(\\"LOADED yargs\\");return n(s,c)}")';
  const run = (args: string[]) => spawnSync(process.execPath, ['--import', hook, CLI, ...args], { encoding: 'utf8' });

  test('switch and clone run without loading yargs; --help and other commands load it', () => {
    const dir = fs.mkdtempSync(join(tmpdir(), 'hashify-fastargs-'));
    try {
      for (const d of ['a', 'b', 'src']) fs.mkdirSync(join(dir, d));
      fs.writeFileSync(join(dir, 'src/f'), 'data\n');
      const sw = run(['switch', join(dir, 'a'), join(dir, 'b'), '--json']);
      expect([sw.status, sw.stderr]).toEqual([0, '']);
      expect(JSON.parse(sw.stdout)).toMatchObject({ switched: true });
      const cl = run(['clone', join(dir, 'src'), join(dir, 'dst'), '--store', join(dir, 'none'), '--json']);
      expect(cl.status).toBe(2); // no such store: refused by the command itself, after a start without yargs
      expect(cl.stderr).not.toContain('LOADED yargs');
      expect(JSON.parse(cl.stdout).error.code).toBe('STORE_INVALID');
      for (const args of [['switch', '--help'], ['status', join(dir, 'p')]]) expect(run(args).stderr).toContain('LOADED yargs');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
