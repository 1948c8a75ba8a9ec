#!/usr/bin/env bash
# make bench: hashify against jdupes, rmlint, rdfind, fdupes and util-linux hardlink on the
# same warm trees, alternately, several times; medians, ratios, peak RSS; then the full job
# (plan + apply) against `hardlink -t -X` on fresh copies, checked for correctness.
#
#   BENCH_DIR=/var/tmp/hashify-bench   where corpora live (kept between runs)
#   BENCH_RUNS=5                       timed runs per tool and corpus
#   BENCH_GUESTS=8                     Debian guests in the `guests` corpus
#   BENCH_BIG_MB=2048                  size of each file of the `bigfiles` corpus
#   BENCH_MILLION=1000000              files of the `million` corpus (BENCH_SKIP_MILLION=1 skips it)
#   BENCH_CORPORA=million,full         only these (guests, usr-small, bigfiles, million, applied, full)
#   BENCH_SKIP_TOOLS=rmlint,fdupes    leave these tools out (names as in the table, by prefix)
#   BENCH_COLD=0                       skip the cold runs on the guests (they drop the page cache)
#   BENCH_TIMEOUT=600                  seconds before a tool is stopped (and not run again)
#   BENCH_QUICK=1                      a few minutes: 2 guests, small corpora, 3 runs
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_DIR=${BENCH_DIR:-/var/tmp/hashify-bench}
if [ -n "${BENCH_QUICK:-}" ]; then
  : "${BENCH_RUNS:=3}" "${BENCH_GUESTS:=2}" "${BENCH_BIG_MB:=64}" "${BENCH_SKIP_MILLION:=1}"
fi
export BENCH_RUNS=${BENCH_RUNS:-5} BENCH_GUESTS=${BENCH_GUESTS:-8} BENCH_BIG_MB=${BENCH_BIG_MB:-2048}
export BENCH_MILLION=${BENCH_MILLION:-1000000} BENCH_SKIP_MILLION=${BENCH_SKIP_MILLION:-}
mkdir -p "$BENCH_DIR" bench/out

# An environment that sets NODE_EXTRA_CA_CERTS (this sandbox does) makes every Node start parse
# that certificate bundle first, ~40 ms of CPU before the first line of any Node program;
# hashify makes no TLS connection and a host does not usually set it. hashify is the only Node
# command timed here, so it runs without it (BENCH_KEEP_CA=1 keeps it), and the run says so.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -z "${BENCH_KEEP_CA:-}" ]; then
  export BENCH_CA_UNSET=$NODE_EXTRA_CA_CERTS # measure.mjs says so in the results
  unset NODE_EXTRA_CA_CERTS
fi

# The peers and tools, from Debian.
need=()
for pair in jdupes:jdupes rmlint:rmlint rdfind:rdfind fdupes:fdupes debootstrap:debootstrap /usr/bin/time:time; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}"
  apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi

# Only the corpora this run measures are built (applied and full are copies of the guests).
wants() { [ -z "${BENCH_CORPORA:-}" ] || [[ ",$BENCH_CORPORA," == *",$1,"* ]]; }
if wants guests || wants applied || wants full; then bash bench/corpus/guests.sh; fi
if wants usr-small; then node bench/corpus/usrSmall.mjs "$BENCH_DIR/usr-small"; fi
if wants bigfiles; then node bench/corpus/bigFiles.mjs "$BENCH_DIR/bigfiles" "$BENCH_BIG_MB"; fi
if wants million && [ -z "$BENCH_SKIP_MILLION" ]; then node bench/corpus/million.mjs "$BENCH_DIR/million" "$BENCH_MILLION"; fi

node bench/lib/measure.mjs | tee bench/out/results.md

# clone against cp -a on a hashified guest (issue 15); BENCH_CORPORA=clone runs only this.
[ -n "${BENCH_CORPORA:-}" ] && [[ ",$BENCH_CORPORA," != *,clone,* ]] || bash bench/clone.sh | tee bench/out/clone.md
# apply beside its C floor (link + rename over the same pairs, one thread and two): bench/apply/run.sh
[ -n "${BENCH_CORPORA:-}" ] && [[ ",$BENCH_CORPORA," != *,apply,* ]] || bash bench/apply/run.sh "$BENCH_DIR/guests-$BENCH_GUESTS" "$(( BENCH_RUNS < 3 ? BENCH_RUNS : 3 ))" | tee -a bench/out/results.md
