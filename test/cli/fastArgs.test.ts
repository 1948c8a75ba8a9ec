/**
 * The usual command line of every command is read without yargs (src/cli/fastArgs.ts), from
 * the same table yargs is configured from (src/cli/commands.ts): every line read there must
 * be read exactly so by yargs (the whole object its handler gets), every other line must go
 * to yargs, and the commands must indeed start without loading it.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { COMMANDS, GLOBAL_OPTIONS } from '../../src/cli/commands.js';
import { fastArgs } from '../../src/cli/fastArgs.js';
import type { OptionSpec } from '../../src/cli/optionSpec.js';
import { configureYargs } from '../../src/cli/yargsCommands.js';
import { CLI } from '../helpers/cli.js';

/** What yargs, configured as src/cli.ts configures it, hands a command's handler for `args`. */
async function yargsReads(args: string[]): Promise<Record<string, unknown>> {
  let seen: Record<string, unknown> | undefined;
  const fail = (msg: string | undefined, err: Error | undefined) => {
    throw err ?? new Error(msg);
  };
  await configureYargs(yargs(args), fail, (argv) => (seen = argv)).parseAsync();
  if (!seen) throw new Error(`yargs ran no command for ${JSON.stringify(args)}`);
  return seen;
}

/** Both readers on one line: the fast reader's object, if it read the line, must be yargs'. */
async function expectSameOrDeferred(args: string[]): Promise<boolean> {
  const fast = fastArgs(args);
  if (!fast) return false;
  expect([args, fast.command.name, fast.argv]).toEqual([args, args[0], await yargsReads(args)]);
  return true;
}

const READ = [
  ['plan', 'r', '-o', 'p'],
  ['plan', '/a', '/b', '-o', 'p.jsonl', '--cache', 'c.cache', '-q', '--no-progress'],
  ['plan', 'r', '--output=p', '--no-store', '--no-cache', '--json'],
  ['plan', 'r', '-o', 'p', '--exclude', '*.log', '--exclude=etc/**', 'r2', '--min-size', '4k'],
  ['plan', 'r', '-o', 'p', '--link', 'reflink', '--algorithm=sha512', '--threads', '3', '--link-max', '2'],
  ['plan', 'r', '-o', 'p', '--ignore-mtime', '--ignore-owner', '--ignore-mode', '--ignore-xattrs', '--adopt', '--store', 's'],
  ['plan', '123', '0x10', '-o', 'false', '--store', 'true'],
  ['show', 'p', '--ops', '--groups', '--top', '3'],
  ['verify', 'p', '--content', '--json'],
  ['apply', 'p', '--expect', 'sha256-n/z/dzqiKLgKlCjP9oAFzZ1KUYbLyUQcejHmFf7sh3U=', '--journal', 'j', '--on-drift', 'abort', '--verify-content'],
  ['status', 'p', '--journal=j'],
  ['undo', 'p', '-q'],
  ['gc', 's', '--dry-run'],
  ['fsck', 's', '--plan', 'p'],
  ['memory', 'p', '--no-json'],
  ['clone', 'a', 'b', '--store', 's', '--progress'],
  ['clone', 'a b', 'c=d'],
  ['switch', 'A', 'B', '--quiet', '--json', '--progress'],
  ['switch', '1', '2e3'],
  ['clone', 'plan', 'switch'],
  ['clone', 'help', 'completion'],
  ['switch', 'version', '$0'],
];

const NOT_READ = [
  [],
  ['--json', 'clone', 'a', 'b'],
  ['completion'],
  ['plan', 'r'],
  ['plan', '-o', 'p'],
  ['plan', 'r', '-o', 'p', '--help'],
  ['plan', 'r', '-o', 'p', '--version'],
  ['plan', 'r', '-o', 'p', '--exclude'],
  ['plan', 'r', '-o', 'p', '--exclude', '[z-a]'],
  ['plan', 'r', '-o', 'p', '--link', 'copy'],
  ['plan', 'r', '-o', 'p', '--min-size', '4q'],
  ['plan', 'r', '-o', 'p', '--threads', '0'],
  ['plan', 'r', '-o', 'p', '--store', 's', '--no-store'],
  ['plan', 'r', '-o', 'p', '--no-output'],
  ['plan', 'r', '-o', 'p', '--minSize', '4'],
  ['plan', 'r', '-o=p'],
  ['plan', 'r', '-op'],
  ['plan', 'r', '-o', 'p', '--', '-r'],
  ['show', 'p', '--top', 'true'],
  ['show', 'p', 'q'],
  ['apply', 'p', '--expect', 'sha256-x'],
  ['gc', 's', '--dry-run', 'false'],
  ['clone', '-h'],
  ['clone', 'a', 'b', '--json', '--json'],
  ['clone', 'a', 'b', '-q', '--quiet'],
  ['clone', 'a', 'b', '--json=false'],
  ['clone', 'a', 'b', '--store'],
  ['clone', 'a', 'b', '--store', '-x'],
  ['clone', 'a', 'b', '--store='],
  ['clone', '-', 'b'],
  ['clone', '', 'b'],
  ['clone', 'a', 'b', '-qq'],
  ['clone', 'a', 'b', '--toString'],
  ['clone', 'a', 'b', '--no-constructor'],
  ['switch', 'a', 'b', '--store', 's'],
  ['switch', 'a', 'b', '-q', 'true'],
];

/** A random line of `command`: operands, its and the global options in every spelling, odd words. */
function randomLine(name: string, options: Record<string, OptionSpec>, next: (n: number) => number): string[] {
  const pick = <T>(list: readonly T[]): T => list[next(list.length)];
  const values = ['s', 'true', 'false', '4k', '2', '0', '*.log', '[z-a]', '', '-x', 'sha256-n/z/dzqiKLgKlCjP9oAFzZ1KUYbLyUQcejHmFf7sh3U='];
  const odd = ['--', '-x', '', '--help', '--version', 'true', 'false', '--bogus', '-qq', '--json=false'];
  const names = Object.keys(options);
  const line = [name];
  // A required option is there in most lines (else yargs refuses them all).
  for (const [option, o] of Object.entries(options)) if (o.demandOption && next(4)) line.push(`--${option}`, 'p');
  for (let k = 1 + next(7); k > 0; k--) {
    const r = next(10);
    if (r < 3) line.push(pick(['a', 'b', 'c d', '1', 'x=y']));
    else if (r === 9) line.push(pick(odd));
    else {
      const option = pick(names);
      const o = options[option];
      const value = pick(o.choices ? [...o.choices, ...o.choices, 'bogus'] : values);
      const flag = o.alias && next(2) ? `-${o.alias}` : `--${option}`;
      const form = next(6);
      if (form === 0) line.push(`--no-${option}`);
      else if (o.type === 'boolean') line.push(...(form === 1 ? [flag, pick(['true', 'false'])] : [flag]));
      else line.push(...(form === 1 ? [`--${option}=${value}`] : form === 2 ? [flag] : [flag, value]));
    }
  }
  return line;
}

describe('fastArgs', () => {
  test.each(READ)('reads %j as yargs does', async (...args) => {
    expect(await expectSameOrDeferred(args)).toBe(true);
  });

  test.each(NOT_READ.map((a) => [a]))('leaves %j to yargs', (args) => {
    expect(fastArgs(args)).toBeUndefined();
  });

  test.each(COMMANDS.map((c) => [c.name, c]))('random lines of `%s`: every line read is read as yargs does', async (_, c) => {
    let seed = 12345;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), (seed >> 8) % n);
    const options = { ...GLOBAL_OPTIONS, ...c.options };
    let read = 0;
    for (let k = 0; k < 1000; k++) if (await expectSameOrDeferred(randomLine(c.name, options, next))) read++;
    expect(read).toBeGreaterThan(30);
  });
});

describe('start-up', () => {
  // A resolve hook (it runs on the loader's thread) that says when anything imports yargs,
  // and at exit the packages loaded by require (msgpackr, ssri: plan reads and writes its files without them).
  const hook =
    'data:text/javascript,import{register,createRequire}from"node:module";register("data:text/javascript,export async function resolve(s,c,n){if(s===\\"yargs\\")console.error(\\"LOADED yargs\\");return n(s,c)}");' +
    'process.on("exit",()=>{const c=Object.keys(createRequire("/").cache).join(" ");for(const p of ["msgpackr","ssri"])if(c.includes("/node_modules/"+p))console.error("LOADED "+p)})';
  const run = (args: string[]) => spawnSync(process.execPath, ['--import', hook, CLI, ...args], { encoding: 'utf8' });

  test('every command runs its usual line without loading yargs (a re-plan: nor msgpackr nor ssri); --help and usage errors load it', () => {
    const dir = fs.mkdtempSync(join(tmpdir(), 'hashify-fastargs-'));
    try {
      for (const d of ['a', 'b', 'src', 'root']) fs.mkdirSync(join(dir, d));
      fs.writeFileSync(join(dir, 'src/f'), 'data\n');
      const sw = run(['switch', join(dir, 'a'), join(dir, 'b'), '--json']);
      expect([sw.status, sw.stderr]).toEqual([0, '']);
      expect(JSON.parse(sw.stdout)).toMatchObject({ switched: true });
      const cl = run(['clone', join(dir, 'src'), join(dir, 'dst'), '--store', join(dir, 'none'), '--json']);
      expect(cl.status).toBe(2); // no such store: refused by the command itself, after a start without yargs
      expect(cl.stderr).not.toContain('LOADED yargs');
      expect(JSON.parse(cl.stdout).error.code).toBe('STORE_INVALID');
      const plan = join(dir, 'p.jsonl');
      const cache = join(dir, 'hashes.msgpack');
      fs.writeFileSync(join(dir, 'root/f'), 'data\n');
      fs.writeFileSync(join(dir, 'root/g'), 'data\n');
      for (const f of ['f', 'g']) fs.utimesSync(join(dir, 'root', f), 1e9, 1e9); // linked only when mtimes match
      const planRoot = (to: string) => run(['plan', join(dir, 'root'), '-o', to, '--cache', cache, '--no-store', '--no-progress', '--json']);
      expect(JSON.parse(planRoot(plan).stdout)).toMatchObject({ ops: 1, plan });
      expect(run(['apply', plan, '-q']).status).toBe(0);
      // a re-plan of the tree applied, with the cache the first plan saved: nothing to do
      expect(fs.statSync(cache).size).toBeGreaterThan(112);
      const pl = planRoot(join(dir, 'again.jsonl'));
      expect([pl.status, pl.stderr]).toEqual([0, '']);
      expect(JSON.parse(pl.stdout)).toMatchObject({ ops: 0 });
      const st = run(['status', join(dir, 'missing'), '--json']);
      expect(st.stderr).not.toContain('LOADED yargs');
      expect(JSON.parse(st.stdout).error.code).toBeDefined();
      for (const args of [['switch', '--help'], ['status', join(dir, 'p'), '--bogus'], ['plan', join(dir, 'root')]]) expect(run(args).stderr).toContain('LOADED yargs');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
