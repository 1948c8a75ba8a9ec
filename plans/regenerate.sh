#!/usr/bin/env bash
# plans/regenerate.sh — rebuilds the reviewed example plans in plans/ with hashify itself.
#
#   make build && bash plans/regenerate.sh
#
# Builds three small fixture trees under /tmp/hashify-examples (removed and recreated each
# time; fixed names, contents, modes and mtimes), runs `hashify plan` on each with --no-cache
# and writes the plans next to this script:
#
#   store.plan.jsonl           two guests, duplicates linked into a .hash store (the default)
#   no-store.plan.jsonl        two build trees, --no-store: duplicates linked to a kept copy;
#                              one file already has two hard links, so the keeper rule picks it
#   metadata-split.plan.jsonl  the same bytes with two permission modes (two store entries, the
#                              second with suffix -1) and a file name that is not UTF-8
#                              (written with path64)
#
# Plans hold absolute paths, device and inode numbers, ctimes and the planning time, so a
# regenerated plan differs from the committed one in those fields (and in its digest) even
# when the format did not change; test/planfile/examples.test.ts validates every
# plans/*.jsonl with hashify's own reader, so regenerate and commit them whenever the plan
# format changes. The fixture trees are only needed while planning: `hashify show` validates
# a plan without touching the paths it names.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cli="$(dirname "$here")/dist/cli.js"
base=/tmp/hashify-examples
mtime='2024-01-02 03:04:05 UTC'

if [ ! -f "$cli" ]; then
  echo "regenerate.sh: $cli is missing; run 'make build' first" >&2
  exit 1
fi

umask 022
rm -rf "$base"
mkdir -p "$base"

# put FILE MODE CONTENT: a regular file with fixed content, mode and mtime.
put() {
  mkdir -p "$(dirname "$1")"
  printf '%s' "$3" >"$1"
  chmod "$2" "$1"
  touch -d "$mtime" "$1"
}

# hashify plan ROOT... -o plans/NAME, quietly, with no hash cache.
plan() {
  local name=$1
  shift
  node "$cli" plan "$@" -o "$here/$name" --no-cache -q
  printf '%-28s %s\n' "$name" "$(node "$cli" show "$here/$name" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(`${r.ops} ops in ${r.groups} groups, ${r.bytesReclaimable} B reclaimable, ${r.digest}`)})')"
}

# 1. Store mode: two guests with the same system files; one config differs.
s="$base/store"
for g in guest1 guest2; do
  put "$s/$g/etc/os-release" 644 $'NAME="Example Linux"\nVERSION_ID="12"\n'
  put "$s/$g/usr/bin/hello" 755 $'#!/bin/sh\necho hello\n'
  put "$s/$g/usr/share/doc/hello/README" 644 $'hello: prints hello.\n'
  put "$s/$g/etc/hostname" 644 "$g"$'\n'
done
plan store.plan.jsonl "$s/guest1" "$s/guest2"

# 2. --no-store: build2's libfoo.so already has two names (hard links), so its inode is the
#    keeper (most links first, then the first path bytewise) and build1's copy is relinked.
n="$base/no-store"
put "$n/build1/lib/libfoo.so" 755 $'\x7fELF pretend shared object\n'
put "$n/build2/lib/libfoo.so" 755 $'\x7fELF pretend shared object\n'
ln "$n/build2/lib/libfoo.so" "$n/build2/lib/libfoo.so.1"
put "$n/build1/include/foo.h" 644 $'int foo(void);\n'
put "$n/build2/include/foo.h" 644 $'int foo(void);\n'
put "$n/build1/build.log" 644 $'built build1\n'
put "$n/build2/build.log" 644 $'built build2\n'
plan no-store.plan.jsonl "$n/build1" "$n/build2" --no-store

# 3. Metadata split and a non-UTF-8 name: tool.sh exists as 0755 and 0644 copies with the same
#    bytes; each mode gets its own store entry. "café.txt" is written in Latin-1 (0xE9).
m="$base/metadata"
for r in a b; do
  put "$m/$r/bin/tool.sh" 755 $'#!/bin/sh\necho tool\n'
  put "$m/$r/share/tool.sh" 644 $'#!/bin/sh\necho tool\n'
  put "$m/$r/data/caf"$'\xe9'".txt" 644 $'a name that is not UTF-8\n'
done
plan metadata-split.plan.jsonl "$m/a" "$m/b"
