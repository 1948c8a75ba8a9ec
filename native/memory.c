/*
 * Page-cache residency of an open file, by cachestat(2) (Linux >= 6.5). glibc has no
 * wrapper and older headers lack the number, so the call goes through syscall() with the
 * number and structures defined here when missing. The JS side turns ENOSYS (older kernel),
 * EPERM (a seccomp filter) and EOPNOTSUPP (hugetlbfs) into "unknown", never into a guess.
 */
#define _GNU_SOURCE
#include "napi_util.h"
#include <sys/syscall.h>
#include <unistd.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#ifndef __NR_cachestat
#if defined(__x86_64__) || defined(__aarch64__) || defined(__riscv) || defined(__i386__) || defined(__arm__)
/* 451 on every architecture that has it (the unified syscall table since 5.x). */
#define __NR_cachestat 451
#endif
#endif

struct hashify_cachestat_range { uint64_t off; uint64_t len; };
struct hashify_cachestat {
  uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

/* cachestat(fd) -> { cache, dirty, writeback } in bytes, for the whole file (len 0 = to its end). */
static napi_value xcachestat(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_fd(env, argv[0], &fd)) { napi_throw_type_error(env, NULL, "fd expected"); return NULL; }
#ifdef __NR_cachestat
  struct hashify_cachestat_range range = { 0, 0 };
  struct hashify_cachestat cs;
  memset(&cs, 0, sizeof cs);
  long r;
  do r = syscall(__NR_cachestat, fd, &range, &cs, 0); while (r < 0 && errno == EINTR);
  if (r < 0) return throw_errno(env, "cachestat", errno);
  double page = (double)sysconf(_SC_PAGESIZE);
  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_double(env, (double)cs.nr_cache * page, &v); napi_set_named_property(env, out, "cache", v);
  napi_create_double(env, (double)cs.nr_dirty * page, &v); napi_set_named_property(env, out, "dirty", v);
  napi_create_double(env, (double)cs.nr_writeback * page, &v); napi_set_named_property(env, out, "writeback", v);
  return out;
#else
  return throw_errno(env, "cachestat", ENOSYS);
#endif
}

void register_memory(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = { FN("cachestat", xcachestat) };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
}
