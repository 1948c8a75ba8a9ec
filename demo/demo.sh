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

# ---- memory demo (part 1 of 2): a service already running in guest3 before apply -----------
# It maps a library, as a running daemon maps its shared libraries; after apply it still maps
# the old copy, and `hashify memory` lists it under "Restart to share".
lib=usr/lib/x86_64-linux-gnu/libdemo24.so.1
mem_pids=()
trap 'kill "${mem_pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
# map FILE [CHROOT]: a background process that maps FILE, reads it, chroots, and sleeps.
map() {
  local ready="$work/mapper.${#mem_pids[@]}"
  python3 -c 'import mmap,os,sys,time
f=open(sys.argv[1],"rb"); m=mmap.mmap(f.fileno(),0,prot=mmap.PROT_READ); sum(m[i] for i in range(0,len(m),4096))
r=open(sys.argv[2],"w")
if len(sys.argv)>3: os.chroot(sys.argv[3]); os.chdir("/")
r.write("ready"); r.close(); time.sleep(3600)' "$1" "$ready" "${@:2}" </dev/null >/dev/null 2>&1 &
  mem_pids+=($!)
  for _ in $(seq 100); do [[ -s $ready ]] && break; sleep 0.1; done
}
if command -v python3 >/dev/null; then
  say "A service in guest3 maps $lib (started before apply)"
  map "$guests/guest3/$lib" "$guests/guest3"
fi
# ---- end of memory demo part 1 -------------------------------------------------------------

say "hashify apply --expect $digest"
"${HASHIFY[@]}" apply "$work/guests.plan.jsonl" --expect "$digest"
report "after apply:"

say "hashify apply again (idempotent: everything is already done)"
"${HASHIFY[@]}" apply "$work/guests.plan.jsonl"

say "The files kept apart on purpose (other owner, capability, changed content):"
for f in usr/bin/ping usr/share/doc/base/README; do
  printf '   %-28s' "$f"; for g in "$guests"/guest*; do printf ' %s' "$(stat -c %i "$g/$f")"; done; echo "   (inode per guest)"
done

# ---- memory demo (part 2 of 2): what the sharing saves in memory, who must restart ---------
if command -v python3 >/dev/null; then
  say "Processes in guest0 and guest1 start after apply and map the same library"
  map "$guests/guest0/$lib" "$guests/guest0"
  map "$guests/guest1/$lib" "$guests/guest1"
  say "hashify memory (page cache held once for every guest; who still keeps an old copy)"
  "${HASHIFY[@]}" memory "$work/guests.plan.jsonl"
  kill "${mem_pids[@]}" 2>/dev/null || true
  mem_pids=()
else
  say "hashify memory (no python3 here to start processes that map a shared file)"
  "${HASHIFY[@]}" memory "$work/guests.plan.jsonl"
fi
# ---- end of memory demo part 2 -------------------------------------------------------------

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
