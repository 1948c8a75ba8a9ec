/*
 * What the hashing parts (hash.c, compare.c) share: the scan table's columns as C sees
 * them, per-thread buffers, opening a row beneath its root and checking it against the scan,
 * reading, digesting, and the xattrs output.
 */
#ifndef HASHIFY_HASH_IO_H
#define HASHIFY_HASH_IO_H
#include "napi_util.h"
#include <openssl/evp.h>
#include <stdint.h>
#include <sys/types.h>

#define ST_OK 0
#define ST_CHANGED 1
#define ST_ERROR 2
#define PARTIAL_BYTES 4096
#define PARTIAL_DIGEST 16
#define BUF_BYTES (1 << 20)

/* The FileTable columns (src/scan/fileTable.ts `nativeColumns`), read in place; a row's
 * device is its root's (root_dev, indexed like root_fd). */
struct table {
  const uint64_t *root_dev, *ino, *size;
  const int64_t *mtime, *ctime;
  const uint32_t *dir, *name_start, *name_end, *dir_start, *dir_end, *dir_root, *root_skip;
  const int32_t *root_fd;
  const uint8_t *names, *dir_bytes;
  size_t rows, names_len, dirs, dir_bytes_len, roots;
};

/* Output of the xattrs of rows that have any: per row u32 k, u32 count, then per attribute
 * u32 name length, u32 value length, name, value (little-endian). */
struct blob { uint8_t *data; size_t len, cap, mark; };

struct thread_state { uint8_t *buf; EVP_MD_CTX *ctx; int noatime; };

/** This thread's buffer (BUF_BYTES) and digest context; NULL without memory. */
struct thread_state *state(void);
/** Reads the columns array; false (and nothing thrown) when it is malformed. */
bool get_table(napi_env env, napi_value columns, struct table *t);
/** A typed array's data and element count, checking its element size. */
bool typed(napi_env env, napi_value v, void **data, size_t *n, size_t elem);
/** Row i's path relative to its root, NUL-terminated in buf; NULL if it needs more than cap
 * bytes (*need says how many) or the row is malformed (*need 0). */
const char *row_rel(const struct table *t, int32_t i, char *buf, size_t cap, size_t *need);
/** Opens row i (path `rel` beneath its root) and checks it is the scanned inode; -1 with
 * *status (changed or error) and *err set otherwise. */
int open_checked(const struct table *t, int32_t i, const char *rel, uint8_t *status, int32_t *err);
/** open_checked with the row's path built here. */
int open_row(const struct table *t, int32_t i, uint8_t *status, int32_t *err);
/** fstat of fd still shows row i's regular file, size, mtime and ctime as scanned. */
bool still_same(const struct table *t, int32_t i, int fd);
/** pread of exactly `want` bytes unless EOF comes first; -1 with errno on error. */
ssize_t read_at(int fd, uint8_t *buf, size_t want, uint64_t at);
/** One-shot digest of bytes. */
bool digest_of(const EVP_MD *md, const uint8_t *data, size_t n, uint8_t *out);
/** Digest of exactly `size` bytes of fd: 0, 1 when it had fewer bytes, -1 with errno. */
int hash_fd(int fd, uint64_t size, const EVP_MD *md, uint8_t *out, double *bytes);
/** Appends fd's xattrs as row k's entry (nothing when it has none); x->mark is where the
 * entry starts, so a caller can drop it. -1 with errno on error. */
int read_xattrs(int fd, struct blob *x, int32_t k);
/** Full digest (unless !want_digest) and xattrs of row i into index k. */
void full_row(const struct table *t, int32_t i, const EVP_MD *md, uint8_t *digest, uint8_t *status, int32_t *err, double *bytes, struct blob *x, int32_t k, int want_digest);
/** A candidate group (compare.c): rows[0..n) of one size, one digest per distinct content;
 * the group starts at index `base` of the batch (for the xattrs output). */
void compare_rows(const struct table *t, const int32_t *rows, size_t n, const EVP_MD *md, uint8_t *digests, uint8_t *status, int32_t *errs, double *bytes, struct blob *x, int32_t base);
#endif
