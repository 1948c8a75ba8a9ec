/**
 * `hashify plan ROOT... -o FILE`: checks everything it can before any work (the output,
 * the roots and store, the cache), runs the pipeline (src/plan/makePlan.ts) and prints the
 * result. SIGINT or SIGTERM stop it at once: nothing was changed but a temp plan, which is
 * removed, and the exit code says so (130 / 143).
 */
import { availableParallelism } from 'node:os';
import { EXIT } from '../errors.js';
import { HashCache, defaultCachePath } from '../hash/hashCache.js';
import { linkMaxOf } from '../store/linkMax.js';
import { resolveRoots } from '../plan/resolveRoots.js';
import { checkPlanOutput } from '../plan/planOutput.js';
import { makePlan } from '../plan/makePlan.js';
import { spaceText } from '../plan/spaceFigures.js';
import type { Algorithm, LinkMode } from '../planfile/records.js';
import { displayPath, jsonText, shellWord } from '../pathBytes.js';
import { Output, formatBytes, formatProgress, type GlobalOptions } from './output.js';
import { dropEarlySignals } from './earlySignals.js';

/** What `plan` reads from the parsed command line (yargs' types, see src/cli.ts). */
export interface PlanArgs extends GlobalOptions {
  roots: string[];
  output: string;
  /** A directory, false for --no-store, undefined for the default. */
  store?: string | false;
  link: LinkMode;
  minSize: bigint;
  exclude: string[];
  algorithm: Algorithm;
  ignoreMtime?: boolean;
  ignoreOwner?: boolean;
  ignoreMode?: boolean;
  ignoreXattrs?: boolean;
  /** A file, false for --no-cache, undefined for the default. */
  cache?: string | false;
  linkMax?: number;
  threads?: number;
  adopt?: boolean;
}

/** The `--json` keys the SPEC fixes for `plan`. */
export interface PlanSummary {
  digest: string;
  files: number;
  groups: number;
  ops: number;
  bytesReclaimable: number;
  bytesApparent: number;
}

/**
 * HASHIFY_TIMING=1 prints how long each phase took and the process's CPU time so far (all
 * threads), for `make bench` and profiling; the first phase counts from the process's start.
 */
function phaseTimer(out: Output): (phase: string) => void {
  let last = performance.timeOrigin;
  const on = Boolean(process.env.HASHIFY_TIMING);
  return (phase) => {
    const now = performance.timeOrigin + performance.now();
    const cpu = process.cpuUsage();
    if (on) out.info(`timing: ${phase} ${(now - last).toFixed(0)} ms (cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, rss ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MiB)`);
    last = now;
  };
}

/** Until the plan is written, a signal ends the process at once (see the module comment). */
function stopOnSignals(out: Output, stop: AbortController): () => void {
  const handler = (sig: NodeJS.Signals) => {
    stop.abort();
    out.clearProgress();
    out.error('INTERRUPTED', `${sig}: plan stopped; no plan was written and nothing was changed`, 'run the same command again; the hash cache was not saved');
    process.exit(sig === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  dropEarlySignals(); // after: a signal not yet dispatched then reaches this handler
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Runs `hashify plan` with parsed arguments; prints the summary and returns it. */
export async function runPlan(args: PlanArgs, out: Output): Promise<PlanSummary> {
  const started = process.hrtime.bigint();
  const phase = phaseTimer(out);
  phase('start-up');
  const output = checkPlanOutput(args.output);
  const { roots, store } = resolveRoots({ roots: args.roots, store: args.store || undefined, noStore: args.store === false, link: args.link });
  const cacheFile = args.cache === false ? undefined : args.cache ?? defaultCachePath();
  const cache = cacheFile ? HashCache.load(cacheFile, (m) => out.warn(m), args.cache === undefined) : HashCache.disabled();
  phase('check and load the cache');
  const match = { mtime: !args.ignoreMtime, owner: !args.ignoreOwner, mode: !args.ignoreMode, xattrs: !args.ignoreXattrs };
  const stop = new AbortController();
  const unhook = stopOnSignals(out, stop);
  let hashStart = 0, totalBytes = 0, totalFiles = 0;
  let made;
  try {
    made = await makePlan(
      {
        roots,
        store,
        output,
        link: args.link,
        algorithm: args.algorithm,
        minSize: args.minSize < 1n ? 1n : args.minSize,
        exclude: args.exclude,
        match,
        linkMax: args.linkMax ?? linkMaxOf(roots[0]),
        adopt: args.adopt,
        threads: args.threads ?? Math.max(1, availableParallelism()),
        cache,
      },
      {
        warn: (m) => out.warn(m),
        scanned: (files) => out.progress(`scanning: ${files} files`),
        hashStart: (bytes, files) => {
          hashStart = Date.now();
          totalBytes = bytes;
          totalFiles = files;
          // Drawn at once: the phase may end before the next redraw is due.
          out.progress(formatProgress('hashing', 0, totalFiles, 0, totalBytes, 0), true);
        },
        hashed: (bytes, files) => out.progress(formatProgress('hashing', Math.min(files, totalFiles), totalFiles, bytes, totalBytes, (Date.now() - hashStart) / 1000)),
        phase,
      },
      stop.signal,
    );
  } finally {
    unhook();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const summary: PlanSummary = { digest: made.digest, files: made.files, groups: made.groups, ops: made.ops, bytesReclaimable: Number(made.bytesReclaimable), bytesApparent: Number(made.bytesApparent) };
  out.result(
    { ...summary, storeEntries: made.storeEntries, bytesRead: made.bytesRead, cacheHits: made.cacheHits, seconds: Number(seconds.toFixed(3)), plan: jsonText(output) },
    () => [
      `Scanned ${made.files} files (${formatBytes(made.bytesScanned)}) in ${roots.length} root(s); read ${formatBytes(made.bytesRead)} to hash ${made.filesHashed} files (${made.cacheHits} from the cache).`,
      `Planned ${made.ops} links in ${made.groups} groups${store ? `, ${made.storeEntries} store entries in ${displayPath(store)}` : ''}: ${spaceText(made.space, made.bytesApparent, formatBytes)} reclaimable.`,
      ...(made.changedWhileScanning ? [`${made.changedWhileScanning} files changed while scanning and were left out.`] : []),
      `Plan written to ${displayPath(output)} in ${seconds.toFixed(2)}s.`,
      `Digest: ${made.digest}`,
      `Review it with: hashify show ${shellWord(output)}`,
    ],
  );
  return summary;
}
