/* clone's two small containers: a growable byte string and a map from (dev, ino) to a path. */
#ifndef HASHIFY_CLONE_SET_H
#define HASHIFY_CLONE_SET_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct { char *buf; size_t len, cap; } strbuf_t;
/** Appends n bytes and keeps the string NUL-terminated; -1 when out of memory. */
int clone_sb_append(strbuf_t *s, const char *p, size_t n);

typedef struct { uint64_t dev, ino; size_t off; uint32_t tag; } islot_t;
typedef struct { islot_t *slots; size_t cap, n; strbuf_t pool; } iset_t;
/** Maps (dev, ino) to a copy of path and a number of the caller's (replacing an earlier one); -1 when out of memory. */
int clone_iset_put(iset_t *s, dev_t dev, ino_t ino, const char *path, size_t len, uint32_t tag);
/** The path stored for (dev, ino), or NULL; its number in *tag (when tag is not NULL). */
const char *clone_iset_get(const iset_t *s, dev_t dev, ino_t ino, uint32_t *tag);
void clone_iset_free(iset_t *s);
#endif
