/* The shared pieces of hashing (declared and described in hash_io.h). */
#define _GNU_SOURCE
#include "hash_io.h"
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>

static __thread struct thread_state ts;

struct thread_state *state(void) {
  if (!ts.buf) {
    ts.buf = malloc(BUF_BYTES);
    ts.ctx = EVP_MD_CTX_new();
    ts.noatime = 1;
    if (!ts.buf || !ts.ctx) { free(ts.buf); ts.buf = NULL; EVP_MD_CTX_free(ts.ctx); ts.ctx = NULL; return NULL; }
  }
  return &ts;
}

bool typed(napi_env env, napi_value v, void **data, size_t *n, size_t elem) {
  napi_typedarray_type type; napi_value ab; size_t off, len;
  if (napi_get_typedarray_info(env, v, &type, &len, data, &ab, &off) != napi_ok) return false;
  size_t size = type == napi_uint8_array || type == napi_int8_array ? 1 : type == napi_uint32_array || type == napi_int32_array ? 4
              : type == napi_biguint64_array || type == napi_bigint64_array ? 8 : 0;
  if (size != elem) return false;
  *n = len;
  return true;
}

bool get_table(napi_env env, napi_value cols, struct table *t) {
  void *p[15]; size_t n[15];
  static const size_t elem[15] = { 8, 8, 8, 8, 8, 4, 4, 4, 1, 4, 4, 1, 4, 4, 4 };
  for (uint32_t k = 0; k < 15; k++) {
    napi_value v;
    if (napi_get_element(env, cols, k, &v) != napi_ok || !typed(env, v, &p[k], &n[k], elem[k])) return false;
  }
  t->root_dev = p[0]; t->ino = p[1]; t->size = p[2]; t->mtime = p[3]; t->ctime = p[4];
  t->dir = p[5]; t->name_start = p[6]; t->name_end = p[7]; t->names = p[8];
  t->dir_start = p[9]; t->dir_end = p[10]; t->dir_bytes = p[11]; t->dir_root = p[12];
  t->root_fd = p[13]; t->root_skip = p[14];
  t->rows = n[1];
  for (int k = 2; k < 8; k++) if (n[k] < t->rows) t->rows = n[k];
  t->names_len = n[8]; t->dir_bytes_len = n[11];
  t->dirs = n[9] < n[10] ? n[9] : n[10];
  if (n[12] < t->dirs) t->dirs = n[12];
  t->roots = n[13] < n[14] ? n[13] : n[14];
  if (n[0] < t->roots) t->roots = n[0];
  return true;
}

const char *row_rel(const struct table *t, int32_t i, char *buf, size_t cap, size_t *need) {
  *need = 0;
  uint32_t d = t->dir[i], ns = t->name_start[i], ne = t->name_end[i];
  if (d >= t->dirs || ns > ne || ne > t->names_len) return NULL;
  uint32_t ds = t->dir_start[d], de = t->dir_end[d], r = t->dir_root[d];
  if (ds > de || de > t->dir_bytes_len || r >= t->roots) return NULL;
  size_t dlen = de - ds, skip = t->root_skip[r];
  /* The root itself ("/" or a path shorter than root + "/"): the name alone. */
  size_t rel_dir = dlen <= 1 || dlen < skip ? 0 : dlen - skip;
  size_t total = (rel_dir ? rel_dir + 1 : 0) + (ne - ns) + 1;
  *need = total;
  if (total > cap) return NULL;
  char *q = buf;
  if (rel_dir) { memcpy(q, t->dir_bytes + ds + skip, rel_dir); q += rel_dir; *q++ = '/'; }
  memcpy(q, t->names + ns, ne - ns); q += ne - ns;
  *q = 0;
  return buf;
}

/* fstat(2) itself: glibc's fstat is fstatat(fd, "", AT_EMPTY_PATH), whose empty path the kernel
 * copies in and checks each time (~0.1-0.2 us more a call here, twice a file read). */
static int fstat_fd(int fd, struct stat *st) {
#if defined(SYS_fstat) && defined(__x86_64__)
  return (int)syscall(SYS_fstat, fd, st);
#else
  return fstat(fd, st);
#endif
}

bool still_same(const struct table *t, int32_t i, int fd) {
  struct stat st;
  if (t->dir[i] >= t->dirs || t->dir_root[t->dir[i]] >= t->roots || fstat_fd(fd, &st) < 0) return false;
  return S_ISREG(st.st_mode) && (uint64_t)st.st_dev == t->root_dev[t->dir_root[t->dir[i]]] && (uint64_t)st.st_ino == t->ino[i] &&
         (uint64_t)st.st_size == t->size[i] &&
         (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec == t->mtime[i] &&
         (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec == t->ctime[i];
}

int open_checked(const struct table *t, int32_t i, const char *rel, uint8_t *status, int32_t *err) {
  struct thread_state *s = state();
  int base = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
  int fd = open_beneath(t->root_fd[t->dir_root[t->dir[i]]], rel, base | (s->noatime ? O_NOATIME : 0), 0);
  if (fd < 0 && errno == EPERM && s->noatime) {
    s->noatime = 0; /* O_NOATIME needs ownership or CAP_FOWNER: read with atime updates instead */
    fd = open_beneath(t->root_fd[t->dir_root[t->dir[i]]], rel, base, 0);
  }
  if (fd < 0) {
    int e = errno;
    /* Gone, or a symlink or mount point now on the way: changed since the scan, never followed. */
    if (e == ENOENT || e == ELOOP || e == ENOTDIR || e == EXDEV) *status = ST_CHANGED;
    else { *status = ST_ERROR; *err = e; }
    return -1;
  }
  if (!still_same(t, i, fd)) { close(fd); *status = ST_CHANGED; return -1; }
  return fd;
}

int open_row(const struct table *t, int32_t i, uint8_t *status, int32_t *err) {
  char stackbuf[1024];
  size_t need;
  const char *rel = row_rel(t, i, stackbuf, sizeof stackbuf, &need);
  char *heap = NULL;
  if (!rel && need) {
    heap = malloc(need);
    rel = heap ? row_rel(t, i, heap, need, &need) : NULL;
  }
  if (!rel) { *status = ST_ERROR; *err = need ? ENOMEM : EINVAL; return -1; }
  int fd = open_checked(t, i, rel, status, err);
  free(heap);
  return fd;
}

ssize_t read_at(int fd, uint8_t *buf, size_t want, uint64_t at) {
  size_t got = 0;
  while (got < want) {
    ssize_t n = pread(fd, buf + got, want - got, (off_t)(at + got));
    if (n < 0) { if (errno == EINTR) continue; return -1; }
    if (n == 0) break;
    got += (size_t)n;
  }
  return (ssize_t)got;
}

bool digest_of(const EVP_MD *md, const uint8_t *data, size_t n, uint8_t *out) {
  EVP_MD_CTX *c = state()->ctx;
  unsigned int len;
  return EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, data, n) && EVP_DigestFinal_ex(c, out, &len);
}

int hash_fd(int fd, uint64_t size, const EVP_MD *md, uint8_t *out, double *bytes) {
  struct thread_state *s = state();
  unsigned int len;
  if (!EVP_DigestInit_ex(s->ctx, md, NULL)) { errno = EIO; return -1; }
  /* Exactly `size` bytes: a file that grew meanwhile shows in the fstat after reading. */
  for (uint64_t pos = 0; pos < size;) {
    size_t want = size - pos < BUF_BYTES ? (size_t)(size - pos) : BUF_BYTES;
    ssize_t n = read_at(fd, s->buf, want, pos);
    if (n < 0) return -1;
    *bytes += (double)n;
    if (n > 0 && !EVP_DigestUpdate(s->ctx, s->buf, (size_t)n)) { errno = EIO; return -1; }
    pos += (uint64_t)n;
    if ((size_t)n < want) return 1; /* shrank while read */
  }
  if (!EVP_DigestFinal_ex(s->ctx, out, &len)) { errno = EIO; return -1; }
  return 0;
}

static bool put(struct blob *x, const void *p, size_t n) {
  if (x->len + n > x->cap) {
    size_t cap = x->cap ? x->cap * 2 : 4096;
    while (cap < x->len + n) cap *= 2;
    uint8_t *d = realloc(x->data, cap);
    if (!d) return false;
    x->data = d; x->cap = cap;
  }
  memcpy(x->data + x->len, p, n);
  x->len += n;
  return true;
}

int read_xattrs(int fd, struct blob *x, int32_t k) {
  x->mark = x->len;
  char *names = NULL;
  ssize_t n;
  for (;;) {
    n = flistxattr(fd, NULL, 0);
    if (n <= 0) return n < 0 && errno != ENOTSUP ? -1 : 0;
    free(names);
    if (!(names = malloc((size_t)n))) { errno = ENOMEM; return -1; }
    ssize_t m = flistxattr(fd, names, (size_t)n);
    if (m >= 0) { n = m; break; }
    if (errno != ERANGE) { free(names); return -1; } /* grew meanwhile: again */
  }
  uint32_t count = 0, head[2] = { htole32((uint32_t)k), 0 };
  size_t count_at = x->len + 4;
  bool ok = put(x, head, sizeof head);
  uint8_t *value = NULL;
  for (ssize_t at = 0; ok && at < n; at += (ssize_t)strlen(names + at) + 1) {
    const char *name = names + at;
    if (!*name) continue;
    ssize_t vlen;
    for (;;) {
      vlen = fgetxattr(fd, name, NULL, 0);
      if (vlen < 0) break;
      uint8_t *v = realloc(value, vlen ? (size_t)vlen : 1);
      if (!v) { errno = ENOMEM; vlen = -1; break; }
      value = v;
      ssize_t got = fgetxattr(fd, name, value, (size_t)vlen);
      if (got >= 0) { vlen = got; break; }
      if (errno != ERANGE) { vlen = -1; break; }
    }
    if (vlen < 0) {
      if (errno == ENODATA) continue; /* removed meanwhile */
      ok = false; break;
    }
    uint32_t nlen = (uint32_t)strlen(name), lens[2] = { htole32(nlen), htole32((uint32_t)vlen) };
    ok = put(x, lens, sizeof lens) && put(x, name, nlen) && put(x, value, (size_t)vlen);
    count++;
  }
  int e = errno;
  free(names); free(value);
  if (!ok) { x->len = x->mark; errno = e ? e : ENOMEM; return -1; }
  if (!count) x->len = x->mark;
  else { count = htole32(count); memcpy(x->data + count_at, &count, 4); }
  return 0;
}
