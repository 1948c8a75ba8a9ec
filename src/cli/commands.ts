/**
 * The command table: each command with its yargs options (typed by yargs) and a handler that
 * loads the command's file only when it runs; the global options; and the exit code the last
 * handler left. Only yargs' types are imported here: src/cli.ts loads yargs itself, and only
 * for command lines that src/cli/fastArgs.ts does not read.
 */
import type { Argv, ArgumentsCamelCase, CommandModule } from 'yargs';
import { EXIT, HashifyError } from '../errors.js';
import type { CloneArgs } from './clone.js';
import { Output, type GlobalOptions } from './output.js';
import type { SwitchArgs } from './switch.js';
import { parseCount, parseDigest, parseGlobs, parseOne, parsePathOrOff, parseSize } from './validate.js';

let exitCode: number = EXIT.ok;

/** The exit code of the command that ran (EXIT.ok until one ran). */
export function commandExitCode(): number {
  return exitCode;
}

/** Wraps a command's handler: its exit code, or the error's, printed once (as JSON with --json). */
function run<A extends GlobalOptions>(handler: (argv: A, out: Output) => Promise<number> | number) {
  return async (argv: A) => {
    const out = new Output(argv);
    try {
      exitCode = await handler(argv, out);
    } catch (err) {
      if (err instanceof HashifyError) {
        out.error(err.code, err.message, err.hint);
        exitCode = err.exitCode;
      } else {
        const e = err as NodeJS.ErrnoException;
        out.error(e?.code ?? 'IO', e?.message ?? String(err));
        if (process.env.HASHIFY_DEBUG && e?.stack) process.stderr.write(e.stack + '\n');
        exitCode = EXIT.failure;
      }
    }
  };
}

export type Globals = { json: boolean | undefined; quiet: boolean | undefined; progress: boolean | undefined };
/** One command of the table: its handler is type-checked against the options its builder declares. */
function command<U extends GlobalOptions>(m: {
  command: string;
  describe: string;
  builder: (y: Argv<Globals>) => Argv<U>;
  handler: (argv: ArgumentsCamelCase<U>, out: Output) => Promise<number> | number;
}): CommandModule<Globals, U> {
  return { command: m.command, describe: m.describe, builder: m.builder, handler: run(m.handler) };
}
/** Positional `<plan>` of the commands that read a plan. */
const planOption = <T>(y: Argv<T>) => y.positional('plan', { type: 'string', describe: 'the plan file', demandOption: true });
const journalOption = { type: 'string', requiresArg: true, describe: 'journal file (default: PLAN.journal)', coerce: (v: unknown) => (v === undefined ? undefined : parseOne('--journal', v)) } as const;

const planCommand = command({
  command: 'plan <roots..>',
  describe: 'scan ROOTs and write a plan of link operations (changes nothing else)',
  builder: (y) =>
    y
      .positional('roots', { type: 'string', array: true, demandOption: true, describe: 'directories to deduplicate' })
      .option('output', { alias: 'o', type: 'string', demandOption: true, requiresArg: true, describe: 'plan file to write (JSON Lines, written atomically; `-` is refused)', coerce: (v: unknown) => parseOne('--output', v) })
      .option('store', { type: 'string', describe: 'store directory (default: .hash in the deepest common directory of the roots); --no-store links duplicates to one kept copy instead', coerce: (v: unknown) => parsePathOrOff('--store', v) })
      .option('link', { choices: ['hardlink', 'reflink'] as const, default: 'hardlink' as const, describe: 'hard links (shared inode) or copy-on-write clones (btrfs, XFS)' })
      .option('min-size', { type: 'string', default: '1', describe: 'ignore files smaller than this (bytes, or with a suffix: 4k, 1M, 2G); empty files are never linked', coerce: (v: unknown) => parseSize('--min-size', v) })
      .option('exclude', { type: 'string', array: true, nargs: 1, default: [] as string[], describe: 'skip paths matching GLOB: a name (*.log), a path below a root (etc/**) or an absolute path; one GLOB per --exclude, repeatable', coerce: (v: unknown) => parseGlobs('--exclude', v) })
      .option('algorithm', { choices: ['sha256', 'sha512'] as const, default: 'sha256' as const, describe: 'content hash' })
      .option('ignore-mtime', { type: 'boolean', describe: 'link files even when their modification times differ' })
      .option('ignore-owner', { type: 'boolean', describe: 'link files even when their owner or group differ' })
      .option('ignore-mode', { type: 'boolean', describe: 'link files even when their permission bits differ' })
      .option('adopt', { type: 'boolean', default: false, describe: "make each new store entry the keeper's own inode instead of a verified copy (trusted trees only: its writers can then change the entry)" })
      .option('ignore-xattrs', { type: 'boolean', describe: 'link files even when their extended attributes (ACLs, capabilities, SELinux labels) differ' })
      .option('cache', { type: 'string', describe: 'hash cache file (default: $XDG_CACHE_HOME/hashify/hashes.msgpack); --no-cache reads and writes none', coerce: (v: unknown) => parsePathOrOff('--cache', v) })
      .option('link-max', { type: 'string', describe: 'most links per inode, at least 2 (default: the filesystem limit, 65000 on ext4)', coerce: (v: unknown) => parseCount('--link-max', v, 2) })
      .option('threads', { type: 'string', describe: 'hashing threads, at least 1 (default: one per core)', coerce: (v: unknown) => parseCount('--threads', v, 1) })
      .example('$0 plan /vservers/a /vservers/b -o plans/guests.plan.jsonl', 'store in /vservers/.hash')
      .example("$0 plan /srv/builds --no-store --exclude '*.log' -o builds.plan.jsonl", 'link to kept copies'),
  handler: async (a, out) => {
    await (await import('./plan.js')).runPlan(a, out);
    return EXIT.ok;
  },
});

const showCommand = command({
  command: 'show <plan>',
  describe: 'validate a plan and summarise it for review, with its digest',
  builder: (y) =>
    planOption(y)
      .option('ops', { type: 'boolean', describe: 'list every operation (with --json: as "operations")' })
      .option('groups', { type: 'boolean', describe: 'list every group: its store entry, the file that becomes it, and every path linked to it' })
      .option('top', { type: 'string', default: '10', describe: 'how many of the largest groups to list', coerce: (v: unknown) => parseCount('--top', v, 0) }),
  handler: async (a, out) => (await import('./show.js')).runShow(a, out),
});

const verifyCommand = command({
  command: 'verify <plan>',
  describe: 'check every operation against the filesystem now: applicable, done or drifted (exit 3 on drift)',
  builder: (y) => planOption(y).option('content', { type: 'boolean', default: false, describe: 'also re-hash the target of every done operation (finds in-place writes through a shared inode)' }),
  handler: async (a, out) => (await import('./verify.js')).runVerify(a, out),
});

const applyCommand = command({
  command: 'apply <plan>',
  describe: 'execute the plan: journaled, resumable, idempotent',
  builder: (y) =>
    planOption(y)
      .option('expect', { type: 'string', requiresArg: true, describe: 'refuse to run unless the plan digest is exactly this (from `show`)', coerce: (v: unknown) => (v === undefined ? undefined : parseDigest('--expect', v)) })
      .option('journal', journalOption)
      .option('on-drift', { choices: ['skip', 'abort'] as const, default: 'skip' as const, describe: 'a file changed since planning: skip it, or stop the run' })
      .option('verify-content', { type: 'boolean', default: false, describe: 'compare the bytes with the target right before each link' })
      .example('$0 apply plans/guests.plan.jsonl --expect sha256-…', 'apply the approved plan; run it again to resume'),
  handler: async (a, out) => (await import('./apply.js')).runApply(a, out),
});

const statusCommand = command({
  command: 'status <plan>',
  describe: "progress of the plan's apply, from its journal",
  builder: (y) => planOption(y).option('journal', journalOption),
  handler: async (a, out) => (await import('./status.js')).runStatus(a, out),
});

const undoCommand = command({
  command: 'undo <plan>',
  describe: 'give every path the apply relinked its own inode again, with its recorded metadata',
  builder: (y) => planOption(y).option('journal', { ...journalOption, describe: 'journal of the apply (default: PLAN.journal)' }),
  handler: async (a, out) => (await import('./undo.js')).runUndo(a, out),
});

const gcCommand = command({
  command: 'gc <store>',
  describe: 'remove store entries that no file uses any more (link count 1)',
  builder: (y) => y.positional('store', { type: 'string', demandOption: true }).option('dry-run', { type: 'boolean', default: false, describe: 'only list what would be removed' }),
  handler: async (a, out) => (await import('./gc.js')).runGc(a, out),
});

const fsckCommand = command({
  command: 'fsck <store>',
  describe: 'hash every store entry again; report entries whose bytes no longer match their name, and anything that is not an entry',
  builder: (y) =>
    y
      .positional('store', { type: 'string', demandOption: true })
      .option('plan', { type: 'string', requiresArg: true, describe: 'also list the paths this plan linked to each damaged entry', coerce: (v: unknown) => (v === undefined ? undefined : parseOne('--plan', v)) }),
  handler: async (a, out) => (await import('./fsck.js')).runFsck(a, out),
});

const memoryCommand = command({
  command: 'memory <plan>',
  describe: 'after an apply: page cache the shared inodes hold, the processes and roots mapping them, and who must restart to share',
  builder: (y) => planOption(y),
  handler: async (a, out) => (await import('./memory.js')).runMemory(a, out),
});

const runClone = async (a: CloneArgs, out: Output) => (await import('./clone.js')).runClone(a, out);
const runSwitch = async (a: SwitchArgs, out: Output) => (await import('./switch.js')).runSwitch(a, out);

export const cloneCommand = command({
  command: 'clone <src> <dst>',
  describe: 'make DST a copy of SRC whose store-backed files are links to the store; DST appears whole or not at all',
  builder: (y) =>
    y
      .positional('src', { type: 'string', demandOption: true })
      .positional('dst', { type: 'string', demandOption: true })
      .option('store', { type: 'string', requiresArg: true, describe: 'store to link from (default: .hash in the deepest common directory of SRC and DST)', coerce: (v: unknown) => (v === undefined ? undefined : parseOne('--store', v)) }),
  handler: (a, out) => runClone(a, out),
});

export const switchCommand = command({
  command: 'switch <a> <b>',
  describe: 'exchange the directories A and B in one atomic rename (again: the way back)',
  builder: (y) => y.positional('a', { type: 'string', demandOption: true }).positional('b', { type: 'string', demandOption: true }),
  handler: (a, out) => runSwitch(a, out),
});

/** Every command, in the order `--help` lists them. Add a command here (and to hashify.1). */
export const COMMANDS = [planCommand, showCommand, verifyCommand, applyCommand, statusCommand, undoCommand, gcCommand, fsckCommand, memoryCommand, cloneCommand, switchCommand] as CommandModule<Globals, unknown>[];

/** The handlers of the command lines src/cli/fastArgs.ts reads, the same as yargs runs them. */
export const FAST_HANDLERS = { clone: run(runClone), switch: run(runSwitch) };

/** The options every command takes. */
export function globalOptions(y: Argv): Argv<Globals> {
  return y
    .option('json', { type: 'boolean', describe: 'print the result as JSON on stdout (errors too: { "error": { "code", "message" } }); no human text' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'print only warnings and errors; no progress' })
    .option('progress', { type: 'boolean', describe: 'show progress on stderr (default: only when stderr is a terminal and not --quiet)' }) as Argv<Globals>;
}
