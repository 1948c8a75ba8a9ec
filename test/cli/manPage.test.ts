/**
 * The man page (man/hashify.1) is written beside the yargs definitions: every command that
 * `hashify --help` lists, and every option of each command's `--help`, must be in it.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hashify } from '../helpers/cli.js';

const page = fs.readFileSync(fileURLToPath(new URL('../../man/hashify.1', import.meta.url)), 'utf8').replace(/\\-/g, '-').replace(/\\f[BIR]/g, '');
const commands = hashify(['--help'])
  .stdout.split('\n')
  .map((l) => /^\s+hashify (\w+)/.exec(l)?.[1])
  .filter((c): c is string => Boolean(c));

test('hashify --help lists the commands', () => {
  expect(commands).toEqual(expect.arrayContaining(['plan', 'show', 'verify', 'apply', 'status', 'undo', 'gc', 'completion']));
});

test.each(commands.filter((c) => c !== 'completion'))('the man page describes `%s` and every option of its --help', (command) => {
  expect(page).toMatch(new RegExp(`^\\.(B|BI) "?${command}\\b`, 'm'));
  const help = hashify([command, '--help']).stdout;
  const options = [...new Set([...help.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z-]*)/gm)].map((m) => m[1]))];
  expect(options.length).toBeGreaterThan(3);
  for (const option of options) expect([command, option, page.includes(option)]).toEqual([command, option, true]);
});

test('the man page describes `completion`', () => {
  expect(page).toMatch(/^\.B completion$/m);
});

test('hashify completion prints a completion script, and completes options', () => {
  const script = hashify(['completion']);
  expect(script.status).toBe(0);
  expect(script.stdout).toContain('hashify --get-yargs-completions');
  const words = hashify(['--get-yargs-completions', 'hashify', 'plan', '--ex']).stdout.split('\n');
  expect(words).toContain('--exclude');
});
