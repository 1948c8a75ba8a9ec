#!/usr/bin/env bash
# Clone bench (issue 15): on a hashified Debian guest of the `guests` corpus, `hashify clone`
# against `cp -a` of the same guest: wall time (medians of BENCH_RUNS alternate runs, warm
# cache) and the disk the copy costs (du of DST counted beside SRC, so blocks shared with SRC
# or the store count once, for SRC). cp -a is timed alone and followed by `sync -f`, since
# clone syncs its tree before renaming it into place.
#   BENCH_DIR, BENCH_GUESTS, BENCH_RUNS as for bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/var/tmp/hashify-bench}
runs=${BENCH_RUNS:-5}
corpus="$BENCH_DIR/guests-${BENCH_GUESTS:-8}"
[ -d "$corpus/guest1" ] || { echo "bench clone: no guests corpus at $corpus (run bench/corpus/guests.sh)" >&2; exit 1; }
HASHIFY=(node "$PWD/dist/cli.js")
work="$BENCH_DIR/clone-work"

# Two guests of their own (the corpus stays as it is), hashified into work/.hash.
if [ ! -f "$work/.hashified" ]; then
  rm -rf "$work" && mkdir -p "$work"
  cp -a "$corpus/guest1" "$work/web"
  cp -a "$corpus/guest2" "$work/db"
  "${HASHIFY[@]}" plan "$work/web" "$work/db" -o "$work/guests.plan.jsonl" --no-cache --quiet
  "${HASHIFY[@]}" apply "$work/guests.plan.jsonl" --quiet
  touch "$work/.hashified"
fi

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
cost() { du -s --block-size=1K "$work/web" "$1" | tail -1 | cut -f1; }

: > "$work/t.clone"; : > "$work/t.inner"; : > "$work/t.cp"; : > "$work/t.cpsync"
# Every run writes new trees (web.next$i, web.cp$i) and nothing is removed until the end:
# removing a 200 MB tree (with the filesystem's discards) stalls the journal for seconds, and
# a timed command after it would pay for that. Each timed command starts after a sync.
rm -rf "$work"/web.next* "$work"/web.cp*
settle() { sync -f "$work"; sleep "${BENCH_SETTLE:-2}"; }
for i in $(seq 1 "$runs"); do
  settle
  t0=$(now); "${HASHIFY[@]}" clone "$work/web" "$work/web.next$i" --json > "$work/out.json"; t1=$(now)
  echo "$t1 - $t0" | bc >> "$work/t.clone"
  grep -o '"seconds":[0-9.e-]*' "$work/out.json" | cut -d: -f2 >> "$work/t.inner"
  settle
  t0=$(now); cp -a "$work/web" "$work/web.cp$i"; t1=$(now); sync -f "$work/web.cp$i"; t2=$(now)
  echo "$t1 - $t0" | bc >> "$work/t.cp"; echo "$t2 - $t0" | bc >> "$work/t.cpsync"
done
settle
json=$(HASHIFY_TIMING=1 "${HASHIFY[@]}" clone "$work/web" "$work/web.json" --json 2>"$work/timing")
clone_s=$(median < "$work/t.clone"); cp_s=$(median < "$work/t.cp"); cpsync_s=$(median < "$work/t.cpsync")
clone_kib=$(cost "$work/web.next1"); cp_kib=$(cost "$work/web.cp1")
src_kib=$(du -s --block-size=1K "$work/web" | cut -f1)

cat <<REPORT
## clone: one hashified Debian guest ($(basename "$corpus")/guest1, $src_kib KiB, warm cache, median of $runs)

| | seconds | disk the copy costs |
|---|---|---|
| \`hashify clone\` (syncs before the rename) | $clone_s | $clone_kib KiB |
| the same, its own \`seconds\` (without Node's start) | $(median < "$work/t.inner") | |
| \`cp -a\` | $cp_s | $cp_kib KiB |
| \`cp -a\` + \`sync -f\` | $cpsync_s | |
| ratio clone / cp -a (target ≤ 0.1 time, ≤ 0.05 disk) | $(echo "scale=3; $clone_s / $cp_s" | bc) (vs cp -a + sync: $(echo "scale=3; $clone_s / $cpsync_s" | bc)) | $(echo "scale=3; $clone_kib / $cp_kib" | bc) |

clone --json: $json
clone phases (HASHIFY_TIMING=1): $(paste -sd';' "$work/timing")
all runs, seconds: clone $(paste -sd' ' "$work/t.clone"); clone's own $(paste -sd' ' "$work/t.inner"); cp -a $(paste -sd' ' "$work/t.cp"); cp -a + sync $(paste -sd' ' "$work/t.cpsync")
REPORT
rm -rf "$work"/web.next* "$work"/web.cp* "$work/web.json"
