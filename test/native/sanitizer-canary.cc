// A deliberate out-of-bounds read, built only by the sanitizer run (scripts/sanitize.sh) to prove
// that AddressSanitizer, preloaded into node, reports such a read in a native addon and fails the
// run: the same kind of read as a kernel indexing past an attribute's array.
#include <node_api.h>

#include <vector>

namespace {
napi_value ReadPastEnd(napi_env env, napi_callback_info) {
  std::vector<long long> pads(2, 1);
  volatile long long* p = pads.data();
  napi_value out;
  napi_create_int64(env, p[3], &out);  // pads[3] of a 2-element list
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "readPastEnd", NAPI_AUTO_LENGTH, ReadPastEnd, nullptr, &fn);
  napi_set_named_property(env, exports, "readPastEnd", fn);
  return exports;
}
}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
