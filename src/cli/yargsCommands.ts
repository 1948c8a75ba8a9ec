/**
 * yargs, configured from the command table (src/cli/commands.ts): each row becomes a yargs
 * command whose builder declares the row's operands and options, then the program-wide
 * settings (usage, completion, strict, version, help). src/cli.ts hands it the command lines
 * that src/cli/fastArgs.ts leaves; the tests give it the same rows with another handler.
 */
import type { Argv, CommandModule, Options, PositionalOptions } from 'yargs';
import { COMMANDS, GLOBAL_OPTIONS } from './commands.js';
import type { CommandSpec, OptionSpec } from './optionSpec.js';
import { VERSION } from '../version.js';

/** The yargs form of an option: the row as written, less what only the fast reader reads. */
function yargsOption(o: OptionSpec): Options {
  const { negatable: _, array, ...rest } = o;
  return array ? { ...rest, array: true, nargs: 1 } : rest;
}

/** The yargs command of a row; `handler` replaces the row's own (tests capture the parsed argv). */
export function yargsCommand(c: CommandSpec, handler: (argv: Record<string, unknown>) => unknown = c.run): CommandModule {
  const operands = c.positionals.map((p) => `<${p.name}${p.array ? '..' : ''}>`).join(' ');
  return {
    command: `${c.name} ${operands}`,
    describe: c.describe,
    builder: (y: Argv) => {
      for (const p of c.positionals) {
        const positional: PositionalOptions = { type: 'string', demandOption: true, ...(p.array ? { array: true } : {}), ...(p.describe ? { describe: p.describe } : {}) };
        y = y.positional(p.name, positional);
      }
      for (const [name, o] of Object.entries(c.options)) y = y.option(name, yargsOption(o));
      for (const [cmd, what] of c.examples ?? []) y = y.example(cmd, what);
      return y;
    },
    handler: async (argv) => {
      await handler(argv);
    },
  };
}

/**
 * The whole program on `yargs(args)`: global options, every command, completion, strict
 * parsing, --version and --help. `fail` gets every usage error; `handler`, if given, runs
 * instead of the commands' own.
 */
export function configureYargs(y: Argv, fail: (msg: string | undefined, err: Error | undefined) => void, handler?: (argv: Record<string, unknown>) => unknown): Argv {
  y = y
    .scriptName('hashify')
    .usage('$0 <command> [options]\n\nDeduplicate identical files by hard links, in two reviewable steps:\n  hashify plan ROOT... -o PLAN    scan and hash; changes nothing\n  hashify show PLAN               review it; note its digest\n  hashify apply PLAN --expect D   execute exactly that plan; rerun to resume');
  for (const [name, o] of Object.entries(GLOBAL_OPTIONS)) y = y.option(name, yargsOption(o));
  for (const c of COMMANDS) y = y.command(yargsCommand(c, handler));
  return y
    .completion('completion', 'print a bash or zsh completion script (hashify completion >> ~/.bashrc)')
    .demandCommand(1, 'Name a command: plan, show, verify, apply, status, undo, gc, fsck, memory, clone or switch.')
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => fail(msg, err));
}
