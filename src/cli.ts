#!/usr/bin/env node
/**
 * The command line: parses arguments with yargs, runs one command, and maps every error to
 * an exit code in one place (SPEC "Exit codes").
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT, HashifyError } from './errors.js';
import { Output, type GlobalOptions } from './cli/output.js';
import { VERSION } from './version.js';

type Handler = (argv: Record<string, unknown>, out: Output) => Promise<number> | number;

let exitCode: number = EXIT.ok;

function run(handler: Handler) {
  return async (argv: Record<string, unknown>) => {
    const out = new Output(argv as GlobalOptions);
    try {
      exitCode = await handler(argv, out);
    } catch (err) {
      out.clearProgress();
      if (err instanceof HashifyError) {
        process.stderr.write(`hashify: ${err.message}\n`);
        if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
        exitCode = err.exitCode;
      } else {
        const e = err as NodeJS.ErrnoException;
        process.stderr.write(`hashify: ${e?.message ?? String(err)}\n`);
        if (process.env.HASHIFY_DEBUG && e?.stack) process.stderr.write(e.stack + '\n');
        exitCode = EXIT.failure;
      }
    }
  };
}

const planOption = (y: Argv) => y.positional('plan', { type: 'string', describe: 'the plan file', demandOption: true });

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

async function main(): Promise<void> {
  await yargs(operands(hideBin(process.argv)))
    .scriptName('hashify')
    .usage('$0 <command> [options]\n\nDeduplicate identical files by hard links, in two reviewable steps:\n  hashify plan ROOT... -o PLAN    scan and hash; changes nothing\n  hashify show PLAN               review it; note its digest\n  hashify apply PLAN --expect D   execute exactly that plan; rerun to resume')
    .option('json', { type: 'boolean', describe: 'print the result as JSON on stdout (human text goes to stderr)' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'print only warnings and errors' })
    .option('progress', { type: 'boolean', describe: 'show progress on stderr (default: only when stderr is a terminal)' })
    .command(
      'plan <roots..>',
      'scan ROOTs and write a plan of link operations (changes nothing else)',
      (y) =>
        y
          .positional('roots', { type: 'string', array: true, describe: 'directories to deduplicate' })
          .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'plan file to write (JSON Lines, written atomically)' })
          .option('store', { type: 'string', describe: 'store directory (default: .hash in the deepest common directory of the roots)' })
          .option('no-store', { type: 'boolean', describe: 'link duplicates to one kept copy instead of a store entry' })
          .option('adopt', { type: 'boolean', describe: "make the keeper's own inode the store entry (no copy; for trees whose writers are trusted)" })
          .option('link', { choices: ['hardlink', 'reflink'] as const, default: 'hardlink' as const, describe: 'hard links (shared inode) or copy-on-write clones (btrfs, XFS)' })
          .option('min-size', { type: 'string', default: '1', describe: 'ignore files smaller than this many bytes (empty files are never linked)' })
          .option('exclude', { type: 'string', array: true, default: [] as string[], describe: 'skip paths matching GLOB: a name (*.log), a path below a root (etc/**) or an absolute path; repeatable' })
          .option('algorithm', { choices: ['sha256', 'sha512'] as const, default: 'sha256' as const, describe: 'content hash' })
          .option('ignore-mtime', { type: 'boolean', describe: 'link files even when their modification times differ' })
          .option('ignore-owner', { type: 'boolean', describe: 'link files even when their owner or group differ' })
          .option('ignore-mode', { type: 'boolean', describe: 'link files even when their permission bits differ' })
          .option('ignore-xattrs', { type: 'boolean', describe: 'link files even when their extended attributes (ACLs, capabilities, SELinux labels) differ' })
          .option('cache', { type: 'string', describe: 'hash cache file (default: $XDG_CACHE_HOME/hashify/hashes.msgpack)' })
          .option('no-cache', { type: 'boolean', describe: 'do not read or write the hash cache' })
          .option('link-max', { type: 'number', describe: 'most links per inode (default: the filesystem limit, 65000 on ext4)' })
          .option('threads', { type: 'number', describe: 'hashing threads (default: one per core)' })
          .example('$0 plan /vservers/a /vservers/b -o plans/guests.plan.jsonl', 'store in /vservers/.hash')
          .example("$0 plan /srv/builds --no-store --exclude '*.log' -o builds.plan.jsonl", 'link to kept copies'),
      run(async (a, out) => {
        const { runPlan } = await import('./cli/plan.js');
        await runPlan(
          {
            ...(a as GlobalOptions),
            roots: a.roots as string[],
            output: a.output as string,
            store: a.store as string | undefined,
            noStore: a.store === false || Boolean(a.noStore),
            adopt: Boolean(a.adopt),
            link: a.link as 'hardlink' | 'reflink',
            minSize: String(a.minSize),
            exclude: (a.exclude as string[]) ?? [],
            algorithm: a.algorithm as 'sha256' | 'sha512',
            ignoreMtime: a.ignoreMtime as boolean,
            ignoreOwner: a.ignoreOwner as boolean,
            ignoreMode: a.ignoreMode as boolean,
            ignoreXattrs: a.ignoreXattrs as boolean,
            cache: a.cache === false || a.noCache ? false : (a.cache as string | undefined),
            linkMax: a.linkMax as number | undefined,
            threads: a.threads as number | undefined,
          },
          out,
        );
        return EXIT.ok;
      }),
    )
    .command(
      'show <plan>',
      'validate a plan and summarise it for review, with its digest',
      (y) => planOption(y).option('ops', { type: 'boolean', describe: 'list every operation' }).option('top', { type: 'number', default: 10, describe: 'how many of the largest groups to list' }),
      run(async (a, out) => (await import('./cli/show.js')).runShow({ ...(a as GlobalOptions), plan: a.plan as string, ops: a.ops as boolean, top: a.top as number }, out)),
    )
    .command(
      'verify <plan>',
      'check every operation against the filesystem now: applicable, done or drifted (exit 3 on drift)',
      (y) => planOption(y),
      run(async (a, out) => (await import('./cli/verify.js')).runVerify({ ...(a as GlobalOptions), plan: a.plan as string }, out)),
    )
    .command(
      'apply <plan>',
      'execute the plan: journaled, resumable, idempotent',
      (y) =>
        planOption(y)
          .option('expect', { type: 'string', describe: 'refuse to run unless the plan digest is exactly this (from `show`)' })
          .option('journal', { type: 'string', describe: 'journal file (default: PLAN.journal)' })
          .option('on-drift', { choices: ['skip', 'abort'] as const, default: 'skip' as const, describe: 'a file changed since planning: skip it, or stop the run' })
          .option('verify-content', { type: 'boolean', describe: 'compare the bytes with the target right before each link' })
          .example('$0 apply plans/guests.plan.jsonl --expect sha256-…', 'apply the approved plan; run it again to resume'),
      run(async (a, out) =>
        (await import('./cli/apply.js')).runApply(
          {
            ...(a as GlobalOptions),
            plan: a.plan as string,
            expect: a.expect as string | undefined,
            journal: a.journal as string | undefined,
            onDrift: a.onDrift as 'skip' | 'abort',
            verifyContent: Boolean(a.verifyContent),
          },
          out,
        ),
      ),
    )
    .command(
      'status <plan>',
      "progress of the plan's apply, from its journal",
      (y) => planOption(y).option('journal', { type: 'string', describe: 'journal file (default: PLAN.journal)' }),
      run(async (a, out) => (await import('./cli/status.js')).runStatus({ ...(a as GlobalOptions), plan: a.plan as string, journal: a.journal as string | undefined }, out)),
    )
    .command(
      'undo <plan>',
      'give every path the apply relinked its own inode again, with its recorded metadata',
      (y) => planOption(y).option('journal', { type: 'string', describe: 'journal of the apply (default: PLAN.journal)' }),
      run(async (a, out) => (await import('./cli/undo.js')).runUndo({ ...(a as GlobalOptions), plan: a.plan as string, journal: a.journal as string | undefined }, out)),
    )
    .command(
      'gc <store>',
      'remove store entries that no file uses any more (link count 1)',
      (y) => y.positional('store', { type: 'string', demandOption: true }).option('dry-run', { type: 'boolean', describe: 'only list what would be removed' }),
      run(async (a, out) => (await import('./cli/gc.js')).runGc({ ...(a as GlobalOptions), store: a.store as string, dryRun: Boolean(a.dryRun) }, out)),
    )
    .demandCommand(1, 'Name a command: plan, show, verify, apply, status, undo or gc.')
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`hashify: ${msg}\nRun \`hashify --help\` for usage.\n`);
      process.exit(EXIT.usage);
    })
    .parseAsync();
}

main().then(
  () => {
    process.exitCode = exitCode;
  },
  (err) => {
    process.stderr.write(`hashify: ${(err as Error).message}\n`);
    process.exitCode = EXIT.failure;
  },
);
