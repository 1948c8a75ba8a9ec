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


void register_xattr(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
    FN("list", xlist), FN("get", xget), FN("set", xset), FN("remove", xremove),
    FN("setTimes", xtimes), FN("syncfs", xsyncfs),
  };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
}
