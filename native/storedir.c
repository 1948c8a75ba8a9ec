/*
 * The store's directories, by descriptor: list one directory's entries with their lstat
 * fields, remove an entry only while it is the unused regular file that was listed, remove
 * an empty directory, and create a small file whole or not at all (the store's marker).
 * Every name is relative to a directory descriptor hashify opened beneath the store's root
 * (openBeneath), and nothing here follows a symlink: a store directory a guest replaced by a
 * symlink to a host directory is never entered, listed or changed.
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
#include <stdio.h>
#include <dirent.h>
#include <stdint.h>

/* Kinds of a listed name (the JS side names them in src/store/listEntries.ts). */
enum { K_GONE = 0, K_FILE = 1, K_DIR = 2, K_SYMLINK = 3, K_OTHER = 4 };

static napi_value big(napi_env env, uint64_t v) { napi_value o; napi_create_bigint_uint64(env, v, &o); return o; }
static napi_value num(napi_env env, double v) { napi_value o; napi_create_double(env, v, &o); return o; }

/*
 * listAt(dirfd) -> Array of [name Buffer, kind] for every name in the directory open at
 * dirfd (not "." or ".."), unsorted, the kind from readdir's d_type (0 when the filesystem
 * does not say): names only, no fstatat. The descriptor itself is left open and unmoved: the
 * listing reads through a duplicate opened on "." beneath it. listPackedAt gives the stats.
 */
static int kind_of(mode_t m) {
  return S_ISREG(m) ? K_FILE : S_ISDIR(m) ? K_DIR : S_ISLNK(m) ? K_SYMLINK : K_OTHER;
}

/* The directory of the dirfd argument, read through a duplicate opened on "." (the caller's
   descriptor stays open and unmoved); NULL with an exception pending. */
static DIR *dir_of_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int dirfd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_fd(env, argv[0], &dirfd)) { napi_throw_type_error(env, NULL, "dirfd expected"); return NULL; }
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) { throw_errno(env, "openat", errno); return NULL; }
  DIR *d = fdopendir(fd);
  if (!d) { int e = errno; close(fd); throw_errno(env, "fdopendir", e); }
  return d;
}

static napi_value xlistat(napi_env env, napi_callback_info info) {
  DIR *d = dir_of_arg(env, info);
  if (!d) return NULL;
  napi_value out; napi_create_array(env, &out);
  uint32_t n = 0;
  struct dirent *de;
  int err = 0;
  for (;;) {
    errno = 0;
    if (!(de = readdir(d))) { err = errno; break; }
    const char *nm = de->d_name;
    if (nm[0] == '.' && (!nm[1] || (nm[1] == '.' && !nm[2]))) continue;
    napi_value row, name; void *data;
    napi_create_buffer_copy(env, strlen(nm), nm, &data, &name);
    int kind = de->d_type == DT_REG ? K_FILE : de->d_type == DT_DIR ? K_DIR : de->d_type == DT_LNK ? K_SYMLINK : de->d_type == DT_UNKNOWN ? K_GONE : K_OTHER;
    napi_create_array_with_length(env, 2, &row);
    napi_set_element(env, row, 0, name);
    napi_set_element(env, row, 1, num(env, kind));
    napi_set_element(env, out, n++, row);
  }
  closedir(d);
  if (err) return throw_errno(env, "readdir", err);
  return out;
}

/*
 * listPackedAt(dirfd) -> ArrayBuffer: listAt's rows for a large directory (a store shard),
 * sorted by name bytes and packed without one JS value per field. Each record (8-aligned,
 * little-endian): u32 kind, u32 name length, u64 dev, ino, size, blocks, ctimeNs, u32 nlink,
 * u32 0, then the name padded to 8. Decoded by src/store/packedRows.ts.
 */
#define PACK_HEAD 56

static int packed_kind(const struct listed *e) { return e->gone ? K_GONE : kind_of(e->st.st_mode); }

/* One record's fields (the layout above) before its name. */
static void packed_fill(const struct listed *e, int kind, uint8_t *p) {
  uint32_t *u32 = (uint32_t *)p; uint64_t *u64 = (uint64_t *)(p + 8);
  u32[0] = (uint32_t)kind; u32[1] = (uint32_t)e->len;
  u64[0] = e->st.st_dev; u64[1] = e->st.st_ino; u64[2] = (uint64_t)e->st.st_size; u64[3] = (uint64_t)e->st.st_blocks;
  u64[4] = (uint64_t)e->st.st_ctim.tv_sec * 1000000000u + (uint64_t)e->st.st_ctim.tv_nsec;
  ((uint32_t *)(p + 48))[0] = (uint32_t)e->st.st_nlink;
}

static napi_value xlistpackedat(napi_env env, napi_callback_info info) {
  DIR *d = dir_of_arg(env, info);
  if (!d) return NULL;
  struct listed *ents; size_t n;
  int err = list_dir(d, NULL, &ents, &n);
  if (err) return throw_errno(env, "readdir", err);
  return pack_listed(env, ents, n, PACK_HEAD, packed_kind, packed_fill);
}

static napi_value stat_row(napi_env env, napi_value name, int kind, const struct stat *st) {
  napi_value row;
  napi_create_array_with_length(env, 8, &row);
  napi_set_element(env, row, 0, name);
  napi_set_element(env, row, 1, num(env, kind));
  napi_set_element(env, row, 2, big(env, st->st_dev));
  napi_set_element(env, row, 3, big(env, st->st_ino));
  napi_set_element(env, row, 4, num(env, (double)st->st_nlink));
  napi_set_element(env, row, 5, big(env, (uint64_t)st->st_size));
  napi_set_element(env, row, 6, big(env, (uint64_t)st->st_blocks));
  napi_set_element(env, row, 7, big(env, (uint64_t)st->st_ctim.tv_sec * 1000000000u + (uint64_t)st->st_ctim.tv_nsec));
  return row;
}

/* statAt(dirfd, name) -> the row listAt gives for `name` (not followed), or null when it does not exist. */
static napi_value xstatat(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int dirfd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || !get_fd(env, argv[0], &dirfd)) { napi_throw_type_error(env, NULL, "dirfd and name expected"); return NULL; }
  size_t len;
  char *name = get_bytes_z(env, argv[1], &len);
  if (!name || strchr(name, '/')) { free(name); napi_throw_type_error(env, NULL, "a name without NUL or / expected"); return NULL; }
  struct stat st;
  int r = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
  int e = errno;
  free(name);
  napi_value out;
  if (r < 0) {
    if (e == ENOENT) { napi_get_null(env, &out); return out; }
    return throw_errno(env, "fstatat", e);
  }
  return stat_row(env, argv[1], kind_of(st.st_mode), &st);
}

/*
 * unlinkUnusedAt(dirfd, name, dev, ino) -> true when the name was removed. It is removed only
 * while it is a regular file with one link and the listed device and inode (fstatat, not
 * following, right before unlinkat relative to the same descriptor); false otherwise.
 */
static napi_value xunlinkunusedat(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value argv[4]; int dirfd; uint64_t dev, ino; bool lossless;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4 || !get_fd(env, argv[0], &dirfd) || napi_get_value_bigint_uint64(env, argv[2], &dev, &lossless) != napi_ok ||
      napi_get_value_bigint_uint64(env, argv[3], &ino, &lossless) != napi_ok) {
    napi_throw_type_error(env, NULL, "dirfd, name Buffer, dev and ino bigints expected"); return NULL;
  }
  char *name = get_bytes_z(env, argv[1], NULL);
  if (!name || strchr(name, '/')) { free(name); napi_throw_type_error(env, NULL, "a name without NUL or / expected"); return NULL; }
  struct stat st;
  napi_value out;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    int e = errno; free(name);
    if (e == ENOENT) { napi_get_boolean(env, false, &out); return out; }
    return throw_errno(env, "fstatat", e);
  }
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || (uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino) {
    free(name); napi_get_boolean(env, false, &out); return out;
  }
  int r = unlinkat(dirfd, name, 0);
  int e = errno;
  free(name);
  if (r < 0) {
    if (e == ENOENT) { napi_get_boolean(env, false, &out); return out; }
    return throw_errno(env, "unlinkat", e);
  }
  napi_get_boolean(env, true, &out);
  return out;
}

/* rmdirAt(dirfd, name) -> true when the empty directory was removed, false when it is not
 * empty, gone, or not a directory (a symlink is never followed by unlinkat). */
static napi_value xrmdirat(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int dirfd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || !get_fd(env, argv[0], &dirfd)) { napi_throw_type_error(env, NULL, "dirfd and name expected"); return NULL; }
  char *name = get_bytes_z(env, argv[1], NULL);
  if (!name || strchr(name, '/')) { free(name); napi_throw_type_error(env, NULL, "a name without NUL or / expected"); return NULL; }
  int r = unlinkat(dirfd, name, AT_REMOVEDIR);
  int e = errno;
  free(name);
  napi_value out;
  if (r < 0) {
    if (e == ENOTEMPTY || e == EEXIST || e == ENOENT || e == ENOTDIR) { napi_get_boolean(env, false, &out); return out; }
    return throw_errno(env, "unlinkat", e);
  }
  napi_get_boolean(env, true, &out);
  return out;
}

/*
 * createWholeAt(dirfd, name, data, mode) -> true when the file was created, false when the
 * name already exists. The bytes go into an O_TMPFILE, are synced, and only then get the
 * name (linkat): a reader sees the whole file or no file, also after a crash.
 */
static napi_value xcreatewholeat(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value argv[4]; int dirfd, mode = 0644; void *data; size_t len;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3 || !get_fd(env, argv[0], &dirfd) || napi_get_buffer_info(env, argv[2], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "dirfd, name and data Buffers expected"); return NULL;
  }
  if (argc > 3) napi_get_value_int32(env, argv[3], &mode);
  char *name = get_bytes_z(env, argv[1], NULL);
  if (!name || strchr(name, '/')) { free(name); napi_throw_type_error(env, NULL, "a name without NUL or / expected"); return NULL; }
  int fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0) { int e = errno; free(name); return throw_errno(env, "openat(O_TMPFILE)", e); }
  const char *what = NULL;
  int e = 0;
  size_t done = 0;
  while (done < len) {
    ssize_t w = write(fd, (const char *)data + done, len - done);
    if (w < 0) { if (errno == EINTR) continue; what = "write"; e = errno; break; }
    done += (size_t)w;
  }
  if (!what && fchmod(fd, (mode_t)mode) < 0) { what = "fchmod"; e = errno; }
  if (!what && fsync(fd) < 0) { what = "fsync"; e = errno; }
  bool created = false;
  if (!what) {
    if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0) created = true;
    else if (errno == ENOENT || errno == EPERM) {
      /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the descriptor's /proc name does not. */
      char proc[64];
      snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
      if (linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) == 0) created = true;
      else if (errno != EEXIST) { what = "linkat"; e = errno; }
    } else if (errno != EEXIST) { what = "linkat"; e = errno; }
  }
  close(fd);
  free(name);
  if (what) return throw_errno(env, what, e);
  if (created) fsync(dirfd);
  napi_value out; napi_get_boolean(env, created, &out);
  return out;
}

void register_storedir(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
    FN("listAt", xlistat), FN("listPackedAt", xlistpackedat), FN("statAt", xstatat), FN("unlinkUnusedAt", xunlinkunusedat), FN("rmdirAt", xrmdirat), FN("createWholeAt", xcreatewholeat),
  };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
}
