/*
 * A scanned row's stat JSON written from the scan table's columns into the plan writer's
 * buffer (src/plan/rowStat.ts): exactly JSON.stringify(table.stat(row)). The JS side made it
 * digit by digit through 32-bit halves of the 64-bit columns, a fifth of the plan's assemble
 * time; here each number is a few divisions.
 *
 *   planStatOpen(ino, size, mtime, ctime, atime, nlink, dir, nameAt, names, dirStart, dirEnd, dirBytes) -> handle
 *       the table's columns (BigUint64Array, BigUint64Array, BigInt64Array x3, Uint32Array x3,
 *       Uint8Array, Uint32Array x2, Uint8Array), held (referenced) by the handle; the caller
 *       does not grow them while it lives
 *   planStatWrite(handle, row, out, at, head, meta) -> end, or -1 when it might not fit
 *       writes head (`{"dev":"D","ino":"`), ino, `","size":"`, size, meta
 *       (`","mode":M,"uid":U,"gid":G,"nlink":`), nlink, the three times and `"}`
 *   planLinkWrite(...)  a whole link line with that stat (below)
 */
#include "napi_util.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <stdbool.h>

enum { INO, SIZE, MTIME, CTIME, ATIME, NLINK, DIR, NAME_AT, NAMES, DIR_START, DIR_END, DIR_BYTES, COLUMNS };

struct planstat {
  const void *col[COLUMNS];
  size_t rows;
  size_t len[COLUMNS];
  napi_ref ref[COLUMNS];
};

static void finalize(napi_env env, void *data, void *hint) {
  struct planstat *s = data;
  for (int k = 0; k < COLUMNS; k++) if (s->ref[k]) napi_delete_reference(env, s->ref[k]);
  free(s);
}

static napi_value xopen(napi_env env, napi_callback_info info) {
  static const napi_typedarray_type want[COLUMNS] = {
    napi_biguint64_array, napi_biguint64_array, napi_bigint64_array, napi_bigint64_array, napi_bigint64_array, napi_uint32_array,
    napi_uint32_array, napi_uint32_array, napi_uint8_array, napi_uint32_array, napi_uint32_array, napi_uint8_array,
  };
  size_t argc = COLUMNS; napi_value argv[COLUMNS];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct planstat *s = calloc(1, sizeof *s);
  if (!s) return throw_errno(env, "calloc", ENOMEM);
  for (int k = 0; k < COLUMNS; k++) {
    napi_typedarray_type type; size_t len; void *data; bool is = false;
    if (argc != COLUMNS || napi_is_typedarray(env, argv[k], &is) != napi_ok || !is ||
        napi_get_typedarray_info(env, argv[k], &type, &len, &data, NULL, NULL) != napi_ok || type != want[k] ||
        (k > 0 && k <= DIR && len < s->rows) || (k == NAME_AT && len <= s->rows) || napi_create_reference(env, argv[k], 1, &s->ref[k]) != napi_ok) {
      finalize(env, s, NULL);
      napi_throw_type_error(env, NULL, "planStatOpen: the table's twelve columns expected");
      return NULL;
    }
    s->col[k] = data;
    s->len[k] = len;
    if (k == 0) s->rows = len;
  }
  napi_value out;
  if (napi_create_external(env, s, finalize, NULL, &out) != napi_ok) { finalize(env, s, NULL); return NULL; }
  return out;
}

/* The decimal digits of v at p; returns where they end. */
static uint8_t *u64(uint8_t *p, uint64_t v) {
  uint8_t tmp[20]; int n = 0;
  do { tmp[n++] = (uint8_t)('0' + v % 10); v /= 10; } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}

static uint8_t *i64(uint8_t *p, int64_t v) {
  if (v >= 0) return u64(p, (uint64_t)v);
  *p++ = '-';
  return u64(p, (uint64_t)0 - (uint64_t)v);
}

static uint8_t *put(uint8_t *p, const char *s, size_t n) {
  memcpy(p, s, n);
  return p + n;
}
#define PUT(p, lit) put(p, lit, sizeof lit - 1)

/* Room a stat needs besides head and meta: the keys, five numbers of 20 digits and three of 11 (with a sign). */
#define STAT_ROOM (100 + 5 * 20 + 3 * 11)

static uint8_t *write_stat(const struct planstat *s, uint32_t row, uint8_t *p, const void *head, size_t hlen, const void *meta, size_t mlen) {
  p = put(p, head, hlen);
  p = u64(p, ((const uint64_t *)s->col[INO])[row]);
  p = PUT(p, "\",\"size\":\"");
  p = u64(p, ((const uint64_t *)s->col[SIZE])[row]);
  p = put(p, meta, mlen);
  p = u64(p, ((const uint32_t *)s->col[NLINK])[row]);
  p = PUT(p, ",\"mtime\":\"");
  p = i64(p, ((const int64_t *)s->col[MTIME])[row]);
  p = PUT(p, "\",\"ctime\":\"");
  p = i64(p, ((const int64_t *)s->col[CTIME])[row]);
  p = PUT(p, "\",\"atime\":\"");
  p = i64(p, ((const int64_t *)s->col[ATIME])[row]);
  return PUT(p, "\"}");
}

/* Reads the handle, row, out and at (argv[0..3]), and head and meta (argv[hm], argv[hm + 1]); false after throwing. */
static bool row_args(napi_env env, napi_value *argv, int hm, struct planstat **s, uint32_t *row, uint8_t **out, size_t *olen, uint32_t *at,
                     void **head, size_t *hlen, void **meta, size_t *mlen) {
  void *h = NULL;
  if (napi_get_value_external(env, argv[0], &h) != napi_ok || !h || napi_get_value_uint32(env, argv[1], row) != napi_ok ||
      napi_get_buffer_info(env, argv[2], (void **)out, olen) != napi_ok || napi_get_value_uint32(env, argv[3], at) != napi_ok ||
      napi_get_buffer_info(env, argv[hm], head, hlen) != napi_ok || napi_get_buffer_info(env, argv[hm + 1], meta, mlen) != napi_ok) {
    napi_throw_type_error(env, NULL, "planStat: bad arguments");
    return false;
  }
  *s = h;
  if (*row >= (*s)->rows) { napi_throw_range_error(env, NULL, "planStat: no such row"); return false; }
  return true;
}

static napi_value int_value(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

static napi_value xwrite(napi_env env, napi_callback_info info) {
  size_t argc = 6; napi_value argv[6]; struct planstat *s; uint32_t row, at; uint8_t *out; void *head, *meta; size_t olen, hlen, mlen;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 6) { napi_throw_type_error(env, NULL, "planStatWrite: 6 arguments expected"); return NULL; }
  if (!row_args(env, argv, 4, &s, &row, &out, &olen, &at, &head, &hlen, &meta, &mlen)) return NULL;
  if (at > olen || olen - at < hlen + mlen + STAT_ROOM) return int_value(env, -1);
  return int_value(env, write_stat(s, row, out + at, head, hlen, meta, mlen) - out);
}

/* Copies src[0..n) to p when every byte is its own JSON text (printable ASCII but " and \); NULL otherwise. */
static uint8_t *plain(uint8_t *p, const uint8_t *src, size_t n) {
  for (size_t k = 0; k < n; k++) {
    uint8_t c = src[k];
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') return NULL;
    p[k] = c;
  }
  return p + n;
}

/*
 * planLinkWrite(handle, row, out, at, op, group, head, meta, tail, pathRow) -> end, -1 when
 * it might not fit, -2 when the path needs escapes (nothing counts as written): the link line
 * {"type":"link","op":OP,"group":G,"path":"PATH","stat":STAT then tail (the integrity, the
 * target and the line's end, the same for a group's lines); the path is pathRow's (one of
 * the inode's rows), the stat row's.
 */
static napi_value xlink(napi_env env, napi_callback_info info) {
  size_t argc = 10; napi_value argv[10]; struct planstat *s; uint32_t row, at, prow; uint8_t *out; void *head, *meta, *tail; size_t olen, hlen, mlen, tlen;
  int64_t op, group;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 10) { napi_throw_type_error(env, NULL, "planLinkWrite: 10 arguments expected"); return NULL; }
  if (!row_args(env, argv, 6, &s, &row, &out, &olen, &at, &head, &hlen, &meta, &mlen)) return NULL;
  if (napi_get_value_int64(env, argv[4], &op) != napi_ok || napi_get_value_int64(env, argv[5], &group) != napi_ok || op < 0 || group < 0 ||
      napi_get_buffer_info(env, argv[8], &tail, &tlen) != napi_ok || napi_get_value_uint32(env, argv[9], &prow) != napi_ok || prow >= s->rows) {
    napi_throw_type_error(env, NULL, "planLinkWrite: bad arguments");
    return NULL;
  }
  const uint32_t d = ((const uint32_t *)s->col[DIR])[prow];
  const uint32_t *nameAt = s->col[NAME_AT];
  if (d >= s->len[DIR_START] || d >= s->len[DIR_END]) { napi_throw_range_error(env, NULL, "planLinkWrite: bad directory"); return NULL; }
  const uint32_t ds = ((const uint32_t *)s->col[DIR_START])[d], de = ((const uint32_t *)s->col[DIR_END])[d];
  const uint32_t ns = nameAt[prow], ne = nameAt[prow + 1];
  if (ds > de || de > s->len[DIR_BYTES] || ns > ne || ne > s->len[NAMES]) { napi_throw_range_error(env, NULL, "planLinkWrite: bad path"); return NULL; }
  const uint8_t *dir = (const uint8_t *)s->col[DIR_BYTES] + ds;
  /* The root "/" joins as "/name", any other directory as "dir/name": FileTable.dirIsSlash's rule (src/scan/fileTable.ts). */
  const bool root = de - ds == 1 && dir[0] == '/';
  if (at > olen || olen - at < 100 + 2 * 20 + (de - ds) + (ne - ns) + hlen + mlen + STAT_ROOM + tlen) return int_value(env, -1);
  uint8_t *p = out + at;
  p = PUT(p, "{\"type\":\"link\",\"op\":");
  p = u64(p, (uint64_t)op);
  p = PUT(p, ",\"group\":");
  p = u64(p, (uint64_t)group);
  p = PUT(p, ",\"path\":\"");
  if (!(p = plain(p, dir, de - ds))) return int_value(env, -2);
  if (!root) *p++ = '/';
  if (!(p = plain(p, (const uint8_t *)s->col[NAMES] + ns, ne - ns))) return int_value(env, -2);
  p = PUT(p, "\",\"stat\":");
  p = write_stat(s, row, p, head, hlen, meta, mlen);
  p = put(p, tail, tlen);
  return int_value(env, p - out);
}

void register_planstat(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = { FN("planStatOpen", xopen), FN("planStatWrite", xwrite), FN("planLinkWrite", xlink) };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
}
