/* clone: removing a temp tree by descriptor, its lock, and the calls behind `switch` (see clone.h). */
#define _GNU_SOURCE
#include "clone.h"

static void set_num(napi_env env, napi_value obj, const char *k, double v) {
  napi_value n; napi_create_double(env, v, &n); napi_set_named_property(env, obj, k, n);
}

/* Removes the entry `name` of dirfd and, if it is a directory, everything below it, by
 * descriptor: a symlink is removed, never followed. */
static int remove_at(int parent, const char *name) {
  if (unlinkat(parent, name, 0) == 0 || errno == ENOENT) return 0;
  if (errno != EISDIR && errno != EPERM) return -1;
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  DIR *d = fdopendir(fd);
  if (!d) { close(fd); return -1; }
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (remove_at(dirfd(d), e->d_name) < 0) { rc = -1; break; }
  }
  int err = errno;
  closedir(d);
  if (rc < 0) { errno = err; return -1; }
  if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT) return -1;
  return 0;
}

/* removeTree(dirfd, name: Buffer) */
static napi_value xremove(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int dirfd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *name = argc < 2 || !get_fd(env, argv[0], &dirfd) ? NULL : get_bytes_z(env, argv[1], NULL);
  if (!name) { napi_throw_type_error(env, NULL, "dirfd and name Buffer expected"); return NULL; }
  int r = remove_at(dirfd, name), e = errno;
  free(name);
  if (r < 0) return throw_errno(env, "remove", e);
  return NULL;
}

/* tryLock(fd) -> true when an exclusive flock was taken, false when another process holds one. */
static napi_value xlock(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_fd(env, argv[0], &fd)) { napi_throw_type_error(env, NULL, "fd expected"); return NULL; }
  int r = flock(fd, LOCK_EX | LOCK_NB);
  if (r < 0 && errno != EWOULDBLOCK) return throw_errno(env, "flock", errno);
  napi_value out; napi_get_boolean(env, r == 0, &out);
  return out;
}

/* lstatAt(dirfd, name: Buffer) -> { mode, dev, ino } or null when nothing is there. */
static napi_value xlstatat(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int dirfd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *name = argc < 2 || !get_fd(env, argv[0], &dirfd) ? NULL : get_bytes_z(env, argv[1], NULL);
  if (!name) { napi_throw_type_error(env, NULL, "dirfd and name Buffer expected"); return NULL; }
  struct stat st;
  int r = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW), e = errno;
  free(name);
  napi_value out;
  if (r < 0) {
    if (e == ENOENT) { napi_get_null(env, &out); return out; }
    return throw_errno(env, "fstatat", e);
  }
  napi_create_object(env, &out);
  set_num(env, out, "mode", st.st_mode);
  napi_value v;
  napi_create_bigint_uint64(env, st.st_dev, &v); napi_set_named_property(env, out, "dev", v);
  napi_create_bigint_uint64(env, st.st_ino, &v); napi_set_named_property(env, out, "ino", v);
  return out;
}

/* renameAt2(olddirfd, oldname, newdirfd, newname, flags) */
static napi_value xrename(napi_env env, napi_callback_info info) {
  size_t argc = 5; napi_value argv[5]; int od, nd, flags;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5 || !get_fd(env, argv[0], &od) || !get_fd(env, argv[2], &nd) || napi_get_value_int32(env, argv[4], &flags) != napi_ok) {
    napi_throw_type_error(env, NULL, "olddirfd, oldname, newdirfd, newname, flags expected"); return NULL;
  }
  char *on = get_bytes_z(env, argv[1], NULL), *nn = get_bytes_z(env, argv[3], NULL);
  if (!on || !nn) { free(on); free(nn); napi_throw_type_error(env, NULL, "names must be Buffers"); return NULL; }
  int r = renameat2(od, on, nd, nn, (unsigned)flags), e = errno;
  free(on); free(nn);
  if (r < 0) return throw_errno(env, "renameat2", e);
  return NULL;
}

void register_clone_fs(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
    FN("removeTree", xremove), FN("lstatAt", xlstatat), FN("renameAt2", xrename), FN("tryLock", xlock),
  };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
}
