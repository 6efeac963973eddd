// Bugs planted in small kernels, each of a kind a GPU exposes and a naive CPU emulation hides; the
// emulation (kernels/cuda/emulation/cuda_emulation.h) must expose every one. Built and run by
// test/emulation.test.ts, which reads the lines this prints.
#include <cstdio>
#include <vector>

#include "../../kernels/cuda/cuda_compat.h"

namespace {
constexpr int kThreads = 32;

// reads shared memory before any thread of the block wrote it
__global__ void ReadBeforeWrite(float* out) {
  LP_SHARED(float, s, [kThreads]);
  const int t = threadIdx.x;
  out[blockIdx.x * kThreads + t] = s[t];
  __syncthreads();
  s[t] = 1.0f;
}

// assumes that block b - 1 ran before block b
__global__ void AssumesBlockOrder(int* out) {
  if (threadIdx.x != 0) return;
  const unsigned b = blockIdx.x;
  out[b] = b == 0 ? 1 : out[b - 1] + 1;
}

// odd and even threads wait at two different barriers
__global__ void DivergentBarrier(float* out) {
  const int t = threadIdx.x;
  if (t % 2) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[t] = 1.0f;
}

// 1 KiB of static shared memory beside the dynamic
__global__ void StaticAndDynamic(float* out) {
  LP_SHARED(float, s, [256]);
  LP_DYNAMIC_SHARED(float, d);
  s[threadIdx.x] = 1.0f;
  d[threadIdx.x] = 2.0f;
  __syncthreads();
  out[threadIdx.x] = s[threadIdx.x] + d[threadIdx.x];
}
}  // namespace

int main() {
  const int blocks = 8;
  std::vector<float> f(blocks * kThreads, 0.0f);
  cudaError_t e = LP_LAUNCH(ReadBeforeWrite, dim3(blocks), dim3(kThreads), 0, nullptr, f.data());
  int nan = 0;
  for (float v : f) nan += v != v;
  std::printf("read-before-write: %s, %d of %d values read NaN\n", cudaGetErrorString(e), nan, blocks * kThreads);

  std::vector<int> order(64, 0);
  e = LP_LAUNCH(AssumesBlockOrder, dim3(64), dim3(kThreads), 0, nullptr, order.data());
  int in_order = 0;
  for (int b = 0; b < 64; ++b) in_order += order[b] == b + 1;
  std::printf("block-order: %s, %d of 64 blocks saw their predecessor's value\n", cudaGetErrorString(e), in_order);

  e = LP_LAUNCH(DivergentBarrier, dim3(1), dim3(kThreads), 0, nullptr, f.data());
  std::printf("divergent-barrier: %d %s\n", static_cast<int>(e), cudaGetErrorString(e));

  std::vector<float> g(256);
  e = LP_LAUNCH_WITH_STATIC(StaticAndDynamic, dim3(1), dim3(256), 1024, 47 * 1024, nullptr, g.data());
  std::printf("static-plus-dynamic 48 KiB: %d %s\n", static_cast<int>(e), cudaGetErrorString(e));
  e = LP_LAUNCH_WITH_STATIC(StaticAndDynamic, dim3(1), dim3(256), 1024, 47 * 1024 + 4, nullptr, g.data());
  std::printf("static-plus-dynamic over: %d %s\n", static_cast<int>(e), cudaGetErrorString(e));

  e = LP_LAUNCH(StaticAndDynamic, dim3(1), dim3(1025), 0, nullptr, g.data());
  std::printf("1025 threads: %d %s\n", static_cast<int>(e), cudaGetErrorString(e));
  e = LP_LAUNCH(StaticAndDynamic, dim3(1, 65536), dim3(32), 0, nullptr, g.data());
  std::printf("grid y 65536: %d %s\n", static_cast<int>(e), cudaGetErrorString(e));
  return 0;
}
