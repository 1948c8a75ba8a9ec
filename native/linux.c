/*
 * The Linux calls Node does not offer: extended attributes by file descriptor
 * (flistxattr/fgetxattr/fsetxattr/fremovexattr), futimens with exact nanoseconds, syncfs,
 * and readDir: one directory's entries with their lstat fields in one call (fstatat
 * relative to the directory's descriptor), for the scan.
 *
 * Why our own addon for xattrs: the maintained npm bindings take string paths only, so a
 * file name that is not valid UTF-8 cannot be named, and they resolve the path
 * again at every call. hashify opens each file once with O_NOFOLLOW, checks the
 * descriptor is the inode it scanned, and reads or writes attributes through
 * that same descriptor: no symlink is ever followed and no rename race applies.
 */
#define _GNU_SOURCE /* syncfs */
#define NAPI_VERSION 8
#include <node_api.h>
#include <sys/xattr.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <dirent.h>
#include <stdint.h>

static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  napi_value msg, code, error, errnoval;
  char text[256];
  snprintf(text, sizeof text, "%s: %s", syscall, strerror(err));
  const char *name = err == ENOTSUP ? "ENOTSUP" : err == EPERM ? "EPERM" : err == EACCES ? "EACCES"
    : err == ENOSPC ? "ENOSPC" : err == EROFS ? "EROFS" : err == EBADF ? "EBADF" : err == E2BIG ? "E2BIG"
    : err == EDQUOT ? "EDQUOT" : err == ENODATA ? "ENODATA" : err == ERANGE ? "ERANGE"
    : err == ENOENT ? "ENOENT" : err == ENOTDIR ? "ENOTDIR" : err == ELOOP ? "ELOOP" : err == EMFILE ? "EMFILE"
    : err == ENFILE ? "ENFILE" : err == ENOMEM ? "ENOMEM" : "EIO";
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &error);
  napi_create_int32(env, -err, &errnoval);
  napi_set_named_property(env, error, "errno", errnoval);
  napi_set_named_property(env, error, "code", code);
  napi_set_named_property(env, error, "syscall", msg);
  napi_throw(env, error);
  return NULL;
}

static int get_fd(napi_env env, napi_value v, int *fd) {
  return napi_get_value_int32(env, v, fd) == napi_ok;
}

/* list(fd) -> Buffer of NUL-separated names (names are bytes, decoded by the caller) */
static napi_value xlist(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_fd(env, argv[0], &fd)) { napi_throw_type_error(env, NULL, "fd expected"); return NULL; }
  for (;;) {
    ssize_t n = flistxattr(fd, NULL, 0);
    if (n < 0) { if (errno == ENOTSUP) n = 0; else return throw_errno(env, "flistxattr", errno); }
    char *buf = malloc(n ? n : 1);
    if (!buf) return throw_errno(env, "flistxattr", ENOMEM);
    ssize_t m = n ? flistxattr(fd, buf, n) : 0;
    if (m < 0) { int e = errno; free(buf); if (e == ERANGE) continue; return throw_errno(env, "flistxattr", e); }
    napi_value out; void *data;
    napi_create_buffer_copy(env, m, buf, &data, &out);
    free(buf);
    return out;
  }
}

/* get(fd, name) -> Buffer, or null when the attribute does not exist */
static napi_value xget(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int fd; char name[256]; size_t len;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || !get_fd(env, argv[0], &fd) ||
      napi_get_value_string_utf8(env, argv[1], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "fd and name expected"); return NULL;
  }
  for (;;) {
    ssize_t n = fgetxattr(fd, name, NULL, 0);
    if (n < 0) {
      if (errno == ENODATA) { napi_value nul; napi_get_null(env, &nul); return nul; }
      return throw_errno(env, "fgetxattr", errno);
    }
    char *buf = malloc(n ? n : 1);
    if (!buf) return throw_errno(env, "fgetxattr", ENOMEM);
    ssize_t m = n ? fgetxattr(fd, name, buf, n) : 0;
    if (m < 0) { int e = errno; free(buf); if (e == ERANGE) continue; return throw_errno(env, "fgetxattr", e); }
    napi_value out; void *data;
    napi_create_buffer_copy(env, m, buf, &data, &out);
    free(buf);
    return out;
  }
}

/* set(fd, name, Buffer) */
static napi_value xset(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value argv[3]; int fd; char name[256]; size_t len; void *data; size_t dlen;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3 || !get_fd(env, argv[0], &fd) ||
      napi_get_value_string_utf8(env, argv[1], name, sizeof name, &len) != napi_ok ||
      napi_get_buffer_info(env, argv[2], &data, &dlen) != napi_ok) {
    napi_throw_type_error(env, NULL, "fd, name and Buffer expected"); return NULL;
  }
  if (fsetxattr(fd, name, data, dlen, 0) < 0) return throw_errno(env, "fsetxattr", errno);
  return NULL;
}

/* remove(fd, name) */
static napi_value xremove(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int fd; char name[256]; size_t len;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || !get_fd(env, argv[0], &fd) ||
      napi_get_value_string_utf8(env, argv[1], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "fd and name expected"); return NULL;
  }
  if (fremovexattr(fd, name) < 0 && errno != ENODATA) return throw_errno(env, "fremovexattr", errno);
  return NULL;
}

/* setTimes(fd, atimeNs: bigint, mtimeNs: bigint): futimens with exact nanoseconds
 * (Node's futimes takes a double and loses them). */
static napi_value xtimes(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value argv[3]; int fd; int64_t a, m; bool lossless;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3 || !get_fd(env, argv[0], &fd) ||
      napi_get_value_bigint_int64(env, argv[1], &a, &lossless) != napi_ok ||
      napi_get_value_bigint_int64(env, argv[2], &m, &lossless) != napi_ok) {
    napi_throw_type_error(env, NULL, "fd, atime and mtime (bigint ns) expected"); return NULL;
  }
  struct timespec ts[2];
  ts[0].tv_sec = a / 1000000000; ts[0].tv_nsec = a % 1000000000;
  ts[1].tv_sec = m / 1000000000; ts[1].tv_nsec = m % 1000000000;
  if (ts[0].tv_nsec < 0) { ts[0].tv_nsec += 1000000000; ts[0].tv_sec--; }
  if (ts[1].tv_nsec < 0) { ts[1].tv_nsec += 1000000000; ts[1].tv_sec--; }
  if (futimens(fd, ts) < 0) return throw_errno(env, "futimens", errno);
  return NULL;
}

/* syncfs(fd): makes everything written on fd's filesystem durable with one journal
 * commit, where an fsync per touched directory costs one commit each. */
static napi_value xsyncfs(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_fd(env, argv[0], &fd)) { napi_throw_type_error(env, NULL, "fd expected"); return NULL; }
  if (syncfs(fd) < 0) return throw_errno(env, "syncfs", errno);
  return NULL;
}


/*
 * readDir(path) -> ArrayBuffer of the directory's regular files and subdirectories, sorted
 * by name bytes, one record each (all fields little-endian, 8-byte aligned):
 *   u32 kind (1 file, 2 directory, 0 vanished between readdir and fstatat), u32 name length,
 *   u64 dev, ino, size, i64 mtime, ctime, atime (ns), u32 mode, uid, gid, nlink, name bytes
 *   padded to 8. Symlinks, devices, FIFOs and sockets are left out. The directory is opened
 *   with O_NOFOLLOW, and every entry is stat'ed relative to that descriptor without
 *   following symlinks, so a path component swapped for a symlink meanwhile is never entered.
 */
#define REC_HEAD 72
struct ent { char *name; size_t len; struct stat st; int kind; };

static int ent_cmp(const void *a, const void *b) {
  const struct ent *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->name, y->name, n);
  return c ? c : (x->len < y->len ? -1 : x->len > y->len ? 1 : 0);
}

static napi_value xreaddir(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; void *pdata; size_t plen;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_buffer_info(env, argv[0], &pdata, &plen) != napi_ok) {
    napi_throw_type_error(env, NULL, "path Buffer expected"); return NULL;
  }
  char *path = malloc(plen + 1);
  if (!path) return throw_errno(env, "readDir", ENOMEM);
  memcpy(path, pdata, plen); path[plen] = 0;
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  free(path);
  if (fd < 0) return throw_errno(env, "open", errno);
  DIR *d = fdopendir(fd);
  if (!d) { int e = errno; close(fd); return throw_errno(env, "fdopendir", e); }
  size_t cap = 64, n = 0, bytes = 0;
  struct ent *ents = malloc(cap * sizeof *ents);
  int err = ents ? 0 : ENOMEM;
  struct dirent *de;
  while (!err) {
    errno = 0;
    if (!(de = readdir(d))) { err = errno; break; }
    const char *nm = de->d_name;
    if (nm[0] == '.' && (!nm[1] || (nm[1] == '.' && !nm[2]))) continue;
    if (de->d_type != DT_REG && de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) continue;
    if (n == cap) {
      struct ent *more = realloc(ents, (cap *= 2) * sizeof *ents);
      if (!more) { err = ENOMEM; break; }
      ents = more;
    }
    struct ent *e = &ents[n];
    e->len = strlen(nm);
    e->name = malloc(e->len);
    if (!e->name) { err = ENOMEM; break; }
    memcpy(e->name, nm, e->len);
    if (fstatat(fd, nm, &e->st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno != ENOENT) { int se = errno; free(e->name); err = se; break; }
      e->kind = 0;
    } else if (S_ISREG(e->st.st_mode)) e->kind = 1;
    else if (S_ISDIR(e->st.st_mode)) e->kind = 2;
    else { free(e->name); continue; }
    bytes += REC_HEAD + ((e->len + 7) & ~(size_t)7);
    n++;
  }
  closedir(d);
  napi_value out = NULL;
  if (!err) {
    qsort(ents, n, sizeof *ents, ent_cmp);
    void *data;
    if (napi_create_arraybuffer(env, bytes, &data, &out) != napi_ok) err = ENOMEM;
    else {
      uint8_t *p = data;
      memset(p, 0, bytes);
      for (size_t i = 0; i < n; i++) {
        struct ent *e = &ents[i];
        uint32_t *u32 = (uint32_t *)p; uint64_t *u64 = (uint64_t *)(p + 8); int64_t *i64 = (int64_t *)(p + 32);
        u32[0] = e->kind; u32[1] = e->len;
        u64[0] = e->st.st_dev; u64[1] = e->st.st_ino; u64[2] = e->st.st_size;
        i64[0] = (int64_t)e->st.st_mtim.tv_sec * 1000000000 + e->st.st_mtim.tv_nsec;
        i64[1] = (int64_t)e->st.st_ctim.tv_sec * 1000000000 + e->st.st_ctim.tv_nsec;
        i64[2] = (int64_t)e->st.st_atim.tv_sec * 1000000000 + e->st.st_atim.tv_nsec;
        uint32_t *tail = (uint32_t *)(p + 56);
        tail[0] = e->st.st_mode; tail[1] = e->st.st_uid; tail[2] = e->st.st_gid; tail[3] = (uint32_t)e->st.st_nlink;
        memcpy(p + REC_HEAD, e->name, e->len);
        p += REC_HEAD + ((e->len + 7) & ~(size_t)7);
      }
    }
  }
  for (size_t i = 0; i < n; i++) free(ents[i].name);
  free(ents);
  if (err) return throw_errno(env, "readdir", err);
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    { "list", NULL, xlist, NULL, NULL, NULL, napi_default, NULL },
    { "get", NULL, xget, NULL, NULL, NULL, napi_default, NULL },
    { "set", NULL, xset, NULL, NULL, NULL, napi_default, NULL },
    { "remove", NULL, xremove, NULL, NULL, NULL, napi_default, NULL },
    { "setTimes", NULL, xtimes, NULL, NULL, NULL, napi_default, NULL },
    { "syncfs", NULL, xsyncfs, NULL, NULL, NULL, napi_default, NULL },
    { "readDir", NULL, xreaddir, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
