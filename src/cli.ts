#!/usr/bin/env node
/**
 * The command line: the table of commands (src/cli/commands.ts: each with its yargs options
 * and a handler that loads the command's file), argument checks that run while parsing (exit
 * 2 before any work), and one place that maps every error to an exit code (SPEC "Exit
 * codes"). yargs is loaded only for command lines that src/cli/fastArgs.ts does not read (the
 * usual `clone` and `switch` lines start without it). The man page (man/hashify.1) lists the
 * same commands and options; test/cli/manPage.test.ts keeps them in step.
 */
import { EXIT, HashifyError } from './errors.js';
import { COMMANDS, FAST_HANDLERS, commandExitCode, globalOptions } from './cli/commands.js';
import { fastArgs } from './cli/fastArgs.js';
import { Output, guardStreams } from './cli/output.js';
import { VERSION } from './version.js';

/**
 * Everything after `--` is an operand (a root, a plan file, a store), never an option. yargs
 * does not fill a command's positionals from after `--`, so each operand that starts with
 * `-` is passed as `./-name`, the same file, and the `--` itself is dropped.
 */
function operands(args: string[]): string[] {
  const i = args.indexOf('--');
  if (i < 0) return args;
  return [...args.slice(0, i), ...args.slice(i + 1).map((a) => (a.startsWith('-') ? `./${a}` : a))];
}

/** A usage error found while parsing: exit 2, with `{ "error" }` on stdout under --json. */
function usageFailure(args: string[], msg: string | undefined, err: Error | undefined): never {
  const json = args.includes('--json');
  const code = err instanceof HashifyError ? err.code : 'USAGE';
  new Output({ json, quiet: false }).error(code, msg ?? err?.message ?? 'invalid arguments', 'run `hashify --help` for usage');
  process.exit(err instanceof HashifyError ? err.exitCode : EXIT.usage);
}

async function main(): Promise<void> {
  guardStreams();
  const argv = process.argv.slice(2); // what yargs' hideBin gives outside Electron
  const fast = fastArgs(argv);
  if (fast?.command === 'clone') return FAST_HANDLERS.clone(fast.argv);
  if (fast?.command === 'switch') return FAST_HANDLERS.switch(fast.argv);
  const args = operands(argv);
  const { default: yargs } = await import('yargs');
  let y = globalOptions(
    yargs(args)
      .scriptName('hashify')
      .usage('$0 <command> [options]\n\nDeduplicate identical files by hard links, in two reviewable steps:\n  hashify plan ROOT... -o PLAN    scan and hash; changes nothing\n  hashify show PLAN               review it; note its digest\n  hashify apply PLAN --expect D   execute exactly that plan; rerun to resume'),
  );
  for (const c of COMMANDS) y = y.command(c);
  await y
    .completion('completion', 'print a bash or zsh completion script (hashify completion >> ~/.bashrc)')
    .demandCommand(1, 'Name a command: plan, show, verify, apply, status, undo, gc, fsck, memory, clone or switch.')
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => usageFailure(args, msg, err))
    .parseAsync();
}

main().then(
  () => {
    process.exitCode = commandExitCode();
  },
  (err) => {
    process.stderr.write(`hashify: ${(err as Error).message}\n`);
    process.exitCode = EXIT.failure;
  },
);
