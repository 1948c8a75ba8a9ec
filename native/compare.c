/*
 * A candidate group: rows of one size (and head and tail, for large files) that may hold
 * the same content. Every member is confirmed by its bytes, never by a digest of a part:
 * - up to SMALL_GROUP bytes, every member is read whole into memory (and checked unchanged
 *   by fstat after the read); members are sorted by their bytes (memcmp), and each run of
 *   equal bytes is hashed once: n equal small files cost n reads and one digest;
 * - larger files are read side by side: rows[0] is hashed, every other row compared with it
 *   chunk by chunk; a row that differs, or every row when rows[0] cannot be read, is hashed
 *   on its own.
 */
#define _GNU_SOURCE
#include "hash_io.h"
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_GROUP (64 * 1024)
#define CHUNK (256 * 1024) /* stays in L2 cache between the read and the compare */

struct order { const uint8_t *data; size_t size; };

static int by_bytes(const void *a, const void *b, void *arg) {
  const struct order *o = arg;
  int c = memcmp(o->data + *(const size_t *)a * o->size, o->data + *(const size_t *)b * o->size, o->size);
  return c ? c : (*(const size_t *)a < *(const size_t *)b ? -1 : 1);
}

static void in_memory(const struct table *t, const int32_t *rows, size_t n, const EVP_MD *md, uint8_t *digests, uint8_t *status, int32_t *errs, double *bytes, struct blob *x, int32_t base) {
  size_t size = (size_t)t->size[rows[0]], len = (size_t)EVP_MD_get_size(md);
  uint8_t *data = malloc(size * n + 1);
  size_t *ok = malloc(n * sizeof *ok), m = 0;
  if (!data || !ok) {
    free(data); free(ok);
    for (size_t k = 0; k < n; k++) full_row(t, rows[k], md, digests + k * len, &status[k], &errs[k], bytes, x, base + (int32_t)k, 1);
    return;
  }
  for (size_t k = 0; k < n; k++) {
    int fd = open_row(t, rows[k], &status[k], &errs[k]);
    if (fd < 0) continue;
    ssize_t got = read_at(fd, data + k * size, size, 0);
    if (got < 0 || read_xattrs(fd, x, base + (int32_t)k) < 0) { status[k] = ST_ERROR; errs[k] = errno; }
    else {
      *bytes += (double)got;
      if ((size_t)got != size || !still_same(t, rows[k], fd)) { status[k] = ST_CHANGED; x->len = x->mark; }
      else ok[m++] = k;
    }
    close(fd);
  }
  struct order o = { data, size };
  qsort_r(ok, m, sizeof *ok, by_bytes, &o);
  for (size_t a = 0; a < m;) {
    size_t b = a + 1;
    while (b < m && memcmp(data + ok[a] * size, data + ok[b] * size, size) == 0) b++;
    uint8_t *d = digests + ok[a] * len;
    if (!digest_of(md, data + ok[a] * size, size, d)) for (size_t c = a; c < b; c++) { status[ok[c]] = ST_ERROR; errs[ok[c]] = EIO; }
    else for (size_t c = a + 1; c < b; c++) memcpy(digests + ok[c] * len, d, len);
    a = b;
  }
  free(data); free(ok);
}

static void side_by_side(const struct table *t, const int32_t *rows, size_t n, const EVP_MD *md, uint8_t *digests, uint8_t *status, int32_t *errs, double *bytes, struct blob *x, int32_t base) {
  size_t x_start = x->len;
  size_t len = (size_t)EVP_MD_get_size(md);
  uint64_t size = t->size[rows[0]];
  int *fds = malloc(n * sizeof *fds);
  uint8_t *equal = calloc(n, 1);
  struct thread_state *s = state();
  uint8_t *a = s->buf, *b = s->buf + CHUNK;
  bool alone_all = !fds || !equal, rep_ok = true;
  for (size_t k = 0; !alone_all && k < n; k++) {
    fds[k] = open_row(t, rows[k], &status[k], &errs[k]);
    equal[k] = k > 0 && fds[k] >= 0;
  }
  if (!alone_all && fds[0] < 0) memset(equal, 0, n); /* nothing to compare with: each on its own */
  if (!alone_all && fds[0] >= 0) {
    unsigned int dl;
    if (!EVP_DigestInit_ex(s->ctx, md, NULL)) alone_all = true;
    for (uint64_t pos = 0; !alone_all && pos < size;) {
      size_t want = size - pos < CHUNK ? (size_t)(size - pos) : CHUNK;
      ssize_t got = read_at(fds[0], a, want, pos);
      if (got < 0) { alone_all = true; break; } /* an I/O error: on their own, which names the one at fault */
      *bytes += (double)got;
      if ((size_t)got != want) { rep_ok = false; break; } /* shrank while read: the fstat below says so */
      if (!EVP_DigestUpdate(s->ctx, a, want)) { alone_all = true; break; }
      for (size_t k = 1; k < n; k++) {
        if (!equal[k]) continue;
        ssize_t g = read_at(fds[k], b, want, pos);
        if (g > 0) *bytes += (double)g;
        if (g != got || memcmp(a, b, want)) equal[k] = 0;
      }
      pos += want;
    }
    if (!alone_all && rep_ok && !EVP_DigestFinal_ex(s->ctx, digests, &dl)) alone_all = true;
    if (!alone_all && (!rep_ok || !still_same(t, rows[0], fds[0]))) {
      /* Equal to a file that changed meanwhile proves nothing: everyone on their own. */
      status[0] = ST_CHANGED;
      memset(equal, 0, n);
    } else if (!alone_all) {
      if (read_xattrs(fds[0], x, base) < 0) { status[0] = ST_ERROR; errs[0] = errno; memset(equal, 0, n); }
      for (size_t k = 1; k < n; k++) {
        if (!equal[k]) continue;
        if (!still_same(t, rows[k], fds[k])) { status[k] = ST_CHANGED; continue; }
        memcpy(digests + k * len, digests, len);
        if (read_xattrs(fds[k], x, base + (int32_t)k) < 0) { status[k] = ST_ERROR; errs[k] = errno; }
      }
    }
  }
  for (size_t k = 0; fds && k < n; k++) if (fds[k] >= 0) close(fds[k]);
  if (alone_all) {
    x->len = x_start; /* nothing this group added is kept */
    memset(status, 0, n); memset(errs, 0, n * 4);
    for (size_t k = 0; k < n; k++) full_row(t, rows[k], md, digests + k * len, &status[k], &errs[k], bytes, x, base + (int32_t)k, 1);
  } else {
    for (size_t k = 1; k < n; k++) {
      if (fds[k] < 0 || equal[k] || status[k]) continue;
      full_row(t, rows[k], md, digests + k * len, &status[k], &errs[k], bytes, x, base + (int32_t)k, 1);
    }
  }
  free(fds); free(equal);
}

void compare_rows(const struct table *t, const int32_t *rows, size_t n, const EVP_MD *md, uint8_t *digests, uint8_t *status, int32_t *errs, double *bytes, struct blob *x, int32_t base) {
  if (n == 0) return;
  if (t->size[rows[0]] <= SMALL_GROUP) in_memory(t, rows, n, md, digests, status, errs, bytes, x, base);
  else side_by_side(t, rows, n, md, digests, status, errs, bytes, x, base);
}
