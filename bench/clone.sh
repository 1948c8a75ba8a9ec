#!/usr/bin/env bash
# Clone bench (issue 15): on a hashified Debian guest of the `guests` corpus, `hashify clone`
# against `cp -a` of the same guest: wall time (medians of BENCH_RUNS alternate runs) and the
# disk the copy costs (du of DST counted beside SRC, so blocks shared with SRC or the store
# count once, for SRC). cp -a is timed alone and followed by `sync -f`, since clone syncs its
# tree before renaming it into place.
# - warm cache (the primary comparison): both read SRC from the page cache;
# - cold cache: `sync; echo 3 > /proc/sys/vm/drop_caches` before each timed command (root only;
#   BENCH_COLD=0 skips it);
# - the floor, timed in the same runs: `node -e 0` (Node's own start, which no Node command can
#   go below) and `hashify clone` of an empty directory (Node, the CLI, the addon and the
#   store's listing: what every clone costs before its first entry).
# - CPU time (user + sys, from bash's `time`) beside each wall time: on a shared machine the
#   wall times move with the load, the CPU times much less.
# Node commands run without NODE_EXTRA_CA_CERTS when the environment sets it (BENCH_KEEP_CA=1
# keeps it): Node then reads and parses that certificate bundle at every start, before any
# script runs (~50-80 ms of CPU on this VM), and hashify opens no TLS connection. The report
# shows `node -e 0` with it too.
#   BENCH_DIR, BENCH_GUESTS, BENCH_RUNS, BENCH_COLD as for bench/run.sh; BENCH_SETTLE: seconds
#   of quiet before each timed command (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-/var/tmp/hashify-bench}
runs=${BENCH_RUNS:-5}
corpus="$BENCH_DIR/guests-${BENCH_GUESTS:-8}"
[ -d "$corpus/guest1" ] || { echo "bench clone: no guests corpus at $corpus (run bench/corpus/guests.sh)" >&2; exit 1; }
NODE=(node)
ca_note=''
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -z "${BENCH_KEEP_CA:-}" ]; then
  NODE=(env -u NODE_EXTRA_CA_CERTS node)
  ca_note="NODE_EXTRA_CA_CERTS ($NODE_EXTRA_CA_CERTS) unset for Node commands (BENCH_KEEP_CA=1 keeps it)"
fi
HASHIFY=("${NODE[@]}" "$PWD/dist/cli.js")
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
median() { sort -g | awk '{a[NR]=$1} END {printf "%.3f\n", (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
cost() { du -s --block-size=1K "$work/web" "$1" | tail -1 | cut -f1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f\n", b - a}'; }
# timed FILE CMD...: runs CMD, appends its wall seconds to FILE and its CPU seconds (user + sys)
# to FILE.cpu (CMD's stdout is the caller's, its stderr goes on to ours)
timed() {
  local out=$1 TIMEFORMAT='%3R %3U %3S' t; shift
  { t=$( { time "$@" 1>&3 2>&4; } 2>&1 ); } 3>&1 4>&2 # only time's own line is captured
  echo "$t" | awk '{print $1}' >> "$out"; echo "$t" | awk '{printf "%.3f\n", $2 + $3}' >> "$out.cpu"
}
# copy DST CP CPSYNC: cp -a of web to DST, timed into CP and, with the sync after it, into CPSYNC
copy() { local t0 t1; t0=$(now); timed "$2" cp -a "$work/web" "$1"; sync -f "$1"; t1=$(now); elapsed "$t0" "$t1" >> "$3"; }
inner() { grep -o '"seconds":[0-9.e-]*' "$work/out.json" | cut -d: -f2 >> "$1"; }
cold=${BENCH_COLD:-1}
if [ "$cold" != 0 ] && ! { [ "$(id -u)" = 0 ] && [ -w /proc/sys/vm/drop_caches ]; }; then cold=0; cold_why='cannot write /proc/sys/vm/drop_caches (not root)'; fi
[ "${BENCH_COLD:-1}" = 0 ] && cold_why='BENCH_COLD=0'
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }

for f in clone inner cp cpsync cpal node nodeca empty cclone cinner ccp ccpsync; do : > "$work/t.$f"; : > "$work/t.$f.cpu"; done
# Every run writes new trees (web.next$i, web.cp$i, …) and nothing is removed until the end:
# removing a 200 MB tree (with the filesystem's discards) stalls the journal for seconds, and
# a timed command after it would pay for that. Each timed command starts after a sync.
rm -rf "$work"/web.next* "$work"/web.cp* "$work"/web.cold* "$work"/web.empty*
mkdir -p "$work/empty"
settle() { sync -f "$work"; sleep "${BENCH_SETTLE:-2}"; }
# Run $i of one clone and one cp -a of the guest, each after $1 (settle: warm; drop: cold); $2
# prefixes the time files ("" or c), $3 the trees made ("" or cold).
pair() {
  "$1"
  timed "$work/t.${2}clone" "${HASHIFY[@]}" clone "$work/web" "$work/web.${3}next$i" --json > "$work/out.json"
  inner "$work/t.${2}inner"
  "$1"
  copy "$work/web.${3}cp$i" "$work/t.${2}cp" "$work/t.${2}cpsync"
}
for i in $(seq 1 "$runs"); do
  pair settle '' ''
  for k in 1 2 3; do
    timed "$work/t.node" "${NODE[@]}" -e 0
    [ -z "$ca_note" ] || timed "$work/t.nodeca" node -e 0
    timed "$work/t.empty" "${HASHIFY[@]}" clone "$work/empty" "$work/web.empty$i.$k" --quiet
  done
  # The link-only floor in C: cp -al links every file (store-backed or not, so it copies
  # nothing), makes the directories and symlinks, and syncs nothing.
  settle
  timed "$work/t.cpal" cp -al "$work/web" "$work/web.cpal$i"
done
if [ "$cold" != 0 ]; then
  for i in $(seq 1 "$runs"); do pair drop c cold; done
fi
settle
json=$(HASHIFY_TIMING=1 "${HASHIFY[@]}" clone "$work/web" "$work/web.json" --json 2>"$work/timing")
clone_s=$(median < "$work/t.clone"); cp_s=$(median < "$work/t.cp"); cpsync_s=$(median < "$work/t.cpsync")
node_s=$(median < "$work/t.node"); empty_s=$(median < "$work/t.empty")
clone_kib=$(cost "$work/web.next1"); cp_kib=$(cost "$work/web.cp1")
src_kib=$(du -s --block-size=1K "$work/web" | cut -f1)
target_s=$(awk -v a="$cp_s" 'BEGIN {printf "%.3f", a / 10}')
if [ "$cold" != 0 ]; then
  cclone_s=$(median < "$work/t.cclone"); ccp_s=$(median < "$work/t.ccp"); ccpsync_s=$(median < "$work/t.ccpsync")
  cold_rows="| \`hashify clone\`, cold cache | $cclone_s (its own \`seconds\`: $(median < "$work/t.cinner")) | |
| \`cp -a\`, cold cache | $ccp_s (+ \`sync -f\`: $ccpsync_s) | |
| ratio clone / cp -a, cold cache | $(ratio "$cclone_s" "$ccp_s") (vs cp -a + sync: $(ratio "$cclone_s" "$ccpsync_s")) | |"
  cold_runs="; cold: clone $(paste -sd' ' "$work/t.cclone"); clone's own $(paste -sd' ' "$work/t.cinner"); cp -a $(paste -sd' ' "$work/t.ccp"); cp -a + sync $(paste -sd' ' "$work/t.ccpsync")"
else
  cold_rows="| cold cache | not measured: $cold_why | |"
  cold_runs=''
fi
ca_row=''
[ -z "$ca_note" ] || ca_row="| \`node -e 0\` with NODE_EXTRA_CA_CERTS as this environment sets it | $(median < "$work/t.nodeca") (CPU $(median < "$work/t.nodeca.cpu")) | |

$ca_note.
"
if awk -v a="$node_s" -v b="$target_s" 'BEGIN {exit !(a >= b)}'; then
  floor_note="Node's own start ($node_s s) is already $(ratio "$node_s" "$cp_s")× cp -a: the 0.1× target ($target_s s) is below what any Node command can take here."
else
  floor_note="0.1× cp -a is $target_s s; Node's own start takes $node_s s of it ($(ratio "$node_s" "$cp_s")× cp -a), a clone of an empty directory $empty_s s ($(ratio "$empty_s" "$cp_s")×)."
fi

# ext4 without a journal skips, at each new inode, the free ones freed in the last 60-360 s:
# after trees were removed nearby, every new inode costs more (cp -a makes one per entry, 6,774;
# the clone ~1,500: directories, symlinks, copies), so the first runs after a removal are slower.
fs_type=$(findmnt -no FSTYPE -T "$work" 2>/dev/null || echo unknown)
fs_note="filesystem of $work: $fs_type"
if [ "$fs_type" = ext4 ]; then
  dev=$(basename "$(readlink "/sys/dev/block/$(mountpoint -d "$(findmnt -no TARGET -T "$work")")" 2>/dev/null)" 2>/dev/null)
  if [ "$(cat "/sys/fs/ext4/$dev/journal_task" 2>/dev/null)" = '<none>' ]; then
    fs_note="$fs_note without a journal: each new inode skips the free inodes freed in the last 60-360 s, so runs soon after a removal of trees nearby are slower for both commands (clone syncs with syncfs here)"
  fi
fi

cat <<REPORT
## clone: one hashified Debian guest ($(basename "$corpus")/guest1, $src_kib KiB, median of $runs)

| | seconds | disk the copy costs |
|---|---|---|
| \`hashify clone\`, warm cache (syncs before the rename) | $clone_s (CPU $(median < "$work/t.clone.cpu")) | $clone_kib KiB |
| the same, its own \`seconds\` (without Node's start) | $(median < "$work/t.inner") | |
| \`cp -a\`, warm cache | $cp_s (CPU $(median < "$work/t.cp.cpu")) | $cp_kib KiB |
| \`cp -a\` + \`sync -f\`, warm cache | $cpsync_s | |
| **ratio clone / cp -a, warm cache** (target ≤ 0.1 time, ≤ 0.05 disk) | **$(ratio "$clone_s" "$cp_s")** (vs cp -a + sync: $(ratio "$clone_s" "$cpsync_s"); CPU: $(ratio "$(median < "$work/t.clone.cpu")" "$(median < "$work/t.cp.cpu")")) | $(ratio "$clone_kib" "$cp_kib") |
$cold_rows
| floor: \`node -e 0\` (Node's own start) | $node_s ($(ratio "$node_s" "$cp_s")× cp -a; CPU $(median < "$work/t.node.cpu")) | |
| floor: \`cp -al\` (C, every file a link, nothing copied or synced) | $(median < "$work/t.cpal") ($(ratio "$(median < "$work/t.cpal")" "$cp_s")× cp -a; CPU $(median < "$work/t.cpal.cpu")) | |
| floor: \`hashify clone\` of an empty directory (start, store listed) | $empty_s ($(ratio "$empty_s" "$cp_s")× cp -a; CPU $(median < "$work/t.empty.cpu")) | |
$ca_row
$floor_note

$fs_note.

clone --json: $json
clone phases (HASHIFY_TIMING=1): $(paste -sd';' "$work/timing")
all runs, seconds: clone $(paste -sd' ' "$work/t.clone") (CPU $(paste -sd' ' "$work/t.clone.cpu")); clone's own $(paste -sd' ' "$work/t.inner"); cp -a $(paste -sd' ' "$work/t.cp") (CPU $(paste -sd' ' "$work/t.cp.cpu")); cp -a + sync $(paste -sd' ' "$work/t.cpsync"); node -e 0 $(paste -sd' ' "$work/t.node"); clone of an empty directory $(paste -sd' ' "$work/t.empty")$cold_runs
REPORT
rm -rf "$work"/web.next* "$work"/web.cp* "$work"/web.cold* "$work"/web.empty* "$work/web.json"
