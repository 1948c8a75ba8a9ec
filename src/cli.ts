#!/bin/sh
//usr/bin/env true; exec env UV_THREADPOOL_SIZE="${UV_THREADPOOL_SIZE:-$(n=$(nproc 2>/dev/null) && [ "$n" -gt 4 ] && echo "$n" || echo 4)}" node "$0" "$@"
/**
 * Run as a program (package.json `bin`), this file is first a shell script: its second line,
 * to JavaScript a comment, makes sh start node on this same file with libuv's
 * pool sized one thread a core, at least 4, unless the user set UV_THREADPOOL_SIZE. The scan
 * and the hashing run on that pool (src/workers/workerPool.ts), and only the environment can
 * size it: Node's ES module loader starts the pool before the first line of any module runs.
 * `node dist/cli.js` skips the shell (libuv's default of 4 threads).
 *
 * The command line: the table of commands (src/cli/commands.ts: each with its operands and
 * options and a handler that loads the command's file), argument checks that run while
 * parsing (exit 2 before any work), and one place that maps every error to an exit code (SPEC
 * "Exit codes"). The usual line of every command is read from the table without yargs
 * (src/cli/fastArgs.ts); yargs, configured from the same table (src/cli/yargsCommands.ts), is
 * loaded only for the others: --help, completion, and every line that gets a message. The man
 * page (man/hashify.1) lists the same commands and options; test/cli/manPage.test.ts keeps
 * them in step.
 */
import { EXIT, HashifyError } from './errors.js';
import { commandExitCode } from './cli/commands.js';
import { fastArgs } from './cli/fastArgs.js';
import { Output, guardStreams } from './cli/output.js';
import { catchEarlySignals } from './cli/earlySignals.js';
import { rawArgv } from './cli/rawArgv.js';

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
  catchEarlySignals();
  guardStreams();
  const argv = rawArgv(); // process.argv.slice(2) (yargs' hideBin), with each path's own bytes
  const fast = fastArgs(argv);
  if (fast) return fast.command.run(fast.argv);
  const args = operands(argv);
  const [{ default: yargs }, { configureYargs }] = await Promise.all([import('yargs'), import('./cli/yargsCommands.js')]);
  await configureYargs(yargs(args), (msg, err) => usageFailure(args, msg, err)).parseAsync();
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
