/*
 * readDir: one directory's entries with their lstat fields in one call (fstatat relative to
 * the directory's descriptor), for the scan. The directory is resolved by the kernel beneath
 * the root's descriptor (open_beneath: no symlink anywhere on the way, no "..", no other
 * mount), so a directory a guest swaps for a symlink mid-scan is never entered.
 */
#define _GNU_SOURCE
#include "napi_util.h"
#include "dirlist.h"
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <stdint.h>

/*
 * readDir(rootFd, rel) -> ArrayBuffer of the directory's regular files and subdirectories, sorted
 * by name bytes, one record each (all fields little-endian, 8-byte aligned):
 *   u32 kind (1 file, 2 directory, 0 vanished between readdir and fstatat), u32 name length,
 *   u64 dev, ino, size, i64 mtime, ctime, atime (ns), u32 mode, uid, gid, nlink, name bytes
 *   padded to 8. Symlinks, devices, FIFOs and sockets are left out. `rel` (relative to the
 *   root, "" for the root itself) is opened beneath rootFd, and every entry is stat'ed
 *   relative to that descriptor without following symlinks. The layout is decoded in one
 *   place on the JS side: src/scan/dirRecords.ts.
 */
#define REC_HEAD 72

/* The scan's kinds: 1 file, 2 directory, 0 vanished; -1: left out (symlinks, devices, …). */
static int scan_kind(const struct listed *e) {
  return e->gone ? 0 : S_ISREG(e->st.st_mode) ? 1 : S_ISDIR(e->st.st_mode) ? 2 : -1;
}

/* Only files and directories are stat'ed (and names readdir cannot type). */
static int scan_keeps(unsigned char t) { return t == DT_REG || t == DT_DIR || t == DT_UNKNOWN; }

/* One record's fields (the layout above) before its name. */
static void scan_fill(const struct listed *e, int kind, uint8_t *p) {
  uint32_t *u32 = (uint32_t *)p; uint64_t *u64 = (uint64_t *)(p + 8); int64_t *i64 = (int64_t *)(p + 32);
  u32[0] = kind; u32[1] = e->len;
  u64[0] = e->st.st_dev; u64[1] = e->st.st_ino; u64[2] = e->st.st_size;
  i64[0] = (int64_t)e->st.st_mtim.tv_sec * 1000000000 + e->st.st_mtim.tv_nsec;
  i64[1] = (int64_t)e->st.st_ctim.tv_sec * 1000000000 + e->st.st_ctim.tv_nsec;
  i64[2] = (int64_t)e->st.st_atim.tv_sec * 1000000000 + e->st.st_atim.tv_nsec;
  uint32_t *tail = (uint32_t *)(p + 56);
  tail[0] = e->st.st_mode; tail[1] = e->st.st_uid; tail[2] = e->st.st_gid; tail[3] = (uint32_t)e->st.st_nlink;
}

static napi_value xreaddir(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int rootfd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *rel = argc < 2 || !get_fd(env, argv[0], &rootfd) ? NULL : get_bytes_z(env, argv[1], NULL);
  if (!rel) { napi_throw_type_error(env, NULL, "root fd and relative path Buffer expected"); return NULL; }
  int fd = open_beneath(rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
  int oe = errno;
  free(rel);
  if (fd < 0) return throw_errno(env, "openat2", oe);
  DIR *d = fdopendir(fd);
  if (!d) { int e = errno; close(fd); return throw_errno(env, "fdopendir", e); }
  struct listed *ents; size_t n;
  int err = list_dir(d, scan_keeps, &ents, &n);
  if (err) return throw_errno(env, "readdir", err);
  return pack_listed(env, ents, n, REC_HEAD, scan_kind, scan_fill);
}

void register_scan(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = { FN("readDir", xreaddir) };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
}
