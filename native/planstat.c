/*
 * A scanned row's stat JSON written from the scan table's columns into the plan writer's
 * buffer (src/plan/rowStat.ts): exactly JSON.stringify(table.stat(row)). The JS side made it
 * digit by digit through 32-bit halves of the 64-bit columns, a fifth of the plan's assemble
 * time; here each number is a few divisions.
 *
 *   planStatOpen(ino, size, mtime, ctime, atime, nlink) -> handle
 *       the table's columns (BigUint64Array, BigUint64Array, BigInt64Array x3, Uint32Array),
 *       held (referenced) by the handle; the caller does not grow them while it lives
 *   planStatWrite(handle, row, out, at, head, meta) -> end, or -1 when it might not fit
 *       writes head (`{"dev":"D","ino":"`), ino, `","size":"`, size, meta
 *       (`","mode":M,"uid":U,"gid":G,"nlink":`), nlink, the three times and `"}`
 */
#include "napi_util.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

enum { INO, SIZE, MTIME, CTIME, ATIME, NLINK, COLUMNS };

struct planstat {
  const void *col[COLUMNS];
  size_t rows;
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
  };
  size_t argc = COLUMNS; napi_value argv[COLUMNS];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct planstat *s = calloc(1, sizeof *s);
  if (!s) return throw_errno(env, "calloc", ENOMEM);
  for (int k = 0; k < COLUMNS; k++) {
    napi_typedarray_type type; size_t len; void *data; bool is = false;
    if (argc != COLUMNS || napi_is_typedarray(env, argv[k], &is) != napi_ok || !is ||
        napi_get_typedarray_info(env, argv[k], &type, &len, &data, NULL, NULL) != napi_ok || type != want[k] ||
        (k > 0 && len < s->rows) || napi_create_reference(env, argv[k], 1, &s->ref[k]) != napi_ok) {
      finalize(env, s, NULL);
      napi_throw_type_error(env, NULL, "planStatOpen: the table's six columns expected");
      return NULL;
    }
    s->col[k] = data;
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

static napi_value xwrite(napi_env env, napi_callback_info info) {
  size_t argc = 6; napi_value argv[6]; void *h = NULL; uint32_t row, at;
  void *out, *head, *meta; size_t olen, hlen, mlen;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 6 || napi_get_value_external(env, argv[0], &h) != napi_ok || !h || napi_get_value_uint32(env, argv[1], &row) != napi_ok ||
      napi_get_buffer_info(env, argv[2], &out, &olen) != napi_ok || napi_get_value_uint32(env, argv[3], &at) != napi_ok ||
      napi_get_buffer_info(env, argv[4], &head, &hlen) != napi_ok || napi_get_buffer_info(env, argv[5], &meta, &mlen) != napi_ok) {
    napi_throw_type_error(env, NULL, "planStatWrite: bad arguments");
    return NULL;
  }
  struct planstat *s = h;
  if (row >= s->rows) { napi_throw_range_error(env, NULL, "planStatWrite: no such row"); return NULL; }
  int64_t end = -1;
  /* The keys, five numbers of 20 digits and three of 11 (with a sign), and the caller's parts. */
  if (at <= olen && olen - at >= hlen + mlen + 100 + 5 * 20 + 3 * 11) {
    uint8_t *p = (uint8_t *)out + at;
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
    p = PUT(p, "\"}");
    end = p - (uint8_t *)out;
  }
  napi_value r;
  napi_create_int64(env, end, &r);
  return r;
}

void register_planstat(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = { FN("planStatOpen", xopen), FN("planStatWrite", xwrite) };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
}
