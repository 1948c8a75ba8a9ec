// The measurements the plan issue's "Done when" names that the warm table does not give:
// plan against the fastest of jdupes, hardlink -n and rdfind; plan cold (page cache dropped
// before every run); re-plan of a tree already applied, with its hash cache, against
// `find -printf`; and memory per file net of what an empty tree costs.
import { execFileSync } from 'node:child_process';
import { realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The peers the target names (rmlint and fdupes are shown, not compared). */
export const TARGET_PEERS = ['jdupes -r -q', 'hardlink -n', 'rdfind -dryrun'];

export const median = (xs) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

/** The fastest of the target peers' medians, and which one it is. */
export function fastestPeer(med) {
  let best = { name: 'none', secs: NaN };
  for (const name of TARGET_PEERS) {
    const s = med.get(name)?.secs;
    if (Number.isFinite(s) && !(s >= best.secs)) best = { name, secs: s };
  }
  return best;
}

/** Drops the page cache (root only); false when it cannot. */
function dropCaches() {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

/**
 * Cold runs: the page cache dropped before each run of each tool, the tools alternating.
 * Returns a map of name -> median seconds, or undefined when caches cannot be dropped.
 */
export function coldRuns(tools, runs, timed) {
  const picked = tools.filter((t) => t.name === 'hashify plan' || TARGET_PEERS.includes(t.name));
  const secs = new Map(picked.map((t) => [t.name, []]));
  for (let i = 0; i < runs; i++) {
    for (const t of picked) {
      if (!dropCaches()) return undefined;
      secs.get(t.name).push(timed(t).secs);
    }
  }
  return new Map([...secs].map(([n, s]) => [n, { secs: median(s) }]));
}

/** Peak RSS (KiB) of `hashify plan --no-cache` on an empty tree: what any plan costs. */
export function emptyRss(cli, scratch, timed) {
  const empty = join(scratch, 'empty');
  rmSync(empty, { recursive: true, force: true });
  execFileSync('mkdir', ['-p', join(empty, 'root')]);
  const rss = [1, 2, 3].map(() => timed({ cmd: ['node', cli, 'plan', join(empty, 'root'), '-o', join(empty, 'p.jsonl'), '--no-cache', '-q', '--no-progress'] }).rss);
  return median(rss);
}

/**
 * Re-plan of an applied tree: a fresh copy of `roots`' parent planned and applied, then
 * `hashify plan` with its hash cache (warmed by one untimed run) against `find -printf`
 * over the same tree, alternating. Returns { replan, find } medians in seconds.
 */
export function appliedReplan(cli, parent, scratch, runs, timed) {
  const copy = join(scratch, 'applied');
  rmSync(copy, { recursive: true, force: true });
  // The real directory: a BENCH_DIR may hold a symlink to a shared corpus, and `cp -a` of a
  // symlink copies the link, so the apply below would change the corpus itself.
  execFileSync('cp', ['-a', realpathSync(parent), copy]);
  const roots = execFileSync('bash', ['-c', `ls -d '${copy}'/*/`], { encoding: 'utf8' }).trim().split('\n').map((r) => r.replace(/\/$/, ''));
  const cache = join(scratch, 'applied.cache');
  const plan = join(scratch, 'applied.plan.jsonl');
  execFileSync('node', [cli, 'plan', ...roots, '-o', plan, '--cache', cache, '-q']);
  execFileSync('node', [cli, 'apply', plan, '-q']);
  const tools = [
    { name: 're-plan', cmd: ['node', cli, 'plan', ...roots, '-o', join(scratch, 'applied.re.jsonl'), '--cache', cache, '-q', '--no-progress'] },
    { name: 'find', cmd: ['find', ...roots, '-type', 'f', '-printf', '%s %i %n\\n'] },
  ];
  tools.forEach((t) => timed(t)); // warms the cache (the apply changed every linked inode's ctime)
  const secs = { 're-plan': [], find: [] };
  for (let i = 0; i < runs; i++) for (const t of tools) secs[t.name].push(timed(t).secs);
  rmSync(copy, { recursive: true, force: true });
  return { replan: median(secs['re-plan']), find: median(secs.find) };
}
