/*
 * One directory's entries with their lstat fields, for the two packed listers (scan.c's
 * readDir, storedir.c's listPackedAt), and the ArrayBuffer both pack them into: each gives
 * its own record layout.
 */
#ifndef HASHIFY_DIRLIST_H
#define HASHIFY_DIRLIST_H
#include <dirent.h>
#include <stddef.h>
#include <sys/stat.h>
#include <stdint.h>
#include <node_api.h>

struct listed { char *name; size_t len; struct stat st; int gone; };

/*
 * Reads d to its end and closes it: every name but "." and ".." whose readdir d_type keep()
 * accepts (NULL: all), each stat'ed with fstatat(AT_SYMLINK_NOFOLLOW) relative to d's
 * descriptor (gone = 1 and a zeroed stat when it vanished in between), sorted by name bytes.
 * Returns 0, or an errno with nothing left allocated.
 */
int list_dir(DIR *d, int (*keep)(unsigned char d_type), struct listed **out, size_t *count);
void free_listed(struct listed *l, size_t n);

/*
 * Packs the entries (and frees them) into one zeroed ArrayBuffer: per kept entry, a record of
 * `head` bytes that fill() writes, then the name, padded to 8. kind() < 0 leaves an entry out;
 * its value is handed to fill(). NULL with a pending exception on failure.
 */
napi_value pack_listed(napi_env env, struct listed *ents, size_t n, size_t head, int (*kind)(const struct listed *e),
                       void (*fill)(const struct listed *e, int kind, uint8_t *rec));
/* The same records in calloc'd memory (`bytes` long; no napi call, for any thread); NULL without memory. */
uint8_t *pack_listed_raw(struct listed *ents, size_t n, size_t head, int (*kind)(const struct listed *e),
                         void (*fill)(const struct listed *e, int kind, uint8_t *rec), size_t *bytes);
#endif
