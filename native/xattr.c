/*
 * Extended attributes by file descriptor (flistxattr/fgetxattr/fsetxattr/fremovexattr),
 * futimens with exact nanoseconds, and syncfs.
 *
 * Why our own addon for xattrs: the maintained npm bindings take string paths only, so a
 * file name that is not valid UTF-8 cannot be named, and they resolve the path
 * again at every call. hashify opens each file once with O_NOFOLLOW, checks the
 * descriptor is the inode it scanned, and reads or writes attributes through
 * that same descriptor: no symlink is ever followed and no rename race applies.
 */
#define _GNU_SOURCE /* syncfs */
#include "napi_util.h"
#include <sys/xattr.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

/* A value of unknown size as a new Buffer: the attribute list (name NULL) or one attribute.
 * Asks the size, then reads, again when it grew in between (ERANGE). A missing attribute is
 * null; a filesystem without xattrs lists none. */
static napi_value read_sized(napi_env env, int fd, const char *name) {
  const char *what = name ? "fgetxattr" : "flistxattr";
  for (;;) {
    ssize_t n = name ? fgetxattr(fd, name, NULL, 0) : flistxattr(fd, NULL, 0);
    if (n < 0 && name && errno == ENODATA) { napi_value nul; napi_get_null(env, &nul); return nul; }
    if (n < 0 && !name && errno == ENOTSUP) n = 0;
    if (n < 0) return throw_errno(env, what, errno);
    char *buf = malloc(n ? n : 1);
    if (!buf) return throw_errno(env, what, ENOMEM);
    ssize_t m = !n ? 0 : name ? fgetxattr(fd, name, buf, n) : flistxattr(fd, buf, n);
    if (m < 0) { int e = errno; free(buf); if (e == ERANGE) continue; return throw_errno(env, what, e); }
    napi_value out; void *data;
    napi_create_buffer_copy(env, m, buf, &data, &out);
    free(buf);
    return out;
  }
}

/* The (fd, name, ...) arguments of get, set and remove; false (a TypeError thrown) when bad. */
static bool fd_and_name(napi_env env, napi_callback_info info, size_t want, napi_value *argv, int *fd, char name[256]) {
  size_t argc = want, len;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= want && get_fd(env, argv[0], fd) &&
      napi_get_value_string_utf8(env, argv[1], name, 256, &len) == napi_ok) return true;
  napi_throw_type_error(env, NULL, want == 3 ? "fd, name and Buffer expected" : "fd and name expected");
  return false;
}

/* list(fd) -> Buffer of NUL-separated names (names are bytes, decoded by the caller) */
static napi_value xlist(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_fd(env, argv[0], &fd)) { napi_throw_type_error(env, NULL, "fd expected"); return NULL; }
  return read_sized(env, fd, NULL);
}

/* get(fd, name) -> Buffer, or null when the attribute does not exist */
static napi_value xget(napi_env env, napi_callback_info info) {
  napi_value argv[2]; int fd; char name[256];
  if (!fd_and_name(env, info, 2, argv, &fd, name)) return NULL;
  return read_sized(env, fd, name);
}

/* set(fd, name, Buffer) */
static napi_value xset(napi_env env, napi_callback_info info) {
  napi_value argv[3]; int fd; char name[256]; void *data; size_t dlen;
  if (!fd_and_name(env, info, 3, argv, &fd, name)) return NULL;
  if (napi_get_buffer_info(env, argv[2], &data, &dlen) != napi_ok) {
    napi_throw_type_error(env, NULL, "fd, name and Buffer expected"); return NULL;
  }
  if (fsetxattr(fd, name, data, dlen, 0) < 0) return throw_errno(env, "fsetxattr", errno);
  return NULL;
}

/* remove(fd, name) */
static napi_value xremove(napi_env env, napi_callback_info info) {
  napi_value argv[2]; int fd; char name[256];
  if (!fd_and_name(env, info, 2, argv, &fd, name)) return NULL;
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


void register_xattr(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
    FN("list", xlist), FN("get", xget), FN("set", xset), FN("remove", xremove),
    FN("setTimes", xtimes), FN("syncfs", xsyncfs),
  };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
}
