// A deliberate race between two blocks of an emulated CUDA kernel, built only by the TSan run
// (scripts/sanitize.sh) to prove that ThreadSanitizer, preloaded into node, reports a race in the
// device code of a native addon and fails the run: the kind of race the op cases are checked for.
#include <node_api.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "../../kernels/cuda/cuda_compat.h"

namespace {
// every block adds 1 to one counter without an atomic, then waits (relaxed atomics: no ordering)
// until two blocks have, so that both accesses are alive when TSan compares them
std::atomic<int> g_added{0};
__global__ void AddWithoutAtomic(long long* counter) {
  if (threadIdx.x != 0) return;
  *counter += 1;
  g_added.fetch_add(1, std::memory_order_relaxed);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (g_added.load(std::memory_order_relaxed) < 2 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
}

napi_value RaceBetweenBlocks(napi_env env, napi_callback_info) {
  long long counter = 0;
  if (LP_LAUNCH(AddWithoutAtomic, dim3(8), dim3(32), 0, nullptr, &counter) == cudaSuccess) cudaStreamSynchronize(nullptr);
  napi_value out;
  napi_create_int64(env, counter, &out);
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "raceBetweenBlocks", NAPI_AUTO_LENGTH, RaceBetweenBlocks, nullptr, &fn);
  napi_set_named_property(env, exports, "raceBetweenBlocks", fn);
  return exports;
}
}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
