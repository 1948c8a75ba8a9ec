/*
 * The executor's binding: execOpen(roots) -> handle, execRun(handle, steps, abortOnDrift)
 * -> results (one crossing per batch of steps), execSyncfs(handle, root), execClose(handle).
 * A step is an object { k, r, d, n, t, e, g, a, x, sr, sd, sn } (see src/run/steps.ts);
 * the batch stops after the first fatal error (ENOSPC, EROFS, EDQUOT, EIO) and, with
 * abortOnDrift, after the first drift: the steps after it are not in the results.
 */
#include "executor.h"
#include "napi_util.h"
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static void finalize(napi_env env, void *data, void *hint) {
  struct executor *ex = data;
  ex_end_group(ex);
  for (int i = 0; i < DCACHE; i++) if (ex->cache[i].rel) { free(ex->cache[i].rel); close(ex->cache[i].fd); ex->cache[i].rel = NULL; }
  for (int i = 0; i < ex->nroots; i++) if (ex->rootfd[i] >= 0) close(ex->rootfd[i]);
  free(ex->rootfd);
  free(ex);
}

static struct executor *get_ex(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

/* execOpen(roots: Buffer[]) -> handle; each root opened once (O_DIRECTORY, last component not followed). */
static napi_value xopen(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; uint32_t n = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_array_length(env, argv[0], &n) != napi_ok) { napi_throw_type_error(env, NULL, "roots expected"); return NULL; }
  struct executor *ex = calloc(1, sizeof *ex);
  ex->rootfd = calloc(n ? n : 1, sizeof(int));
  ex->empty_path = -1; ex->target_fd = ex->sib_fd = -1; ex->group_clean = 1;
  for (uint32_t i = 0; i < n; i++) ex->rootfd[i] = -1;
  ex->nroots = n;
  for (uint32_t i = 0; i < n; i++) {
    napi_value b; napi_get_element(env, argv[0], i, &b);
    char *path = get_bytes_z(env, b, NULL);
    int fd = path ? open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    int e = path ? errno : EINVAL;
    free(path);
    /* A root that is gone or is a symlink now: its steps drift (ex_dir), the others run. */
    if (fd < 0 && e != ENOENT && e != ENOTDIR && e != ELOOP) { finalize(env, ex, NULL); return throw_errno(env, "open", e); }
    ex->rootfd[i] = fd;
  }
  napi_value out; napi_create_external(env, ex, finalize, NULL, &out);
  return out;
}

static napi_value prop(napi_env env, napi_value o, const char *name) {
  napi_value v; bool has = false;
  napi_has_named_property(env, o, name, &has);
  if (!has) return NULL;
  napi_get_named_property(env, o, name, &v);
  napi_valuetype t; napi_typeof(env, v, &t);
  return t == napi_undefined || t == napi_null ? NULL : v;
}

static int prop_int(napi_env env, napi_value o, const char *name, int dflt) {
  napi_value v = prop(env, o, name); int32_t x;
  return v && napi_get_value_int32(env, v, &x) == napi_ok ? x : dflt;
}

/* A Buffer property as a C string (NULL when absent); freed by the caller. "" when empty. */
static char *prop_str(napi_env env, napi_value o, const char *name) {
  napi_value v = prop(env, o, name);
  return v ? get_bytes_z(env, v, NULL) : NULL;
}

static const unsigned char *prop_bytes(napi_env env, napi_value o, const char *name, size_t *len) {
  napi_value v = prop(env, o, name); void *data = NULL; *len = 0;
  if (!v || napi_get_buffer_info(env, v, &data, len) != napi_ok) { *len = 0; return NULL; }
  return data;
}

static int get_expect(napi_env env, napi_value o, struct expect *e) {
  size_t len; const unsigned char *b = prop_bytes(env, o, "e", &len);
  memset(e, 0, sizeof *e);
  if (!b || len < 88) return 0;
  uint64_t v[11]; memcpy(v, b, sizeof v);
  e->dev = v[0]; e->ino = v[1]; e->size = v[2]; e->mode = v[3]; e->uid = v[4]; e->gid = v[5]; e->nlink = v[6];
  e->mtime = (int64_t)v[7]; e->ctime = (int64_t)v[8]; e->atime = (int64_t)v[9]; e->flags = (uint32_t)v[10];
  e->digest = prop_bytes(env, o, "g", &e->digest_len);
  e->alg = prop_int(env, o, "a", 0);
  e->xattrs = prop_bytes(env, o, "x", &e->xattrs_len);
  return 1;
}

static void set_str(napi_env env, napi_value o, const char *k, const char *s) {
  napi_value v; napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v); napi_set_named_property(env, o, k, v);
}
static void set_int(napi_env env, napi_value o, const char *k, int64_t x) {
  napi_value v; napi_create_int64(env, x, &v); napi_set_named_property(env, o, k, v);
}
static void set_u64(napi_env env, napi_value o, const char *k, uint64_t x) {
  char s[32]; snprintf(s, sizeof s, "%llu", (unsigned long long)x); set_str(env, o, k, s);
}

static napi_value result_object(napi_env env, const struct result *r) {
  napi_value o; napi_create_object(env, &o);
  set_int(env, o, "s", r->status);
  if (r->why[0]) set_str(env, o, "why", r->why);
  if (r->err) { const char *n = uv_err_name(-r->err); set_str(env, o, "code", n && strncmp(n, "Unknown", 7) ? n : "EIO"); }
  if (r->group) set_int(env, o, "group", 1);
  if (r->retarget) set_int(env, o, "retarget", r->retarget);
  if (r->freed) set_u64(env, o, "freed", r->freed);
  if (r->made.st_ino) {
    set_u64(env, o, "dev", r->made.st_dev); set_u64(env, o, "ino", r->made.st_ino);
    set_u64(env, o, "ctime", (uint64_t)r->made.st_ctim.tv_sec * 1000000000ull + r->made.st_ctim.tv_nsec);
    set_int(env, o, "nlink", r->made.st_nlink);
  }
  return o;
}

static int fatal(int err) { return err == ENOSPC || err == EROFS || err == EDQUOT || err == EIO || err == ENOSYS; }

/* execRun(handle, steps, abortOnDrift) -> results for the steps run, in order. */
static napi_value xrun(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value argv[3]; uint32_t n = 0; bool abort_drift = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct executor *ex = argc >= 2 ? get_ex(env, argv[0]) : NULL;
  if (!ex || napi_get_array_length(env, argv[1], &n) != napi_ok) { napi_throw_type_error(env, NULL, "executor and steps expected"); return NULL; }
  if (argc > 2) napi_get_value_bool(env, argv[2], &abort_drift);
  napi_value out; napi_create_array(env, &out);
  for (uint32_t i = 0; i < n; i++) {
    napi_value s; napi_get_element(env, argv[1], i, &s);
    struct result r; memset(&r, 0, sizeof r); r.status = ST_FAILED;
    ex->step++;
    struct expect e; get_expect(env, s, &e);
    int k = prop_int(env, s, "k", 0), root = prop_int(env, s, "r", 0);
    char *dir = prop_str(env, s, "d"), *name = prop_str(env, s, "n"), *tmp = prop_str(env, s, "t");
    char *sdir = prop_str(env, s, "sd"), *sname = prop_str(env, s, "sn"), *tmp2 = prop_str(env, s, "t2");
    if (k == K_END) { ex_end_group(ex); r.status = ST_ALREADY; }
    else if (!dir || !name) ex_fail(&r, "malformed step", EINVAL);
    else if (k == K_TARGET) ex_target(ex, root, dir, name, &e, prop_int(env, s, "lease", 0), prop_int(env, s, "sr", 0), sdir, sname, &r);
    else if (k == K_COPYIN && sdir && sname) ex_copyin(ex, root, dir, name, &e, prop_int(env, s, "sr", 0), sdir, sname, &r);
    else if ((k == K_LINK || k == K_REFLINK || k == K_RESTORE) && tmp) {
      struct place entry = { prop_int(env, s, "sr", 0), sdir, sname };
      ex_replace(ex, k, root, dir, name, tmp, tmp2, sdir && sname ? &entry : NULL, &e, &r);
    }
    else if (k == K_RELEASE) ex_release(ex, root, dir, name, &e, &r);
    else if (k == K_SIBLING) ex_sibling(ex, root, dir, name, &e, &r);
    else ex_fail(&r, "malformed step", EINVAL);
    free(dir); free(name); free(tmp); free(sdir); free(sname); free(tmp2);
    napi_set_element(env, out, i, result_object(env, &r));
    if ((r.status == ST_FAILED && fatal(r.err)) || (abort_drift && r.status == ST_DRIFT)) break;
  }
  return out;
}

/* execSyncfs(handle, root): makes everything written on that root's filesystem durable. */
static napi_value xsyncfs(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int root = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct executor *ex = argc >= 2 ? get_ex(env, argv[0]) : NULL;
  if (!ex || napi_get_value_int32(env, argv[1], &root) != napi_ok || root < 0 || root >= ex->nroots) { napi_throw_type_error(env, NULL, "executor and root expected"); return NULL; }
  /* Roots and store share one filesystem (plan refuses others); a root gone since, any other. */
  for (int i = 0; i < ex->nroots && ex->rootfd[root] < 0; i++) root = (root + 1) % ex->nroots;
  if (syncfs(ex->rootfd[root]) < 0) return throw_errno(env, "syncfs", errno);
  return NULL;
}

/* execClose(handle): closes every descriptor now (the finalizer would, later). */
static napi_value xclose(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct executor *ex = argc >= 1 ? get_ex(env, argv[0]) : NULL;
  if (!ex) return NULL;
  ex_end_group(ex);
  for (int i = 0; i < DCACHE; i++) if (ex->cache[i].rel) { free(ex->cache[i].rel); close(ex->cache[i].fd); ex->cache[i].rel = NULL; }
  return NULL;
}

/* lockFile(path: Buffer, shared?: boolean) -> fd holding flock(2) on the file (made if missing);
   throws EWOULDBLOCK when another process holds it. The kernel releases it when the holder dies. */
static napi_value xlock(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; bool shared = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *path = argc >= 1 ? get_bytes_z(env, argv[0], NULL) : NULL;
  if (!path) { napi_throw_type_error(env, NULL, "path Buffer expected"); return NULL; }
  if (argc > 1) napi_get_value_bool(env, argv[1], &shared);
  /* Read-only even to lock: a file held open for writing would keep its filesystem from being
     remounted read-only (the store's lock lies on the roots' filesystem). */
  int fd = shared ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  int e = errno;
  free(path);
  if (fd < 0) return throw_errno(env, "open", e);
  if (flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) { e = errno; close(fd); return throw_errno(env, "flock", e); }
  napi_value out; napi_create_int32(env, fd, &out);
  return out;
}

void register_executor(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
    FN("execOpen", xopen), FN("execRun", xrun), FN("execSyncfs", xsyncfs), FN("execClose", xclose), FN("lockFile", xlock),
  };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
}
