#!/usr/bin/env bash
# make demo: a sample of guests with realistic duplication, then the whole workflow:
# plan → show → apply --expect → apply again → undo, with disk use and inode sharing.
# Everything happens in a temp directory that is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
HASHIFY=(node "$PWD/dist/cli.js")
work=$(mktemp -d /tmp/hashify-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
guests="$work/vservers"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Generating 4 guests in $guests"
node demo/makeGuests.mjs "$guests" 4

usage() { du -s --block-size=1K "$guests" | cut -f1; }
inodes() { find "$guests"/guest* -type f -printf '%i\n' | sort -u | wc -l; }
paths() { find "$guests"/guest* -type f | wc -l; }
report() { printf '   %-18s %6s KiB on disk, %5s paths, %5s distinct inodes\n' "$1" "$(usage)" "$(paths)" "$(inodes)"; }
report "before:"

say "hashify plan (scan and hash; changes nothing)"
"${HASHIFY[@]}" plan "$guests"/guest* -o "$work/guests.plan.jsonl" --exclude 'etc/**' --no-cache
digest=$("${HASHIFY[@]}" show "$work/guests.plan.jsonl" --json | node -e 'process.stdin.on("data",d=>console.log(JSON.parse(d).digest))')

say "hashify show (what a reviewer approves)"
"${HASHIFY[@]}" show "$work/guests.plan.jsonl" --top 5

say "hashify apply --expect $digest"
"${HASHIFY[@]}" apply "$work/guests.plan.jsonl" --expect "$digest"
report "after apply:"

say "hashify apply again (idempotent: everything is already done)"
"${HASHIFY[@]}" apply "$work/guests.plan.jsonl"

say "The files kept apart on purpose (other owner, capability, changed content):"
for f in usr/bin/ping usr/share/doc/base/README; do
  printf '   %-28s' "$f"; for g in "$guests"/guest*; do printf ' %s' "$(stat -c %i "$g/$f")"; done; echo "   (inode per guest)"
done

say "hashify undo (the way back)"
"${HASHIFY[@]}" undo "$work/guests.plan.jsonl"
"${HASHIFY[@]}" gc "$guests/.hash" --quiet
report "after undo:"
echo
echo "Done. The plan, its journal and the guests were in $work (now removed)."
