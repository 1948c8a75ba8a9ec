/*
 * The plan file's writer thread: the main thread encodes the next buffer of plan lines while
 * this thread writes the previous ones to the (temp) plan file and feeds them to SHA-256.
 * Buffers are the caller's (JS Buffers it keeps alive and does not touch while in flight);
 * they are written and hashed in the order given. The first write error is kept: later
 * buffers are dropped, and every call after it throws that errno (so ENOSPC or EIO never
 * lets a partial plan count as written). Writeback is started every few MiB
 * (sync_file_range), so that the caller's final fsync has little left to wait for.
 *
 *   planWriteOpen(fd) -> handle                       (the fd stays the caller's)
 *   planWritePut(handle, buffer, length, maxInFlight) queues buffer[0..length); returns once
 *                                                     at most maxInFlight buffers are queued
 *   planWriteDigest(handle) -> Buffer                 waits for the queue; SHA-256 of every
 *                                                     byte queued so far (the hash goes on)
 *   planWriteClose(handle)                            waits, ends the thread (also on error)
 */
#define _GNU_SOURCE
#include "napi_util.h"
#include <openssl/evp.h>
#include <pthread.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE 16
#define WRITEBACK_BYTES (8u << 20)

struct planwrite {
  int fd;
  pthread_t thread;
  int running;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct { const uint8_t *data; size_t len; } q[QUEUE];
  size_t head, count;
  int closing;
  /* The first write error (errno), and the syscall that gave it. */
  int err;
  const char *err_call;
  EVP_MD_CTX *md;
  uint64_t written, synced;
};

static int write_all(struct planwrite *w, const uint8_t *p, size_t len) {
  while (len) {
    ssize_t n = write(w->fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    p += n; len -= (size_t)n; w->written += (uint64_t)n;
  }
  if (w->written - w->synced >= WRITEBACK_BYTES) {
    /* Only starts writeback; an error here shows again in the caller's fsync. */
    sync_file_range(w->fd, (off64_t)w->synced, (off64_t)(w->written - w->synced), SYNC_FILE_RANGE_WRITE);
    w->synced = w->written;
  }
  return 0;
}

static void *run(void *arg) {
  struct planwrite *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (w->count == 0 && !w->closing) pthread_cond_wait(&w->cv, &w->mu);
    if (w->count == 0) break;
    const uint8_t *data = w->q[w->head].data;
    size_t len = w->q[w->head].len;
    int failed = w->err != 0;
    pthread_mutex_unlock(&w->mu);
    int err = 0; const char *call = NULL;
    if (!failed) {
      if ((err = write_all(w, data, len)) != 0) call = "write";
      else if (EVP_DigestUpdate(w->md, data, len) != 1) { err = EIO; call = "sha256"; }
    }
    pthread_mutex_lock(&w->mu);
    if (err && !w->err) { w->err = err; w->err_call = call; }
    w->head = (w->head + 1) % QUEUE;
    w->count--;
    pthread_cond_broadcast(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* Waits (lock held) until at most `most` buffers are queued; the error so far. */
static int wait_queue(struct planwrite *w, size_t most) {
  while (w->count > most) pthread_cond_wait(&w->cv, &w->mu);
  return w->err;
}

static void stop(struct planwrite *w) {
  if (!w->running) return;
  pthread_mutex_lock(&w->mu);
  w->closing = 1;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  w->running = 0;
}

static void finalize(napi_env env, void *data, void *hint) {
  struct planwrite *w = data;
  /* A writer collected without planWriteClose: the queued buffers may be gone with it, and the
     fd closed or reused. Nothing more is written (the thread drops what is queued). */
  pthread_mutex_lock(&w->mu);
  if (!w->err) { w->err = ECANCELED; w->err_call = "planWrite"; }
  pthread_mutex_unlock(&w->mu);
  stop(w);
  EVP_MD_CTX_free(w->md);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  free(w);
}

static struct planwrite *handle_of(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) { napi_throw_type_error(env, NULL, "planWrite: bad handle"); return NULL; }
  return p;
}

static napi_value xopen(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_fd(env, argv[0], &fd)) { napi_throw_type_error(env, NULL, "planWriteOpen: fd expected"); return NULL; }
  struct planwrite *w = calloc(1, sizeof *w);
  if (!w) return throw_errno(env, "calloc", ENOMEM);
  w->fd = fd;
  w->md = EVP_MD_CTX_new();
  if (!w->md || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) { EVP_MD_CTX_free(w->md); free(w); return throw_errno(env, "sha256", ENOMEM); }
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  int e = pthread_create(&w->thread, NULL, run, w);
  if (e) { finalize(env, w, NULL); return throw_errno(env, "pthread_create", e); }
  w->running = 1;
  napi_value out;
  if (napi_create_external(env, w, finalize, NULL, &out) != napi_ok) { finalize(env, w, NULL); napi_throw_error(env, NULL, "planWriteOpen: no handle"); return NULL; }
  return out;
}

static napi_value failed(napi_env env, struct planwrite *w) {
  int err = w->err; const char *call = w->err_call;
  pthread_mutex_unlock(&w->mu);
  return throw_errno(env, call, err);
}

static napi_value xput(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value argv[4]; void *data; size_t blen; int64_t len; int32_t most;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct planwrite *w = argc == 4 ? handle_of(env, argv[0]) : NULL;
  if (!w) { if (argc != 4) napi_throw_type_error(env, NULL, "planWritePut: 4 arguments expected"); return NULL; }
  if (napi_get_buffer_info(env, argv[1], &data, &blen) != napi_ok || napi_get_value_int64(env, argv[2], &len) != napi_ok ||
      napi_get_value_int32(env, argv[3], &most) != napi_ok || len < 0 || (size_t)len > blen || most < 0 || most >= QUEUE) {
    napi_throw_type_error(env, NULL, "planWritePut: bad arguments"); return NULL;
  }
  if (!w->running) { napi_throw_error(env, NULL, "planWritePut: closed"); return NULL; }
  pthread_mutex_lock(&w->mu);
  if (wait_queue(w, QUEUE - 1)) return failed(env, w);
  w->q[(w->head + w->count) % QUEUE].data = data;
  w->q[(w->head + w->count) % QUEUE].len = (size_t)len;
  w->count++;
  pthread_cond_broadcast(&w->cv);
  if (wait_queue(w, (size_t)most)) return failed(env, w);
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* The handle that is a call's one argument (NULL, with a TypeError thrown, when it is not one). */
static struct planwrite *handle_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 1) { napi_throw_type_error(env, NULL, "planWrite: a handle expected"); return NULL; }
  return handle_of(env, argv[0]);
}

static napi_value xdigest(napi_env env, napi_callback_info info) {
  struct planwrite *w = handle_arg(env, info);
  if (!w) return NULL;
  pthread_mutex_lock(&w->mu);
  if (wait_queue(w, 0)) return failed(env, w);
  pthread_mutex_unlock(&w->mu);
  /* The thread is idle: the context is ours until the next put. */
  unsigned char md[EVP_MAX_MD_SIZE]; unsigned int n = 0;
  EVP_MD_CTX *copy = EVP_MD_CTX_new();
  int ok = copy && EVP_MD_CTX_copy_ex(copy, w->md) == 1 && EVP_DigestFinal_ex(copy, md, &n) == 1;
  EVP_MD_CTX_free(copy);
  if (!ok) return throw_errno(env, "sha256", ENOMEM);
  napi_value out; void *dst;
  napi_create_buffer_copy(env, n, md, &dst, &out);
  return out;
}

static napi_value xclose(napi_env env, napi_callback_info info) {
  struct planwrite *w = handle_arg(env, info);
  if (!w) return NULL;
  stop(w);
  return NULL;
}

void register_planwrite(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
    FN("planWriteOpen", xopen), FN("planWritePut", xput), FN("planWriteDigest", xdigest), FN("planWriteClose", xclose),
  };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
}
