#include "napi_util.h"
#include <uv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

napi_value throw_errno(napi_env env, const char *syscall, int err) {
  napi_value msg, code, error, errnoval, sc;
  char text[256];
  const char *name = uv_err_name(-err);
  if (!name || !strncmp(name, "Unknown", 7)) name = "EIO";
  snprintf(text, sizeof text, "%s: %s (%s)", syscall, strerror(err), name);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_create_error(env, code, msg, &error);
  napi_create_int32(env, -err, &errnoval);
  napi_set_named_property(env, error, "errno", errnoval);
  napi_set_named_property(env, error, "code", code);
  napi_set_named_property(env, error, "syscall", sc);
  napi_throw(env, error);
  return NULL;
}

bool get_fd(napi_env env, napi_value v, int *fd) {
  return napi_get_value_int32(env, v, fd) == napi_ok;
}

char *get_bytes_z(napi_env env, napi_value v, size_t *len) {
  void *data; size_t n;
  if (napi_get_buffer_info(env, v, &data, &n) != napi_ok) return NULL;
  if (memchr(data, 0, n)) return NULL;
  char *s = malloc(n + 1);
  if (!s) return NULL;
  memcpy(s, data, n); s[n] = 0;
  if (len) *len = n;
  return s;
}

void define_functions(napi_env env, napi_value exports, const napi_property_descriptor *props, size_t n) {
  napi_define_properties(env, exports, n, props);
}

napi_value queue_work(napi_env env, const char *name, napi_async_execute_callback execute, napi_async_complete_callback complete, void *data, napi_deferred *deferred, napi_async_work *work) {
  napi_value promise, resource;
  napi_create_promise(env, deferred, &promise);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
  napi_create_async_work(env, NULL, resource, execute, complete, data, work);
  napi_queue_async_work(env, *work);
  return promise;
}
