/* See dirlist.h. */
#define _GNU_SOURCE
#include "dirlist.h"
#include "napi_util.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

static int listed_cmp(const void *a, const void *b) {
  const struct listed *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->name, y->name, n);
  return c ? c : (x->len < y->len ? -1 : x->len > y->len ? 1 : 0);
}

void free_listed(struct listed *l, size_t n) {
  for (size_t i = 0; i < n; i++) free(l[i].name);
  free(l);
}

int list_dir(DIR *d, int (*keep)(unsigned char d_type), struct listed **out, size_t *count) {
  size_t cap = 64, n = 0;
  struct listed *ents = malloc(cap * sizeof *ents);
  int err = ents ? 0 : ENOMEM;
  struct dirent *de;
  while (!err) {
    errno = 0;
    if (!(de = readdir(d))) { err = errno; break; }
    const char *nm = de->d_name;
    if (nm[0] == '.' && (!nm[1] || (nm[1] == '.' && !nm[2]))) continue;
    if (keep && !keep(de->d_type)) continue;
    if (n == cap) {
      struct listed *more = realloc(ents, (cap *= 2) * sizeof *ents);
      if (!more) { err = ENOMEM; break; }
      ents = more;
    }
    struct listed *e = &ents[n];
    e->gone = 0;
    if (fstatat(dirfd(d), nm, &e->st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno != ENOENT) { err = errno; break; }
      memset(&e->st, 0, sizeof e->st);
      e->gone = 1;
    }
    e->len = strlen(nm);
    if (!(e->name = malloc(e->len ? e->len : 1))) { err = ENOMEM; break; }
    memcpy(e->name, nm, e->len);
    n++;
  }
  closedir(d);
  if (err) { free_listed(ents, n); return err; }
  qsort(ents, n, sizeof *ents, listed_cmp);
  *out = ents;
  *count = n;
  return 0;
}

/* The packed size of the kept entries. */
static size_t packed_bytes(const struct listed *ents, size_t n, size_t head, int (*kind)(const struct listed *e)) {
  size_t bytes = 0;
  for (size_t i = 0; i < n; i++) if (kind(&ents[i]) >= 0) bytes += head + ((ents[i].len + 7) & ~(size_t)7);
  return bytes;
}

/* Writes the records into p (zeroed, packed_bytes long) and frees the entries. */
static void pack_into(uint8_t *p, struct listed *ents, size_t n, size_t head, int (*kind)(const struct listed *e),
                      void (*fill)(const struct listed *e, int kind, uint8_t *rec)) {
  for (size_t i = 0; i < n; i++) {
    int k = kind(&ents[i]);
    if (k < 0) continue;
    fill(&ents[i], k, p);
    memcpy(p + head, ents[i].name, ents[i].len);
    p += head + ((ents[i].len + 7) & ~(size_t)7);
  }
  free_listed(ents, n);
}

napi_value pack_listed(napi_env env, struct listed *ents, size_t n, size_t head, int (*kind)(const struct listed *e),
                       void (*fill)(const struct listed *e, int kind, uint8_t *rec)) {
  size_t bytes = packed_bytes(ents, n, head, kind);
  napi_value out = NULL;
  void *data;
  if (napi_create_arraybuffer(env, bytes, &data, &out) != napi_ok) {
    free_listed(ents, n);
    return throw_errno(env, "readdir", ENOMEM);
  }
  memset(data, 0, bytes);
  pack_into(data, ents, n, head, kind, fill);
  return out;
}

uint8_t *pack_listed_raw(struct listed *ents, size_t n, size_t head, int (*kind)(const struct listed *e),
                         void (*fill)(const struct listed *e, int kind, uint8_t *rec), size_t *bytes) {
  *bytes = packed_bytes(ents, n, head, kind);
  uint8_t *p = calloc(*bytes ? *bytes : 1, 1);
  if (!p) { free_listed(ents, n); return NULL; }
  pack_into(p, ents, n, head, kind, fill);
  return p;
}
