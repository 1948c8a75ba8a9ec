/* Open addressing over (dev, ino); paths live in one pool (offset + 1 in a slot, 0 = empty). */
#include "clone_set.h"
#include <stdlib.h>
#include <string.h>

int clone_sb_append(strbuf_t *s, const char *p, size_t n) {
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 256;
    while (cap < s->len + n + 1) cap *= 2;
    char *b = realloc(s->buf, cap);
    if (!b) return -1;
    s->buf = b; s->cap = cap;
  }
  memcpy(s->buf + s->len, p, n);
  s->len += n;
  s->buf[s->len] = 0;
  return 0;
}

static size_t hash(uint64_t dev, uint64_t ino) {
  uint64_t h = ino * 0x9E3779B97F4A7C15ull ^ dev * 0xC2B2AE3D27D4EB4Full;
  return (size_t)(h ^ (h >> 31));
}

static islot_t *find(const iset_t *s, uint64_t dev, uint64_t ino) {
  size_t mask = s->cap - 1;
  for (size_t i = hash(dev, ino) & mask;; i = (i + 1) & mask) {
    islot_t *e = &s->slots[i];
    if (!e->off || (e->dev == dev && e->ino == ino)) return e;
  }
}

static int grow(iset_t *s) {
  size_t cap = s->cap ? s->cap * 2 : 1024;
  islot_t *old = s->slots;
  size_t oldcap = s->cap;
  s->slots = calloc(cap, sizeof *s->slots);
  if (!s->slots) { s->slots = old; return -1; }
  s->cap = cap;
  for (size_t i = 0; i < oldcap; i++) if (old[i].off) *find(s, old[i].dev, old[i].ino) = old[i];
  free(old);
  return 0;
}

int clone_iset_put(iset_t *s, dev_t dev, ino_t ino, const char *path, size_t len, uint32_t tag) {
  if ((s->n + 1) * 2 > s->cap && grow(s) < 0) return -1;
  size_t off = s->pool.len;
  if (clone_sb_append(&s->pool, path, len) < 0 || clone_sb_append(&s->pool, "", 0) < 0) return -1;
  s->pool.len++; /* keep the NUL between paths */
  islot_t *e = find(s, dev, ino);
  if (!e->off) s->n++;
  e->dev = dev; e->ino = ino; e->off = off + 1; e->tag = tag;
  return 0;
}

const char *clone_iset_get(const iset_t *s, dev_t dev, ino_t ino, uint32_t *tag) {
  if (!s->cap) return NULL;
  islot_t *e = find(s, dev, ino);
  if (!e->off) return NULL;
  if (tag) *tag = e->tag;
  return s->pool.buf + e->off - 1;
}

void clone_iset_free(iset_t *s) {
  free(s->slots);
  free(s->pool.buf);
  memset(s, 0, sizeof *s);
}
