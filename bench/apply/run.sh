#!/usr/bin/env bash
# bench/apply/run.sh CORPUS [RUNS]: `hashify apply` (its default mode, and --no-store) beside
# the C floor (bench/apply/floor.c: link + rename over the same duplicate pairs, one thread
# and two) on fresh, synced copies of CORPUS (a directory whose subdirectories are the roots).
# Each run: copy, plan (not timed), sync, then time the one command. Prints medians.
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=${1:?usage: bench/apply/run.sh CORPUS [RUNS]}
runs=${2:-3}
work=${BENCH_DIR:-/var/tmp/hashify-bench}/apply-floor
mkdir -p "$work"
cc -O2 -pthread -o "$work/floor" bench/apply/floor.c
# A snapshot of the build (inside the checkout, so node_modules resolves): a rebuild during
# a long run does not change what is measured.
rm -rf bench/out/apply-dist bench/out/schemas && mkdir -p bench/out && cp -r dist bench/out/apply-dist && cp -r schemas bench/out/schemas
cli="node bench/out/apply-dist/cli.js"
export XDG_CACHE_HOME="$work/cache"

# (realpath: a BENCH_DIR may hold a symlink to a shared corpus; cp -a would copy the link.)
# Used copies are put aside and removed together at the start of the next run, before its two
# floors: on ext4 without a journal, a new inode is not taken from those freed in the last 60 s
# (ialloc.c, recently_deleted), and copy-in makes new inodes, so a copy removed right before
# the timed `apply` would bill it for the benchmark's own `rm -rf` (~0.4 s CPU on the guests).
# The floors make no inodes. At most one run's copies (four) wait on disk.
used=0
fresh() { if [ -e "$work/copy" ]; then mv "$work/copy" "$work/used.$((used++))"; fi; cp -a "$(realpath "$corpus")" "$work/copy"; }
discard() { rm -rf "$work"/used.*; }
# --ignore-mtime: the same rule as the full job of bench/lib/measure.mjs (hardlink -t).
plan() { rm -f "$work/p.plan.jsonl.journal" "$work/p.plan.jsonl.undo.journal"; $cli plan "$work"/copy/*/ -o "$work/p.plan.jsonl" -q --ignore-mtime "$@"; }
# The duplicate pairs of a --no-store plan as "target<TAB>copy": what the floor relinks.
pairs() {
  plan --no-store
  node -e '
    const out = [];
    for (const l of require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n")) {
      const r = JSON.parse(l);
      if (r.type === "link") out.push(r.target.path + "\t" + r.path);
    }
    process.stdout.write(out.join("\n") + "\n");' "$work/p.plan.jsonl" > "$work/pairs.tsv"
}
# Wall seconds, then CPU seconds (user + system: what a loaded machine distorts least); GNU
# time writes "Command exited with non-zero status N" first when the command fails.
timed() { sync; /usr/bin/time -f '%e %U %S' -o "$work/time" "$@" >/dev/null 2>"$work/stderr"; tail -n 1 "$work/time" | awk '{printf "%s/%.2f", $1, $2 + $3}'; }
# Where each apply waited (HASHIFY_TIMING: src/cli/runSession.ts), one JSON line per run, by kind.
trace() { sed -n 's/^timing: run //p' "$work/stderr" >> "$work/trace.$1"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A secs
discard; rm -f "$work"/trace.*
for ((i = 0; i < runs; i++)); do
  discard
  fresh; plan; ops=$(grep -c "\"type\":\"link\"" "$work/p.plan.jsonl" || true); pairs; sync
  secs[floor1]+="$(timed sh -c "'$work/floor' 1 < '$work/pairs.tsv'") "
  fresh; pairs; sync
  secs[floor2]+="$(timed sh -c "'$work/floor' 2 < '$work/pairs.tsv'") "
  fresh; plan; sync
  secs[apply]+="$(HASHIFY_TIMING=1 timed $cli apply "$work/p.plan.jsonl" -q) "; trace apply
  fresh; plan --no-store; sync
  secs[nostore]+="$(HASHIFY_TIMING=1 timed $cli apply "$work/p.plan.jsonl" -q) "; trace nostore
done
echo "## apply vs the C floor on fresh synced copies of $corpus ($runs runs, medians of wall and CPU seconds; $(wc -l < "$work/pairs.tsv") pairs, $ops operations in the default plan)"
for k in floor1 floor2 apply nostore; do
  m=$(tr ' ' '\n' <<<"${secs[$k]}" | grep . | cut -d/ -f1 | median)
  c=$(tr ' ' '\n' <<<"${secs[$k]}" | grep . | cut -d/ -f2 | median)
  printf '%-8s %8.3f s  cpu %7.2f s   (runs, wall/cpu seconds: %s)\n' "$k" "$m" "$c" "${secs[$k]}"
done
# What bounds apply: medians over the runs of where it waited (see src/cli/runSession.ts traceRun).
for k in apply nostore; do
  node -e '
    const runs = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const med = (xs) => xs.sort((a, b) => a - b)[(xs.length - 1) >> 1];
    const m = (f, digits = 2) => med(runs.map(f)).toFixed(digits);
    console.log(`${process.argv[2].padEnd(8)} waits (medians): plan read and checked ${m((r) => r.readSeconds)} s before the first step; lanes idle ${m((r) => r.laneIdleSeconds.reduce((a, b) => a + b, 0))} s in all; lanes waited ${m((r) => r.reaperWaitSeconds)} s in all for the reapers to free replaced inodes (${m((r) => r.reaperWaits, 0)} times); the end waited ${m((r) => r.reaperDrainSeconds)} s for the last`);
  ' "$work/trace.$k" "$k"
done
discard; rm -rf "$work/copy"
