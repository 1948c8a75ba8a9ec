/**
 * The command table: each command's operands and options declared once (src/cli/optionSpec.ts),
 * with a handler that loads the command's file only when it runs; the global options; and the
 * exit code the last handler left. Both readers of a command line work from this table:
 * yargs' builders are derived from it (src/cli/yargsCommands.ts) and src/cli/fastArgs.ts reads
 * the usual lines from it without loading yargs. Nothing here imports yargs.
 */
import { EXIT, HashifyError } from '../errors.js';
import type { ArgsOf, CommandSpec, Handler, OptionSpec, PositionalSpec } from './optionSpec.js';
import { Output, type GlobalOptions } from './output.js';
import { dropEarlySignals } from './earlySignals.js';
import { parseCount, parseDigest, parseGlobs, parseOne, parsePathOrOff, parseSize } from './validate.js';

let exitCode: number = EXIT.ok;

/** The exit code of the command that ran (EXIT.ok until one ran). */
export function commandExitCode(): number {
  return exitCode;
}

/** Wraps a command's handler: its exit code, or the error's, printed once (as JSON with --json).
 *  `stopsCleanly`: the handler takes SIGINT/SIGTERM over from the early handler (src/cli/earlySignals.ts). */
function run<A extends GlobalOptions>(handler: Handler<A>, stopsCleanly: boolean) {
  return async (argv: A) => {
    if (!stopsCleanly) dropEarlySignals();
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

/** One row of the table: its handler is type-checked against the operands and options it declares. */
function command<const P extends readonly PositionalSpec[], const O extends Record<string, OptionSpec>>(m: {
  name: string;
  describe: string;
  positionals: P;
  options: O;
  examples?: readonly (readonly [string, string])[];
  /** The handler stops cleanly on SIGINT/SIGTERM (plan, apply, undo): until it takes the
   *  signals over, they end hashify with 130/143; the other commands die by them. */
  stopsCleanly?: true;
  handler: Handler<ArgsOf<P, O>>;
}): CommandSpec {
  const { handler, stopsCleanly, ...spec } = m;
  return { ...spec, run: run(handler, stopsCleanly ?? false) as (argv: Record<string, unknown>) => Promise<void> };
}

/** The options every command takes (yargs: global options, listed first in every --help). */
export const GLOBAL_OPTIONS = {
  json: { type: 'boolean', describe: 'print the result as JSON on stdout (errors too: { "error": { "code", "message" } }); no human text' },
  quiet: { alias: 'q', type: 'boolean', describe: 'print only warnings and errors; no progress, even with --progress' },
  progress: { type: 'boolean', describe: 'show progress on stderr (default: only when stderr is a terminal; never with --quiet)' },
} as const satisfies Record<string, OptionSpec>;

/** Operand `<plan>` of the commands that read a plan. */
const PLAN = [{ name: 'plan', describe: 'the plan file' }] as const;
/** A string option given at most once, with a value. */
const one = (option: string, describe: string) => ({ type: 'string', requiresArg: true, describe, coerce: (v: unknown) => (v === undefined ? undefined : parseOne(option, v)) }) as const;

const planCommand = command({
  name: 'plan',
  describe: 'scan ROOTs and write a plan of link operations (changes nothing else)',
  positionals: [{ name: 'roots', array: true, describe: 'directories to deduplicate' }],
  options: {
    output: { alias: 'o', type: 'string', demandOption: true, requiresArg: true, describe: 'plan file to write (JSON Lines, written atomically; `-` is refused)', coerce: (v: unknown) => parseOne('--output', v) },
    store: { type: 'string', negatable: true, describe: 'store directory (default: .hash in the deepest common directory of the roots); --no-store links duplicates to one kept copy instead', coerce: (v: unknown) => parsePathOrOff('--store', v) },
    link: { choices: ['hardlink', 'reflink'], default: 'hardlink', describe: 'hard links (shared inode) or copy-on-write clones (btrfs, XFS)' },
    'min-size': { type: 'string', default: '1', describe: 'ignore files smaller than this (bytes, or with a suffix: 4k, 1M, 2G); empty files are never linked', coerce: (v: unknown) => parseSize('--min-size', v) },
    exclude: { type: 'string', array: true, default: [], describe: 'skip paths matching GLOB: a name (*.log), a path below a root (etc/**) or an absolute path; one GLOB per --exclude, repeatable', coerce: (v: unknown) => parseGlobs('--exclude', v) },
    algorithm: { choices: ['sha256', 'sha512'], default: 'sha256', describe: 'content hash' },
    'ignore-mtime': { type: 'boolean', describe: 'link files even when their modification times differ' },
    'ignore-owner': { type: 'boolean', describe: 'link files even when their owner or group differ' },
    'ignore-mode': { type: 'boolean', describe: 'link files even when their permission bits differ' },
    adopt: { type: 'boolean', default: false, describe: "make each new store entry the keeper's own inode instead of a verified copy (trusted trees only: its writers can then change the entry)" },
    'ignore-xattrs': { type: 'boolean', describe: 'link files even when their extended attributes (ACLs, capabilities, SELinux labels) differ' },
    cache: { type: 'string', negatable: true, describe: 'hash cache file (default: $XDG_CACHE_HOME/hashify/hashes.msgpack); --no-cache reads and writes none', coerce: (v: unknown) => parsePathOrOff('--cache', v) },
    'link-max': { type: 'string', describe: 'most links per inode, at least 2 (default: the filesystem limit, 65000 on ext4)', coerce: (v: unknown) => parseCount('--link-max', v, 2) },
    threads: { type: 'string', describe: 'hashing threads, at least 1 (default: one per core)', coerce: (v: unknown) => parseCount('--threads', v, 1) },
  },
  examples: [
    ['$0 plan /vservers/a /vservers/b -o plans/guests.plan.jsonl', 'store in /vservers/.hash'],
    ["$0 plan /srv/builds --no-store --exclude '*.log' -o builds.plan.jsonl", 'link to kept copies'],
  ],
  stopsCleanly: true,
  handler: async (a, out) => {
    await (await import('./plan.js')).runPlan(a, out);
    return EXIT.ok;
  },
});

const showCommand = command({
  name: 'show',
  describe: 'validate a plan and summarise it for review, with its digest',
  positionals: PLAN,
  options: {
    ops: { type: 'boolean', describe: 'list every operation (with --json: as "operations")' },
    groups: { type: 'boolean', describe: 'list every group: its store entry, the file that becomes it, and every path linked to it' },
    top: { type: 'string', default: '10', describe: 'how many of the largest groups to list', coerce: (v: unknown) => parseCount('--top', v, 0) },
  },
  handler: async (a, out) => (await import('./show.js')).runShow(a, out),
});

const verifyCommand = command({
  name: 'verify',
  describe: 'check every operation against the filesystem now: applicable, done or drifted (exit 3 on drift)',
  positionals: PLAN,
  options: { content: { type: 'boolean', default: false, describe: 'also re-hash the target of every done operation (finds in-place writes through a shared inode)' } },
  handler: async (a, out) => (await import('./verify.js')).runVerify(a, out),
});

const journal = one('--journal', 'journal file (default: PLAN.journal)');

const applyCommand = command({
  name: 'apply',
  describe: 'execute the plan: journaled, resumable, idempotent',
  positionals: PLAN,
  options: {
    expect: { type: 'string', requiresArg: true, describe: 'refuse to run unless the plan digest is exactly this (from `show`)', coerce: (v: unknown) => (v === undefined ? undefined : parseDigest('--expect', v)) },
    journal,
    'on-drift': { choices: ['skip', 'abort'], default: 'skip', describe: 'a file changed since planning: skip it, or stop the run' },
    'verify-content': { type: 'boolean', default: false, describe: 'compare the bytes with the target right before each link' },
  },
  examples: [['$0 apply plans/guests.plan.jsonl --expect sha256-…', 'apply the approved plan; run it again to resume']],
  stopsCleanly: true,
  handler: async (a, out) => (await import('./apply.js')).runApply(a, out),
});

const statusCommand = command({
  name: 'status',
  describe: "progress of the plan's apply, from its journal",
  positionals: PLAN,
  options: { journal },
  handler: async (a, out) => (await import('./status.js')).runStatus(a, out),
});

const undoCommand = command({
  name: 'undo',
  describe: 'give every path the apply relinked its own inode again, with its recorded metadata',
  positionals: PLAN,
  options: { journal: { ...journal, describe: 'journal of the apply (default: PLAN.journal)' } },
  stopsCleanly: true,
  handler: async (a, out) => (await import('./undo.js')).runUndo(a, out),
});

const gcCommand = command({
  name: 'gc',
  describe: 'remove store entries that no file uses any more (link count 1)',
  positionals: [{ name: 'store' }],
  options: { 'dry-run': { type: 'boolean', default: false, describe: 'only list what would be removed' } },
  handler: async (a, out) => (await import('./gc.js')).runGc(a, out),
});

const fsckCommand = command({
  name: 'fsck',
  describe: 'hash every store entry again; report entries whose bytes no longer match their name, and anything that is not an entry',
  positionals: [{ name: 'store' }],
  options: { plan: one('--plan', 'also list the paths this plan linked to each damaged entry') },
  handler: async (a, out) => (await import('./fsck.js')).runFsck(a, out),
});

const memoryCommand = command({
  name: 'memory',
  describe: 'after an apply: page cache the shared inodes hold, the processes and roots mapping them, and who must restart to share',
  positionals: PLAN,
  options: {},
  handler: async (a, out) => (await import('./memory.js')).runMemory(a, out),
});

const cloneCommand = command({
  name: 'clone',
  describe: 'make DST a copy of SRC whose store-backed files are links to the store; DST appears whole or not at all',
  positionals: [{ name: 'src' }, { name: 'dst' }],
  options: { store: one('--store', 'store to link from (default: .hash in the deepest common directory of SRC and DST)') },
  handler: async (a, out) => (await import('./clone.js')).runClone(a, out),
});

const switchCommand = command({
  name: 'switch',
  describe: 'exchange the directories A and B in one atomic rename (again: the way back)',
  positionals: [{ name: 'a' }, { name: 'b' }],
  options: {},
  handler: async (a, out) => (await import('./switch.js')).runSwitch(a, out),
});

/** Every command, in the order `--help` lists them. Add a command here (and to hashify.1). */
export const COMMANDS: readonly CommandSpec[] = [planCommand, showCommand, verifyCommand, applyCommand, statusCommand, undoCommand, gcCommand, fsckCommand, memoryCommand, cloneCommand, switchCommand];
