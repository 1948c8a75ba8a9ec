// Runs every tool on every corpus, alternately, BENCH_RUNS times after one untimed warm-up
// each (warm page cache), and prints a Markdown table of medians, ratios and peak RSS. Then
// the full job on fresh copies of the guests, checked for correctness. Exits non-zero when a
// correctness check fails.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { appliedReplan, coldRuns, emptyRss, fastestPeer, median, TARGET_PEERS } from './targets.mjs';

const dir = process.env.BENCH_DIR;
const runs = Number(process.env.BENCH_RUNS);
const guestsDir = join(dir, `guests-${process.env.BENCH_GUESTS}`);
const cli = join(process.cwd(), 'dist/cli.js');
const scratch = mkdtempSync(join(tmpdir(), 'hashify-bench-'));
const cacheFile = join(scratch, 'replan.cache');

const sub = (d) => (!existsSync(d) ? [] : readdirSync(d)).filter((n) => !n.startsWith('.')).sort().map((n) => join(d, n));
const only = process.env.BENCH_CORPORA ? process.env.BENCH_CORPORA.split(',') : undefined; // e.g. million,full
const timeoutSecs = Number(process.env.BENCH_TIMEOUT ?? 600);
const allCorpora = [
  { name: 'guests', roots: sub(guestsDir) },
  { name: 'usr-small', roots: sub(join(dir, 'usr-small')) },
  { name: 'bigfiles', roots: [join(dir, 'bigfiles')] },
  ...(process.env.BENCH_SKIP_MILLION ? [] : [{ name: 'million', roots: [join(dir, 'million')], files: Number(process.env.BENCH_MILLION) }]),
];
const corpora = allCorpora.filter((c) => !only || only.includes(c.name)); // `applied` and `full` come after

/** The duplicate-finding phase of each tool: nothing is changed on disk. */
const tools = (roots) => [
  { name: 'hashify plan', cmd: ['node', cli, 'plan', ...roots, '-o', join(scratch, 'p.plan.jsonl'), '--no-cache', '-q', '--no-progress'], hashify: true },
  { name: 'hashify re-plan (cache)', cmd: ['node', cli, 'plan', ...roots, '-o', join(scratch, 'r.plan.jsonl'), '--cache', cacheFile, '-q', '--no-progress'], hashify: true },
  { name: 'jdupes -r -q', cmd: ['jdupes', '-r', '-q', ...roots] },
  { name: 'hardlink -n', cmd: ['hardlink', '-n', '-q', ...roots] },
  { name: 'rdfind -dryrun', cmd: ['rdfind', '-dryrun', 'true', '-makeresultsfile', 'false', ...roots] },
  // (rmlint replaces its output file by rename: never give it /dev/null.)
  { name: 'rmlint', cmd: ['rmlint', '-o', `fdupes:${join(scratch, 'rmlint.out')}`, '-T', 'df', ...roots], cwd: scratch },
  { name: 'fdupes -r -q', cmd: ['fdupes', '-r', '-q', ...roots], slow: true },
  { name: 'floor: find -type f', cmd: ['find', ...roots, '-type', 'f'], floor: true },
  { name: 'floor: find -type f -printf %s %i %n', cmd: ['find', ...roots, '-type', 'f', '-printf', '%s %i %n\\n'], floor: true },
  // Through a pipe: GNU cat may hand a copy to /dev/null to the kernel without reading it.
  { name: 'floor: cat size-shared files', cmd: ['bash', '-c', `xargs -0 cat < ${join(scratch, 'shared.list')} | cat > /dev/null`], floor: true },
];

/** Runs one command under GNU time: seconds and peak RSS (KiB). */
function timed(t) {
  const out = join(scratch, 'time.out');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', '-o', out, 'timeout', String(timeoutSecs), ...t.cmd], {
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd: t.cwd ?? process.cwd(),
    maxBuffer: 1 << 26,
  });
  const [secs, rss] = readFileSync(out, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  // jdupes, fdupes, rmlint and rdfind exit non-zero when they find duplicates; only a timeout or a kill is an error.
  if (r.status === 124 || r.signal) return { secs: NaN, rss: NaN };
  return { secs, rss };
}

/** Paths of the files whose size is shared with another file: what any tool must read. */
function sharedList(roots) {
  const bySize = new Map();
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const s = lstatSync(p).size;
        if (s === 0) continue;
        const list = bySize.get(s);
        if (list) list.push(p);
        else bySize.set(s, [p]);
      }
    }
  };
  roots.forEach(walk);
  let bytes = 0;
  const paths = [];
  for (const [size, ps] of bySize) if (ps.length > 1) for (const p of ps) (paths.push(p), (bytes += size));
  writeFileSync(join(scratch, 'shared.list'), paths.join('\0'));
  return bytes;
}

const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

const lines = [];
const say = (s = '') => {
  lines.push(s);
  console.log(s);
};
const machine = () => {
  const fs = execFileSync('df', ['-T', dir], { encoding: 'utf8' }).split('\n')[1].split(/\s+/)[1];
  return `${cpus().length} × ${cpus()[0].model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}, ${fs} at ${dir}, Node ${process.version}`;
};

say(`# hashify benchmark, ${new Date().toISOString().slice(0, 10)}`);
say();
say(`Machine: ${machine()}. Warm page cache; ${runs} timed runs per tool, alternating; median seconds.`);
say(`Load when starting: ${execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).trim()} (other work on the machine falls on every tool alike: the runs alternate).`);
if (process.env.BENCH_CA_UNSET) say(`NODE_EXTRA_CA_CERTS (${process.env.BENCH_CA_UNSET}), which this environment sets, is unset for every command timed here: it makes each Node start parse that bundle first (BENCH_KEEP_CA=1 keeps it).`);
say(`Targets: \`plan --no-cache\` ≤ 1.0× the fastest of ${TARGET_PEERS.join(', ')} on every corpus, warm, and on the guests cold; re-plan of an applied tree ≤ 3× \`find -printf\`; (peak RSS at 1M files − peak RSS on an empty tree) / 1M ≤ 120 B; plan+apply ≤ 0.7× \`hardlink -t -X\` (issue 10).`);
let failed = false;

for (const c of corpora) {
  const bytes = sharedList(c.roots);
  const files = Number(execFileSync('bash', ['-c', `find ${c.roots.map((r) => `'${r}'`).join(' ')} -type f | wc -l`], { encoding: 'utf8' }));
  const skipTools = (process.env.BENCH_SKIP_TOOLS ?? '').split(',').filter(Boolean); // e.g. rmlint,fdupes
  const ts = tools(c.roots).filter((t) => !(t.slow && c.name === 'million') && !skipTools.some((n) => t.name.startsWith(n)));
  // Warm-up (and warms the hashify cache); a tool that times out here is not run again.
  const timedOut = new Set(ts.filter((t) => Number.isNaN(timed(t).secs)).map((t) => t.name));
  const results = new Map(ts.map((t) => [t.name, { secs: [], rss: [] }]));
  for (let i = 0; i < runs; i++) {
    for (const t of ts) {
      const r = timedOut.has(t.name) ? { secs: NaN, rss: NaN } : timed(t);
      results.get(t.name).secs.push(r.secs);
      results.get(t.name).rss.push(r.rss);
    }
  }
  const med = new Map([...results].map(([n, r]) => [n, { secs: median(r.secs), rss: Math.max(...r.rss.filter((x) => !Number.isNaN(x))) }]));
  const plan = med.get('hashify plan').secs;
  const planJson = JSON.parse(execFileSync('node', [cli, 'plan', ...c.roots, '-o', join(scratch, 'p.plan.jsonl'), '--no-cache', '-q', '--json'], { encoding: 'utf8' }));
  const fastest = fastestPeer(med);
  say();
  say(`## ${c.name}: ${files} files, ${(bytes / 2 ** 20).toFixed(0)} MiB in files whose size is shared; hashify plan read ${(planJson.bytesRead / 2 ** 20).toFixed(0)} MiB`);
  say();
  say('| tool | median s | hashify plan ÷ tool | peak RSS MiB |');
  say('|---|---:|---:|---:|');
  for (const t of ts) {
    const m = med.get(t.name);
    if (timedOut.has(t.name)) say(`| ${t.name} | > ${timeoutSecs} (stopped) | < ${fmt(plan / timeoutSecs)} | |`);
    else say(`| ${t.name} | ${fmt(m.secs)} | ${t.hashify ? '' : fmt(plan / m.secs)} | ${fmt(m.rss / 1024, 0)} |`);
  }
  // (A tool left out with BENCH_SKIP_TOOLS has no median: its ratios show as n/a.)
  const replan = med.get('hashify re-plan (cache)')?.secs;
  const find = med.get('floor: find -type f')?.secs;
  say();
  say(`plan ÷ fastest of the named peers (${fastest.name}): **${fmt(plan / fastest.secs)}** (target ≤ 1.0); re-plan of this unchanged tree ÷ \`find -type f\`: ${fmt(replan / find)}`);
  if (c.files) {
    const empty = emptyRss(cli, scratch, timed);
    say(`memory: (peak RSS ${fmt(med.get('hashify plan').rss / 1024, 0)} MiB − ${fmt(empty / 1024, 0)} MiB on an empty tree) / ${files} files = **${fmt(((med.get('hashify plan').rss - empty) * 1024) / files, 0)} B per file** (target ≤ 120)`);
  }
  if (c.name === 'guests' && process.env.BENCH_COLD !== '0') {
    const cold = coldRuns(ts, runs, timed);
    say();
    if (!cold) say('cold: skipped (cannot write /proc/sys/vm/drop_caches: not root)');
    else {
      const f = fastestPeer(cold);
      say(`cold (page cache dropped before every run, ${runs} runs alternating): ${[...cold].map(([n, m]) => `${n} ${fmt(m.secs)} s`).join(', ')}; plan ÷ ${f.name}: **${fmt(cold.get('hashify plan').secs / f.secs)}** (target ≤ 1.0)`);
    }
  }
}

if (!only || only.includes('applied')) {
  const r = appliedReplan(cli, guestsDir, scratch, runs, timed);
  say();
  say(`## applied: a copy of the guests after \`plan\` + \`apply\`, re-planned with its hash cache (nothing to do)`);
  say();
  say(`re-plan ${fmt(r.replan)} s, \`find -type f -printf '%s %i %n'\` ${fmt(r.find)} s (medians of ${runs}, alternating): re-plan ÷ find **${fmt(r.replan / r.find)}** (target ≤ 3.0)`);
}

// The full job on fresh copies: hashify plan + apply against hardlink -t -X (mtime ignored,
// xattrs respected, so hashify runs with --ignore-mtime for the same rule), in store mode
// (hashify's default: every content also linked into the store) and in --no-store mode
// (hardlink's model). Each copy is synced before the clock starts, as files at rest on a
// host are: otherwise the first syncfs of apply would write out the whole fresh copy.
function manifest(root) {
  const m = new Map();
  const walk = (d, rel) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.hash') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, `${rel}/${e.name}`);
      else if (e.isFile()) {
        const st = lstatSync(p);
        m.set(`${rel}/${e.name}`, { hash: createHash('sha256').update(readFileSync(p)).digest('hex'), ino: st.ino, meta: `${st.mode} ${st.uid} ${st.gid}` });
      }
    }
  };
  walk(root, '');
  return m;
}
const jobs = [
  { name: 'hashify plan --ignore-mtime + apply', tool: 'hashify', flags: [] },
  { name: 'hashify plan --ignore-mtime --no-store + apply', tool: 'hashify', flags: ['--no-store'] },
  { name: 'hardlink -t -X', tool: 'hardlink' },
];
const full = new Map(jobs.map((j) => [j.name, { secs: [], inodes: '', applyRate: [] }]));
for (let i = 0; i < (only && !only.includes('full') ? 0 : Math.min(runs, 3)); i++) {
  for (const job of jobs) {
    const copy = join(scratch, 'full');
    rmSync(copy, { recursive: true, force: true });
    // keeps owners, modes, times and xattrs exactly; the real directory, not a symlink to it (see appliedReplan)
    execFileSync('cp', ['-a', realpathSync(guestsDir), copy]);
    execFileSync('sync');
    const before = i === 0 ? manifest(copy) : undefined;
    const roots = sub(copy);
    const r = full.get(job.name);
    const start = process.hrtime.bigint();
    if (job.tool === 'hashify') {
      const plan = join(scratch, 'full.plan.jsonl');
      rmSync(`${plan}.journal`, { force: true });
      execFileSync('node', [cli, 'plan', ...roots, '-o', plan, '--no-cache', '--ignore-mtime', '-q', ...job.flags]);
      const applied = JSON.parse(execFileSync('node', [cli, 'apply', plan, '--json', '-q'], { encoding: 'utf8' }));
      r.applyRate.push(applied.ops / applied.seconds);
      if (applied.applied !== applied.ops) {
        say(`CORRECTNESS FAILURE: ${job.name} applied ${applied.applied} of ${applied.ops} operations`);
        failed = true;
      }
    } else {
      execFileSync('hardlink', ['-t', '-X', '-q', ...roots]);
    }
    r.secs.push(Number(process.hrtime.bigint() - start) / 1e9);
    if (before) {
      const after = manifest(copy);
      for (const [rel, { hash, meta }] of before) {
        const a = after.get(rel);
        if (a?.hash !== hash || a.meta !== meta) {
          say(`CORRECTNESS FAILURE: ${job.name} changed or lost ${rel}`);
          failed = true;
        }
      }
      r.inodes = `${new Set([...before.values()].map((v) => v.ino)).size} → ${new Set([...after.values()].map((v) => v.ino)).size}`;
    }
    rmSync(copy, { recursive: true, force: true });
  }
}
if (full.get(jobs[0].name).secs.length) {
  const hl = median(full.get('hardlink -t -X').secs);
  say();
  say(`## full job on fresh, synced copies of the guests (plan + apply vs hardlink -t -X)`);
  say();
  say('| job | median s | ÷ hardlink -t -X | distinct inodes before → after | apply ops/s |');
  say('|---|---:|---:|---|---:|');
  for (const [name, r] of full) {
    say(`| ${name} | ${fmt(median(r.secs))} | ${name.startsWith('hardlink') ? '' : fmt(median(r.secs) / hl)} | ${r.inodes} | ${r.applyRate.length ? fmt(median(r.applyRate), 0) : ''} |`);
  }
  say();
  say(`plan+apply ÷ hardlink -t -X: **${fmt(median(full.get(jobs[0].name).secs) / hl)}** (store), **${fmt(median(full.get(jobs[1].name).secs) / hl)}** (--no-store) (target ≤ 0.7, issue 10); apply **${fmt(median(full.get(jobs[0].name).applyRate), 0)} ops/s** (issue 6 asked ≥ 20000); contents and metadata verified unchanged: ${failed ? 'NO' : 'yes'}`);
}
rmSync(scratch, { recursive: true, force: true });
if (failed) process.exit(1);
