#!/usr/bin/env bash
# bench/plan/assemble.sh CORPUS [RUNS] DIST...: the "assemble and write" phase of
# `hashify plan --no-cache CORPUS` (HASHIFY_TIMING's lines: wall ms, and process CPU ms of all
# threads, the plan writer's included, since the phase before), each run a fresh process, the
# builds alternating; the plan goes to a temp dir. Prints the medians per build. E.g.
#   bench/plan/assemble.sh /var/tmp/hashify-bench/usr-small 8 /work/wt/integ/dist dist
set -euo pipefail
corpus=$(realpath "${1:?usage: bench/plan/assemble.sh CORPUS [RUNS] DIST...}"); runs=${2:-7}; shift 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for ((i = 0; i < runs; i++)); do
  for d in "$@"; do
    HASHIFY_TIMING=1 node "$(realpath "$d")/cli.js" plan --no-cache -o "$tmp/plan.json" "$corpus" 2>&1 |
      awk -v d="$d" '/timing: save cache/ {match($0, /cpu [0-9]+/); c0 = substr($0, RSTART + 4, RLENGTH - 4)}
        /timing: assemble and write/ {match($0, /write [0-9]+/); w = substr($0, RSTART + 6, RLENGTH - 6); match($0, /cpu [0-9]+/); print d, w, substr($0, RSTART + 4, RLENGTH - 4) - c0}' >>"$tmp/times"
    rm -f "$tmp/plan.json"
  done
done
for d in "$@"; do
  for c in 2 3; do grep "^$d " "$tmp/times" | awk -v c=$c '{print $c}' | sort -n | tr '\n' ' '; echo; done |
    awk -v d="$d" 'NR == 1 {n = split($0, w, " ")} NR == 2 {split($0, u, " ")} END {printf "%-40s assemble and write: median %d ms wall, %d ms CPU (%d runs)\n", d, w[int((n + 1) / 2)], u[int((n + 1) / 2)], n}'
done
