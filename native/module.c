/* The addon's entry point: each part of native/ adds its functions (see napi_util.h). */
#include "napi_util.h"

NAPI_MODULE_INIT() {
  register_xattr(env, exports);
  register_scan(env, exports);
  register_beneath(env, exports);
  register_clone(env, exports);
  register_storedir(env, exports);
  register_hash(env, exports);
  register_fsinfo(env, exports);
  register_memory(env, exports);
  register_executor(env, exports);
  register_planwrite(env, exports);
  register_planstat(env, exports);
  return exports;
}
