/*
 * What every part of the addon shares: errors that carry the errno's own name (libuv's
 * uv_err_name knows them all), argument helpers, and each part's registration function.
 * The addon is one shared object (dist/native/linux.node) built from every C file in native/.
 */
#ifndef HASHIFY_NAPI_UTIL_H
#define HASHIFY_NAPI_UTIL_H
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>

/** Throws an Error with code (e.g. "ENOENT"), errno (negative) and syscall; returns NULL. */
napi_value throw_errno(napi_env env, const char *syscall, int err);
/* Queues `execute(data)` on libuv's pool, `complete` after it on the JS thread; returns the
 * promise `*deferred` settles (complete resolves or rejects it and deletes `*work`). */
napi_value queue_work(napi_env env, const char *name, napi_async_execute_callback execute, napi_async_complete_callback complete, void *data, napi_deferred *deferred, napi_async_work *work);
/** Reads an int32 file descriptor argument; false when it is not a number. */
bool get_fd(napi_env env, napi_value v, int *fd);
/** Copies a Buffer argument into a NUL-terminated malloc'd string (names are bytes); NULL on error. */
char *get_bytes_z(napi_env env, napi_value v, size_t *len);
/** Adds the functions of one part to the module's exports. */
void define_functions(napi_env env, napi_value exports, const napi_property_descriptor *props, size_t n);

/* One line per part of the addon (module.c calls each). */
void register_xattr(napi_env env, napi_value exports);
void register_scan(napi_env env, napi_value exports);
void register_beneath(napi_env env, napi_value exports);
void register_clone(napi_env env, napi_value exports);
void register_storedir(napi_env env, napi_value exports);
void register_hash(napi_env env, napi_value exports);
void register_fsinfo(napi_env env, napi_value exports);
void register_memory(napi_env env, napi_value exports);
void register_executor(napi_env env, napi_value exports);
void register_planwrite(napi_env env, napi_value exports);
void register_planstat(napi_env env, napi_value exports);

/** openat2(RESOLVE_BENEATH | NO_SYMLINKS | NO_XDEV | NO_MAGICLINKS) relative to dirfd; -1 and errno on failure. */
int open_beneath(int dirfd, const char *rel, int flags, int mode);
/** Where an *at call resolves `rel` from: dirfd (rel fits PATH_MAX), else rel's parent opened beneath it (close it), *rest its name. */
int at_beneath(int dirfd, const char *rel, const char **rest);

#define FN(name, fn) { name, NULL, fn, NULL, NULL, NULL, napi_default, NULL }
#endif
