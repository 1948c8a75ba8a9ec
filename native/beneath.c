/*
 * Resolution beneath a root, by the kernel: every path a guest controls is opened with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS)
 * relative to a descriptor hashify holds, so a directory swapped for a symlink, a ".."
 * or a mount point inside the tree fails (ELOOP, EXDEV) instead of leading elsewhere.
 * There is no fall-back to paths: a kernel without openat2 (ENOSYS, Linux < 5.6) is an error.
 */
#define _GNU_SOURCE
#include "napi_util.h"
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <limits.h>

#define BENEATH_RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS)

static long openat2_retry(int dirfd, const char *path, const struct open_how *how) {
  long fd;
  do fd = syscall(SYS_openat2, dirfd, path, how, sizeof *how); while (fd < 0 && errno == EINTR);
  return fd;
}

/*
 * A path of PATH_MAX bytes or more (NUL included) is one openat2 refuses (ENAMETOOLONG): it is
 * resolved in pieces of at most PATH_MAX - 1 bytes cut at a '/', each opened (O_PATH, a
 * directory) beneath the previous piece's descriptor with the same resolve flags, the last with
 * the caller's `how`. Each piece is resolved beneath a directory that was beneath dirfd when it
 * was opened, no symlink, ".." out of it or mount crossing anywhere: confined as the executor's
 * cached directories are. Only a name longer than a piece (never: NAME_MAX is 255) is still
 * ENAMETOOLONG.
 */
static long open_in_pieces(int dirfd, const char *rel, size_t len, const struct open_how *how) {
  struct open_how dir_how;
  memset(&dir_how, 0, sizeof dir_how);
  dir_how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  dir_how.resolve = BENEATH_RESOLVE;
  char piece[PATH_MAX];
  const char *p = rel, *end = rel + len;
  int at = dirfd;
  long fd = -1;
  while (end - p >= PATH_MAX) {
    const char *cut = p + PATH_MAX - 1;
    while (cut > p && *cut != '/') cut--;
    if (cut == p) { errno = ENAMETOOLONG; fd = -1; break; }
    memcpy(piece, p, (size_t)(cut - p));
    piece[cut - p] = 0;
    fd = openat2_retry(at, piece, &dir_how);
    if (at != dirfd) { int e = errno; close(at); errno = e; }
    if (fd < 0) return -1;
    at = (int)fd;
    for (p = cut; *p == '/'; p++) {}
  }
  if (end - p < PATH_MAX) fd = openat2_retry(at, *p ? p : ".", how);
  if (at != dirfd) { int e = errno; close(at); errno = e; }
  return fd;
}

/** openat2 beneath dirfd; -1 with errno set. `rel` "" or "." opens dirfd's own directory; a
 * `rel` of any length is resolved (one openat2 when it fits PATH_MAX, open_in_pieces beyond). */
int open_beneath(int dirfd, const char *rel, int flags, int mode) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (unsigned long long)(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? (unsigned long long)mode : 0;
  how.resolve = BENEATH_RESOLVE;
  size_t len = strlen(rel);
  return (int)(len < PATH_MAX ? openat2_retry(dirfd, len ? rel : ".", &how) : open_in_pieces(dirfd, rel, len, &how));
}

/** For an *at call that takes a path (linkat's old path): where to resolve `rel` from, *rest
 * being what remains of it. dirfd and rel themselves when rel fits one call; beyond PATH_MAX,
 * rel's parent directory opened (O_PATH) beneath dirfd, which the caller closes, and its last
 * name. -1 with errno set. */
int at_beneath(int dirfd, const char *rel, const char **rest) {
  *rest = rel;
  if (strlen(rel) < PATH_MAX) return dirfd;
  const char *slash = strrchr(rel, '/');
  if (!slash) { errno = ENAMETOOLONG; return -1; }
  char *dir = strndup(rel, (size_t)(slash - rel));
  if (!dir) { errno = ENOMEM; return -1; }
  int fd = open_beneath(dirfd, dir, O_PATH | O_DIRECTORY, 0);
  int e = errno;
  free(dir);
  errno = e;
  *rest = slash + 1;
  return fd;
}

/* A descriptor as the JS result, or the open's error (e: its errno) thrown. */
static napi_value fd_result(napi_env env, int fd, int e, const char *what) {
  if (fd < 0) return throw_errno(env, what, e);
  napi_value out; napi_create_int32(env, fd, &out);
  return out;
}

/* openRoot(path: Buffer) -> fd of the directory at path (O_DIRECTORY, the last component not
 * followed). The root is the operator's choice: resolution beneath it starts here. */
static napi_value xopenroot(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *path = argc < 1 ? NULL : get_bytes_z(env, argv[0], NULL);
  if (!path) { napi_throw_type_error(env, NULL, "path Buffer expected"); return NULL; }
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int e = errno;
  free(path);
  return fd_result(env, fd, e, "open");
}

/* openBeneath(dirfd, rel: Buffer, flags, mode?) -> fd, resolved beneath dirfd. */
static napi_value xopenbeneath(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value argv[4]; int dirfd, flags, mode = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3 || !get_fd(env, argv[0], &dirfd) || napi_get_value_int32(env, argv[2], &flags) != napi_ok) {
    napi_throw_type_error(env, NULL, "dirfd, path Buffer and flags expected"); return NULL;
  }
  if (argc > 3) napi_get_value_int32(env, argv[3], &mode);
  char *rel = get_bytes_z(env, argv[1], NULL);
  if (!rel) { napi_throw_type_error(env, NULL, "path Buffer without NUL expected"); return NULL; }
  int fd = open_beneath(dirfd, rel, flags, mode);
  int e = errno;
  free(rel);
  return fd_result(env, fd, e, "openat2");
}

/* close(fd) for descriptors this addon opened: Node's fs.closeSync on them warns in a worker
 * thread ("closed but not opened in unmanaged mode"), which tracks only its own. */
static napi_value xclose(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_fd(env, argv[0], &fd)) { napi_throw_type_error(env, NULL, "fd expected"); return NULL; }
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, "close", errno);
  return NULL;
}

static void set_const(napi_env env, napi_value obj, const char *name, int v) {
  napi_value n; napi_create_int32(env, v, &n); napi_set_named_property(env, obj, name, n);
}

void register_beneath(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
    FN("openRoot", xopenroot), FN("openBeneath", xopenbeneath), FN("close", xclose),
  };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
  napi_value c; napi_create_object(env, &c);
  set_const(env, c, "O_PATH", O_PATH);
  set_const(env, c, "O_TMPFILE", O_TMPFILE);
  set_const(env, c, "O_DIRECTORY", O_DIRECTORY);
  set_const(env, c, "O_NOFOLLOW", O_NOFOLLOW);
  set_const(env, c, "O_NOATIME", O_NOATIME);
  set_const(env, c, "RENAME_EXCHANGE", RENAME_EXCHANGE);
  set_const(env, c, "RENAME_NOREPLACE", RENAME_NOREPLACE);
  set_const(env, c, "AT_EMPTY_PATH", AT_EMPTY_PATH);
  napi_set_named_property(env, exports, "constants", c);
}
