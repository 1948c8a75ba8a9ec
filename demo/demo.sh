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
# ---- clone and switch: an update with a way back (issue 15) ----------------------------
say "hashify clone: guest0 made ready for an update (store-backed files linked, the rest copied)"
"${HASHIFY[@]}" plan "$guests"/guest* -o "$work/again.plan.jsonl" --exclude 'etc/**' --no-cache --quiet
"${HASHIFY[@]}" apply "$work/again.plan.jsonl" --quiet
"${HASHIFY[@]}" clone "$guests/guest0" "$guests/guest0.next"
# du counts an inode once per invocation: the second figure is what the clone alone costs.
read -r src_kib dst_kib < <(du -s --block-size=1K "$guests/guest0" "$guests/guest0.next" | cut -f1 | paste -sd' ')
printf '   guest0 uses %s KiB; the clone costs %s KiB more (%s%%)\n' "$src_kib" "$dst_kib" "$(( 100 * dst_kib / src_kib ))"

say "An update inside the clone, the way package managers install: new file, then rename over the old"
printf 'tool3, version 2\n' > "$guests/guest0.next/usr/bin/.tool3.new"
mv "$guests/guest0.next/usr/bin/.tool3.new" "$guests/guest0.next/usr/bin/tool3"
echo "# upgraded" >> "$guests/guest0.next/etc/conf0.conf"
printf '   guest0/usr/bin/tool3:      %s bytes (untouched)\n' "$(stat -c %s "$guests/guest0/usr/bin/tool3")"
printf '   guest0.next/usr/bin/tool3: %s bytes (the update)\n' "$(stat -c %s "$guests/guest0.next/usr/bin/tool3")"

say "hashify switch (the guest would be stopped here): guest0 is now the updated tree"
"${HASHIFY[@]}" switch "$guests/guest0" "$guests/guest0.next"
printf '   guest0/usr/bin/tool3: %s\n' "$(head -c 40 "$guests/guest0/usr/bin/tool3")"

say "hashify switch again: the way back"
"${HASHIFY[@]}" switch "$guests/guest0" "$guests/guest0.next"
printf '   guest0/usr/bin/tool3: %s bytes, the old version again\n' "$(stat -c %s "$guests/guest0/usr/bin/tool3")"
rm -rf "$guests/guest0.next"
"${HASHIFY[@]}" undo "$work/again.plan.jsonl" --quiet
"${HASHIFY[@]}" gc "$guests/.hash" --quiet
# ---- end of clone and switch -------------------------------------------------------------
echo
echo "Done. The plan, its journal and the guests were in $work (now removed)."
