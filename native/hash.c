/*
 * hashRows: the reading work of `plan` in C, one call per batch of scanned rows, with no
 * JavaScript per file. Each file is opened beneath its root's descriptor (open_beneath: no
 * symlink on the way, never outside the root), checked by fstat to be the inode the scan saw,
 * read, hashed with Node's own OpenSSL (EVP: SHA extensions where the CPU has them), checked
 * again after reading (a write meanwhile shows in size, mtime or ctime) and closed. The rows
 * are read in place from the scan's FileTable columns (shared memory), see hashRows.ts.
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
  struct table t; int32_t *rows, *errs; size_t nrows, dlen, slen, elen; uint8_t *digests, *status;
  int32_t mode, alg, *ends = NULL; size_t nends = 0;
  if (argc < 7 || !get_table(env, argv[0], &t) || !typed(env, argv[1], (void **)&rows, &nrows, 4) ||
      napi_get_value_int32(env, argv[2], &mode) != napi_ok || napi_get_value_int32(env, argv[3], &alg) != napi_ok ||
      !typed(env, argv[4], (void **)&digests, &dlen, 1) || !typed(env, argv[5], (void **)&status, &slen, 1) ||
      !typed(env, argv[6], (void **)&errs, &elen, 4) || mode < 0 || mode > 3 ||
      (argc > 7 && !typed(env, argv[7], (void **)&ends, &nends, 4))) {
    napi_throw_type_error(env, NULL, "hashRows: bad arguments"); return NULL;
  }
  const EVP_MD *md = alg == 1 ? EVP_sha512() : EVP_sha256();
  size_t len = mode == 0 ? PARTIAL_DIGEST : mode == 2 ? 0 : (size_t)EVP_MD_get_size(md);
  if (slen < nrows || elen < nrows || dlen < nrows * len || !state()) {
    napi_throw_range_error(env, NULL, "hashRows: result arrays too small (or no memory)"); return NULL;
  }
  for (size_t k = 0; k < nrows; k++) if (rows[k] < 0 || (size_t)rows[k] >= t.rows) {
    napi_throw_range_error(env, NULL, "hashRows: row out of range"); return NULL;
  }
  for (size_t g = 0; g < nends; g++) if (ends[g] < (g ? ends[g - 1] : 0) || (size_t)ends[g] > nrows) {
    napi_throw_range_error(env, NULL, "hashRows: group ends out of order"); return NULL;
  }
  memset(status, 0, nrows); memset(errs, 0, nrows * 4);
  double bytes = 0;
  struct blob x = { 0 };
  if (mode == 3 && !ends) compare_rows(&t, rows, nrows, md, digests, status, errs, &bytes, &x, 0);
  else if (mode == 3) for (size_t g = 0, start = 0; g < nends; start = (size_t)ends[g++])
    compare_rows(&t, rows + start, (size_t)ends[g] - start, md, digests + start * len, status + start, errs + start, &bytes, &x, (int32_t)start);
  else for (size_t k = 0; k < nrows; k++) {
    if (mode == 0) partial_row(&t, rows[k], digests + k * len, &status[k], &errs[k], &bytes);
    else full_row(&t, rows[k], md, digests + k * len, &status[k], &errs[k], &bytes, &x, (int32_t)k, mode == 1);
  }
  napi_value out, b, xs;
  napi_create_array_with_length(env, 2, &out);
  napi_create_double(env, bytes, &b);
  if (x.len) { void *d; napi_create_buffer_copy(env, x.len, x.data, &d, &xs); }
  else napi_get_undefined(env, &xs);
  free(x.data);
  napi_set_element(env, out, 0, b);
  napi_set_element(env, out, 1, xs);
  return out;
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
  static const napi_property_descriptor props[] = { FN("hashRows", xhashrows), FN("trimMemory", xtrimmemory) };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
}
