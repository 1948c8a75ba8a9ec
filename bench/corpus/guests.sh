#!/usr/bin/env bash
# The `guests` corpus: one minimal Debian (debootstrap --variant=minbase bookworm) copied
# BENCH_GUESTS times with the differences real guests have: changed configuration, files of
# another owner, touched files, deleted and added files. Falls back to a synthetic OS-like
# tree, and says so, when debootstrap cannot run.
set -euo pipefail
dir="$BENCH_DIR/guests-$BENCH_GUESTS"
[ -f "$dir/.complete" ] && exit 0
base="$BENCH_DIR/debian-base"
if [ ! -d "$base/usr" ]; then
  mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
  mirror=${mirror:-$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)}
  echo "bench: debootstrap minbase bookworm from ${mirror:-the default mirror} (a few minutes)"
  rm -rf "$base.tmp"
  if debootstrap --variant=minbase bookworm "$base.tmp" ${mirror:+"$mirror"} > "$BENCH_DIR/debootstrap.log" 2>&1; then
    mv "$base.tmp" "$base"
  else
    echo "bench: debootstrap failed (see $BENCH_DIR/debootstrap.log): using a synthetic OS-like tree instead"
    rm -rf "$base.tmp"
    mkdir -p "$base" && cp -a /usr/share/doc /usr/share/man /usr/share/perl /usr/share/zoneinfo "$base/" 2>/dev/null || true
  fi
fi
rm -rf "$dir" && mkdir -p "$dir"
for g in $(seq 1 "$BENCH_GUESTS"); do
  cp -a "$base" "$dir/guest$g"
  # Deterministic differences per guest (seeded by its number).
  mapfile -t etc < <(find "$dir/guest$g/etc" -type f 2>/dev/null | sort | awk -v g="$g" 'NR % 37 == g % 37' | head -5)
  for f in "${etc[@]}"; do echo "# guest $g" >> "$f"; done
  mapfile -t docs < <(find "$dir/guest$g/usr/share/doc" -type f 2>/dev/null | sort | awk -v g="$g" 'NR % 101 == g' | head -6)
  [ ${#docs[@]} -gt 0 ] && chown 1000:1000 "${docs[@]:0:3}" && touch -d "2024-0$(( g % 9 + 1 ))-01" "${docs[@]:3}"
  mapfile -t gone < <(find "$dir/guest$g/usr/share" -type f 2>/dev/null | sort | awk -v g="$g" 'NR % 211 == g' | head -5)
  [ ${#gone[@]} -gt 0 ] && rm -f "${gone[@]}"
  mkdir -p "$dir/guest$g/srv/data"
  for i in $(seq 1 10); do head -c $(( 1000 * i + g )) /dev/urandom > "$dir/guest$g/srv/data/own$i"; done
done
touch "$dir/.complete"
