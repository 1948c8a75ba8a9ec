/*
 * The executor's binding: execOpen(roots) -> handle, execRun(handle, batch, abortOnDrift)
 * -> results (one crossing per batch of steps, encoded in one Buffer: native/executor_batch.c),
 * execSyncfsAsync(handle, root), execStop(handle), execClose(handle). The batch stops after the first fatal error
 * (ENOSPC, EROFS, EDQUOT, EIO) and, with abortOnDrift, after the first drift: the steps not
 * run after it are ST_NOT_REACHED.
 */
#include "executor.h"
#include "executor_batch.h"
#include "napi_util.h"
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static void close_lanes(struct batch_lanes *bl) {
  ex_lanes_stop(bl);
  for (int l = 0; l < LANES; l++) if (bl->lane[l].cache) ex_lane_free(&bl->lane[l]);
  ex_reap_stop(bl->reap, &bl->stats);
  bl->reap = NULL;
  bl->reap_tried = 0;
  for (int l = 0; l < LANES; l++) bl->lane[l].reap = NULL;
}

static void finalize(napi_env env, void *data, void *hint) {
  struct batch_lanes *bl = data;
  close_lanes(bl);
  for (int i = 0; i < bl->nroots; i++) if (bl->rootfd[i] >= 0) close(bl->rootfd[i]);
  free(bl->rootfd);
  pthread_mutex_destroy(&bl->mu); pthread_cond_destroy(&bl->work); pthread_cond_destroy(&bl->done);
  free(bl);
}

static struct batch_lanes *get_ex(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

/* execOpen(roots: Buffer[]) -> handle; each root opened once (O_DIRECTORY, last component not followed). */
static napi_value xopen(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; uint32_t n = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_array_length(env, argv[0], &n) != napi_ok) { napi_throw_type_error(env, NULL, "roots expected"); return NULL; }
  struct batch_lanes *bl = calloc(1, sizeof *bl);
  bl->rootfd = calloc(n ? n : 1, sizeof(int));
  for (uint32_t i = 0; i < n; i++) bl->rootfd[i] = -1;
  bl->nroots = n;
  ex_lanes_init(bl);
  for (uint32_t i = 0; i < n; i++) {
    napi_value b; napi_get_element(env, argv[0], i, &b);
    char *path = get_bytes_z(env, b, NULL);
    int fd = path ? open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    int e = path ? errno : EINVAL;
    free(path);
    /* A root that is gone or is a symlink now: its steps drift (ex_dir), the others run. */
    if (fd < 0 && e != ENOENT && e != ENOTDIR && e != ELOOP) { finalize(env, bl, NULL); return throw_errno(env, "open", e); }
    bl->rootfd[i] = fd;
  }
  napi_value out; napi_create_external(env, bl, finalize, NULL, &out);
  return out;
}

/* Per result, RESULT bytes: i32 status, i32 errno, u8 group, u8 retarget, u16 0, u32 nlink of the
   made inode, then u64 freed, dev, ino, ctime (ns) of the made inode (0 when none). */
#define RESULT 48
static void put_result(unsigned char *o, const struct result *r) {
  int32_t head[2] = { r->status, r->err };
  uint32_t nlink = r->made.st_ino ? (uint32_t)r->made.st_nlink : 0;
  uint64_t v[4] = { r->freed, r->made.st_ino ? r->made.st_dev : 0, r->made.st_ino,
                    r->made.st_ino ? (uint64_t)r->made.st_ctim.tv_sec * 1000000000ull + r->made.st_ctim.tv_nsec : 0 };
  memcpy(o, head, 8);
  o[8] = r->group ? 1 : 0; o[9] = (unsigned char)r->retarget; o[10] = o[11] = 0;
  memcpy(o + 12, &nlink, 4);
  memcpy(o + 16, v, 32);
}

/* One batch in flight: sent to the lanes' threads (executor_batch.c) and waited for on a thread
   of libuv's pool, so that JavaScript prepares and sends the next batches and writes the
   journal meanwhile. */
struct run_job {
  napi_async_work work; napi_deferred deferred; napi_ref batch_ref, handle_ref; /* both kept alive while it runs */
  struct batch_lanes *bl; struct job *job;
  struct result *res; long n; int err;
};

static void run_execute(napi_env env, void *data) {
  struct run_job *j = data;
  if (j->job) j->n = ex_wait(j->bl, j->job, &j->res);
}

/* Resolves with [results: Buffer, messages: (number|string)[]]: one RESULT record per step
   (ST_NOT_REACHED for a step not run) and, for each result with a reason, its index, the
   reason and the errno's name ("" without one). */
static void run_complete(napi_env env, napi_status status, void *data) {
  struct run_job *j = data;
  j->bl->busy--;
  napi_value out, msgs, pair, err;
  if (j->n < 0) {
    napi_create_string_utf8(env, j->err == ENOMEM ? "out of memory" : "malformed batch", NAPI_AUTO_LENGTH, &out);
    napi_create_error(env, NULL, out, &err);
    napi_reject_deferred(env, j->deferred, err);
  } else {
    void *out_data; uint32_t m = 0;
    napi_create_buffer(env, (size_t)j->n * RESULT, &out_data, &out);
    napi_create_array(env, &msgs);
    for (long i = 0; i < j->n; i++) {
      const struct result *r = &j->res[i];
      put_result((unsigned char *)out_data + i * RESULT, r);
      if (!r->why[0] && !r->err) continue;
      const char *code = r->err ? uv_err_name(-r->err) : "";
      napi_value v;
      napi_create_int64(env, i, &v); napi_set_element(env, msgs, m++, v);
      napi_create_string_utf8(env, r->why, NAPI_AUTO_LENGTH, &v); napi_set_element(env, msgs, m++, v);
      napi_create_string_utf8(env, r->err && code && strncmp(code, "Unknown", 7) ? code : (r->err ? "EIO" : ""), NAPI_AUTO_LENGTH, &v);
      napi_set_element(env, msgs, m++, v);
    }
    napi_create_array_with_length(env, 2, &pair);
    napi_set_element(env, pair, 0, out); napi_set_element(env, pair, 1, msgs);
    napi_resolve_deferred(env, j->deferred, pair);
  }
  free(j->res);
  napi_delete_reference(env, j->batch_ref);
  napi_delete_reference(env, j->handle_ref);
  napi_delete_async_work(env, j->work);
  free(j);
}

/* execRun(handle, batch: Buffer, abortOnDrift, fresh) -> Promise of the results (run_complete);
   fresh: the first batch of a run (a stop of an earlier run no longer holds; only when no batch
   is in flight). Batches sent before the last one settles queue: each lane runs them in the
   order sent. execClose before every batch settled throws. */
static napi_value xrun(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value argv[4]; bool abort_drift = false, fresh = false;
  void *data = NULL; size_t size = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct batch_lanes *bl = argc >= 2 ? get_ex(env, argv[0]) : NULL;
  if (!bl || napi_get_buffer_info(env, argv[1], &data, &size) != napi_ok) { napi_throw_type_error(env, NULL, "executor and batch expected"); return NULL; }
  if (argc > 2) napi_get_value_bool(env, argv[2], &abort_drift);
  if (argc > 3) napi_get_value_bool(env, argv[3], &fresh);
  struct run_job *j = calloc(1, sizeof *j);
  if (!j) return throw_errno(env, "calloc", ENOMEM);
  if (fresh && bl->busy) { free(j); napi_throw_error(env, NULL, "a fresh run while a batch is in flight"); return NULL; }
  j->bl = bl;
  j->job = ex_submit(bl, data, size, abort_drift, fresh);
  if (!j->job) { j->n = -1; j->err = errno; }
  napi_create_reference(env, argv[1], 1, &j->batch_ref);
  napi_create_reference(env, argv[0], 1, &j->handle_ref);
  bl->busy++;
  return queue_work(env, "hashify.execRun", run_execute, run_complete, j, &j->deferred, &j->work);
}

/* execSyncfsAsync(handle, root) -> Promise: syncfs on the filesystem of that root (roots and store
   share one: plan refuses others; a root gone since, any other), on a thread of libuv's pool, so
   that the main thread prepares and starts the next batch meanwhile (a batch may run then too). */
struct sync_job { napi_async_work work; napi_deferred deferred; napi_ref handle_ref; int fd, err; };

static void sync_execute(napi_env env, void *data) {
  struct sync_job *j = data;
  j->err = syncfs(j->fd) < 0 ? errno : 0;
}

static void sync_complete(napi_env env, napi_status status, void *data) {
  struct sync_job *j = data;
  napi_value v = NULL;
  if (j->err) {
    napi_value msg;
    napi_create_string_utf8(env, strerror(j->err), NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &v);
    napi_reject_deferred(env, j->deferred, v);
  } else {
    napi_get_undefined(env, &v);
    napi_resolve_deferred(env, j->deferred, v);
  }
  napi_delete_reference(env, j->handle_ref);
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value xsyncfs_async(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int root = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct batch_lanes *ex = argc >= 2 ? get_ex(env, argv[0]) : NULL;
  if (!ex || napi_get_value_int32(env, argv[1], &root) != napi_ok || root < 0 || root >= ex->nroots) { napi_throw_type_error(env, NULL, "executor and root expected"); return NULL; }
  for (int i = 0; i < ex->nroots && ex->rootfd[root] < 0; i++) root = (root + 1) % ex->nroots;
  struct sync_job *j = calloc(1, sizeof *j);
  if (!j) return throw_errno(env, "calloc", ENOMEM);
  j->fd = ex->rootfd[root];
  napi_create_reference(env, argv[0], 1, &j->handle_ref); /* the descriptors stay open while it runs */
  return queue_work(env, "hashify.execSyncfs", sync_execute, sync_complete, j, &j->deferred, &j->work);
}

/* execClose(handle): closes every descriptor now (the finalizer would, later). */
static napi_value xclose(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct batch_lanes *bl = argc >= 1 ? get_ex(env, argv[0]) : NULL;
  if (bl && bl->busy) { napi_throw_error(env, NULL, "the executor is running a batch"); return NULL; }
  if (bl) close_lanes(bl);
  return NULL;
}

static void set_number(napi_env env, napi_value obj, const char *name, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

/* execStats(handle) -> { threads, laneIdleSeconds: [per lane used], reaperWaits,
   reaperWaitSeconds, reaperDrainSeconds }: lane threads started so far, and where the run
   waited (struct wait_stats). The reapers' figures are complete once execClose has returned. */
static napi_value xstats(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1], out, idle;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct batch_lanes *bl = argc >= 1 ? get_ex(env, argv[0]) : NULL;
  if (!bl) { napi_throw_type_error(env, NULL, "executor handle expected"); return NULL; }
  napi_create_object(env, &out);
  set_number(env, out, "threads", (double)bl->threads);
  napi_create_array(env, &idle);
  for (uint32_t l = 0, k = 0; l < LANES; l++) {
    if (!(bl->used >> l & 1)) continue;
    napi_value v; napi_create_double(env, bl->stats.lane_idle_ns[l] / 1e9, &v);
    napi_set_element(env, idle, k++, v);
  }
  napi_set_named_property(env, out, "laneIdleSeconds", idle);
  set_number(env, out, "reaperWaits", (double)bl->stats.reap_waits);
  set_number(env, out, "reaperWaitSeconds", bl->stats.reap_wait_ns / 1e9);
  set_number(env, out, "reaperDrainSeconds", bl->stats.reap_drain_ns / 1e9);
  return out;
}

/* execStop(handle): each lane finishes the step it is in and starts no other; the steps left,
   of this batch and of any sent later, are ST_NOT_REACHED (SIGINT/SIGTERM: SPEC "finish the
   current operation"). Safe at any time: a step is never cut in half. */
static napi_value xstop(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct batch_lanes *bl = argc >= 1 ? get_ex(env, argv[0]) : NULL;
  if (bl) __atomic_store_n(&bl->interrupted, 1, __ATOMIC_RELEASE);
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
     remounted read-only (the store's lock lies on the roots' filesystem). O_NONBLOCK: a FIFO
     someone put at the name (/run/lock is anyone's) must not block the open. */
  int fd = shared ? open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  int e = errno;
  free(path);
  if (fd < 0) return throw_errno(env, "open", e);
  if (flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) { e = errno; close(fd); return throw_errno(env, "flock", e); }
  napi_value out; napi_create_int32(env, fd, &out);
  return out;
}

void register_executor(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
    FN("execOpen", xopen), FN("execRun", xrun), FN("execSyncfsAsync", xsyncfs_async), FN("execClose", xclose), FN("execStats", xstats), FN("execStop", xstop), FN("lockFile", xlock),
  };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
}
