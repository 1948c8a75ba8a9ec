#!/usr/bin/env bash
# bench/apply/prepare.sh PLAN [RUNS] DIST...: the main thread's preparation of `hashify apply`
# (openForApply: read, validate and compile PLAN into executor steps; nothing is executed, so
# one plan serves every run), each run a fresh Node process, the builds alternating. Prints the
# median process CPU seconds (user + sys, Node's start included) per build. E.g.
#   bench/apply/prepare.sh /var/tmp/x/p.plan.jsonl 11 /work/main/dist dist
set -euo pipefail
plan=$(realpath "${1:?usage: bench/apply/prepare.sh PLAN [RUNS] DIST...}"); runs=${2:-7}; shift 2
times=$(mktemp); trap 'rm -f "$times"' EXIT
for ((i = 0; i < runs; i++)); do
  for d in "$@"; do
    mod=$(realpath "$d")/apply/applyPlan.js
    /usr/bin/time -f "$d %U %S" -a -o "$times" node --input-type=module -e "
      const { openForApply } = await import(process.argv[1]);
      const p = openForApply(process.argv[2], { verifyContent: false });
      p.compiled.spill.close(); p.close();" "$mod" "$plan"
  done
done
for d in "$@"; do
  grep "^$d " "$times" | awk '{print $2 + $3}' | sort -n | awk -v d="$d" '{a[NR] = $1} END {printf "%-40s median %.2f s CPU (min %.2f, %d runs)\n", d, a[int((NR + 1) / 2)], a[1], NR}'
done
