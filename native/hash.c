/*
 * hashRows: the reading work of `plan` in C, one call per batch of scanned rows, with no
 * JavaScript per file. Each file is opened beneath its root's descriptor (open_beneath: no
 * symlink on the way, never outside the root), checked by fstat to be the inode the scan saw,
 * read, hashed with Node's own OpenSSL (EVP: SHA extensions where the CPU has them), checked
 * again after reading (a write meanwhile shows in size, mtime or ctime) and closed. The rows
 * are read in place from the scan's FileTable columns (shared memory), see hashRows.ts. A batch
 * runs on the calling thread (hashRows) or on a thread of libuv's pool (hashRowsAsync).
 */
#define _GNU_SOURCE
#include "napi_util.h"
#include "hash_io.h"
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>

/* partial: SHA-256 of the first and last 4 KiB, truncated to 16 bytes (only to rule out). */
static void partial_row(const struct table *t, int32_t i, uint8_t *digest, uint8_t *status, int32_t *err, double *bytes) {
  int fd = open_row(t, i, status, err);
  if (fd < 0) return;
  struct thread_state *ts = state();
  uint64_t size = t->size[i];
  size_t head = size < PARTIAL_BYTES ? (size_t)size : PARTIAL_BYTES;
  uint64_t tail_at = size >= head + PARTIAL_BYTES ? size - PARTIAL_BYTES : head;
  ssize_t a = read_at(fd, ts->buf, head, 0);
  ssize_t b = a < 0 ? -1 : read_at(fd, ts->buf + head, (size_t)(size - tail_at), tail_at);
  if (a < 0 || b < 0) { *status = ST_ERROR; *err = errno; close(fd); return; }
  *bytes += (double)(a + b);
  uint8_t full[64];
  if (!digest_of(EVP_sha256(), ts->buf, (size_t)(a + b), full)) { *status = ST_ERROR; *err = EIO; close(fd); return; }
  memcpy(digest, full, PARTIAL_DIGEST);
  if (!still_same(t, i, fd)) *status = ST_CHANGED;
  close(fd);
}

/* full: the whole content's digest, and the xattrs (the file is open anyway); see hash_io.h. */
void full_row(const struct table *t, int32_t i, const EVP_MD *md, uint8_t *digest, uint8_t *status, int32_t *err, double *bytes, struct blob *x, int32_t k, int want_digest) {
  int fd = open_row(t, i, status, err);
  if (fd < 0) return;
  if (want_digest) {
    int r = hash_fd(fd, t->size[i], md, digest, bytes);
    if (r > 0) { *status = ST_CHANGED; close(fd); return; }
    if (r < 0) { *status = ST_ERROR; *err = errno; close(fd); return; }
  }
  if (read_xattrs(fd, x, k) < 0) { *status = ST_ERROR; *err = errno; close(fd); return; }
  if (!still_same(t, i, fd)) { *status = ST_CHANGED; x->len = x->mark; }
  close(fd);
}

/* One batch: its arguments (arrays read in place, kept alive by references while a thread
 * works on them) and its outcome. */
struct job {
  struct table t; int32_t *rows, *errs, *ends; size_t nrows, nends; uint8_t *digests, *status;
  int32_t mode; const EVP_MD *md; size_t len; double bytes; struct blob x; int ok;
  napi_ref refs[6]; napi_async_work work; napi_deferred deferred;
};

/* Reads the arguments into `j` (throwing and false when they are bad); `ends` may be undefined or null. */
static bool parse_job(napi_env env, napi_value *argv, size_t argc, struct job *j) {
  size_t dlen, slen, elen; napi_valuetype et = napi_undefined;
  if (argc > 7) napi_typeof(env, argv[7], &et);
  bool has_ends = et != napi_undefined && et != napi_null;
  int32_t alg;
  if (argc < 7 || !get_table(env, argv[0], &j->t) || !typed(env, argv[1], (void **)&j->rows, &j->nrows, 4) ||
      napi_get_value_int32(env, argv[2], &j->mode) != napi_ok || napi_get_value_int32(env, argv[3], &alg) != napi_ok ||
      !typed(env, argv[4], (void **)&j->digests, &dlen, 1) || !typed(env, argv[5], (void **)&j->status, &slen, 1) ||
      !typed(env, argv[6], (void **)&j->errs, &elen, 4) || j->mode < 0 || j->mode > 3 ||
      (has_ends && !typed(env, argv[7], (void **)&j->ends, &j->nends, 4))) {
    napi_throw_type_error(env, NULL, "hashRows: bad arguments"); return false;
  }
  j->md = alg == 1 ? EVP_sha512() : EVP_sha256();
  j->len = j->mode == 0 ? PARTIAL_DIGEST : j->mode == 2 ? 0 : (size_t)EVP_MD_get_size(j->md);
  if (slen < j->nrows || elen < j->nrows || dlen < j->nrows * j->len) {
    napi_throw_range_error(env, NULL, "hashRows: result arrays too small"); return false;
  }
  for (size_t k = 0; k < j->nrows; k++) if (j->rows[k] < 0 || (size_t)j->rows[k] >= j->t.rows) {
    napi_throw_range_error(env, NULL, "hashRows: row out of range"); return false;
  }
  for (size_t g = 0; g < j->nends; g++) if (j->ends[g] < (g ? j->ends[g - 1] : 0) || (size_t)j->ends[g] > j->nrows) {
    napi_throw_range_error(env, NULL, "hashRows: group ends out of order"); return false;
  }
  return true;
}

/* The reading itself, on whichever thread runs the job; no napi call. */
static void run_job(struct job *j) {
  if (!(j->ok = state() != NULL)) return;
  memset(j->status, 0, j->nrows); memset(j->errs, 0, j->nrows * 4);
  const struct table *t = &j->t;
  size_t len = j->len;
  if (j->mode == 3 && !j->ends) compare_rows(t, j->rows, j->nrows, j->md, j->digests, j->status, j->errs, &j->bytes, &j->x, 0);
  else if (j->mode == 3) for (size_t g = 0, start = 0; g < j->nends; start = (size_t)j->ends[g++])
    compare_rows(t, j->rows + start, (size_t)j->ends[g] - start, j->md, j->digests + start * len, j->status + start, j->errs + start, &j->bytes, &j->x, (int32_t)start);
  else for (size_t k = 0; k < j->nrows; k++) {
    if (j->mode == 0) partial_row(t, j->rows[k], j->digests + k * len, &j->status[k], &j->errs[k], &j->bytes);
    else full_row(t, j->rows[k], j->md, j->digests + k * len, &j->status[k], &j->errs[k], &j->bytes, &j->x, (int32_t)k, j->mode == 1);
  }
}

/* [bytesRead, xattrs Buffer or undefined] of a job that ran; frees its xattrs. */
static napi_value job_result(napi_env env, struct job *j) {
  napi_value out, b, xs;
  napi_create_array_with_length(env, 2, &out);
  napi_create_double(env, j->bytes, &b);
  if (j->x.len) { void *d; napi_create_buffer_copy(env, j->x.len, j->x.data, &d, &xs); }
  else napi_get_undefined(env, &xs);
  free(j->x.data); j->x.data = NULL;
  napi_set_element(env, out, 0, b);
  napi_set_element(env, out, 1, xs);
  return out;
}

/*
 * hashRows(columns, rows, mode, algorithm, digests, status, errs, ends?) -> [bytesRead, xattrs]
 *   mode 0 partial, 1 full (+ xattrs), 2 xattrs only, 3 compare candidate groups (compare.c):
 *   group g is rows[ends[g-1] .. ends[g]) (one group, all rows, without `ends`)
 *   algorithm 0 sha256, 1 sha512; digests rows × digest bytes; status 0 ok, 1 changed, 2 error
 *   (errs[k] the errno); xattrs a Buffer of the rows that have any (layout in hash_io.h) or
 *   undefined.
 */
static napi_value xhashrows(napi_env env, napi_callback_info info) {
  size_t argc = 8; napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct job j = { 0 };
  if (!parse_job(env, argv, argc, &j)) return NULL;
  run_job(&j);
  if (!j.ok) { napi_throw_range_error(env, NULL, "hashRows: no memory"); return NULL; }
  return job_result(env, &j);
}

static void async_execute(napi_env env, void *data) { run_job(data); }

static void async_complete(napi_env env, napi_status st, void *data) {
  struct job *j = data;
  napi_value v = NULL;
  if (j->ok) v = job_result(env, j);
  else { napi_value msg; napi_create_string_utf8(env, "hashRows: no memory", NAPI_AUTO_LENGTH, &msg); napi_create_error(env, NULL, msg, &v); }
  if (j->ok) napi_resolve_deferred(env, j->deferred, v);
  else napi_reject_deferred(env, j->deferred, v);
  for (int k = 0; k < 6; k++) if (j->refs[k]) napi_delete_reference(env, j->refs[k]);
  napi_delete_async_work(env, j->work);
  free(j->x.data);
  free(j);
}

/* hashRowsAsync(the same arguments, ends undefined or null for none) -> Promise of the same
 * result: the batch runs on a thread of libuv's pool, its arrays held until it is done. */
static napi_value xhashrowsasync(napi_env env, napi_callback_info info) {
  size_t argc = 8; napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct job *j = calloc(1, sizeof *j);
  if (!j) return throw_errno(env, "hashRows", ENOMEM);
  if (!parse_job(env, argv, argc, j)) { free(j); return NULL; }
  static const int held[6] = { 0, 1, 4, 5, 6, 7 };
  for (int k = 0; k < 6; k++) if (held[k] < 7 || j->ends) napi_create_reference(env, argv[held[k]], 1, &j->refs[k]);
  return queue_work(env, "hashRows", async_execute, async_complete, j, &j->deferred, &j->work);
}

/*
 * trimMemory(): hands the free pages of every malloc arena back to the kernel. The hashing
 * and scanning threads each get an arena of their own; when they end, their freed memory
 * stays resident (tens of MiB at a million files) until trimmed.
 */
static napi_value xtrimmemory(napi_env env, napi_callback_info info) {
  napi_value r;
  napi_get_boolean(env, malloc_trim(0) != 0, &r);
  return r;
}

void register_hash(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = { FN("hashRows", xhashrows), FN("hashRowsAsync", xhashrowsasync), FN("trimMemory", xtrimmemory) };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
}
