#!/usr/bin/env bash
# Debian packages some tests use (setfattr/getfattr, setfacl, loop-mounted filesystems).
# Installed only when running as root and missing; without them those tests skip with a reason.
set -u
need=()
command -v setfattr >/dev/null || need+=(attr)
command -v setfacl >/dev/null || need+=(acl)
command -v mkfs.btrfs >/dev/null || need+=(btrfs-progs)
command -v mkfs.xfs >/dev/null || need+=(xfsprogs)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v setcap >/dev/null || need+=(libcap2-bin)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test setup: installing ${need[*]}"
    (apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${need[@]}" >/dev/null 2>&1; }) \
      || echo "test setup: could not install ${need[*]}; the tests that need them will skip"
  else
    echo "test setup: missing ${need[*]} (not root); the tests that need them will skip"
  fi
fi
exit 0
