// Bugs planted in small kernels, each of a kind a GPU exposes and a naive CPU emulation hides; the
// emulation (kernels/cuda/emulation/cuda_emulation.h) must expose every one. Built and run by
// test/emulation.test.ts, which reads the lines this prints.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "../../kernels/cuda/cuda_compat.h"
#include "../../kernels/cuda/device_common.cuh"

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

// How many blocks of the launch run at the same time: each block's thread 0 counts itself in and
// waits (up to a second) for another block to be running too.
std::atomic<int> g_running{0}, g_most{0};
__global__ void CountsRunningBlocks(int) {
  if (threadIdx.x != 0) return;
  const int now = ++g_running;
  int most = g_most.load();
  while (now > most && !g_most.compare_exchange_weak(most, now)) {
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (g_most.load() < 2 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
  --g_running;
}

// every block adds 1 to one counter without an atomic: a race between blocks (the TSan build must
// report it); RaceFree does the same with an atomic. Each block then waits (with relaxed atomics,
// which order nothing) until two blocks have added, so that both accesses are alive when TSan
// compares them.
std::atomic<int> g_added{0};
void WaitForAnotherBlock() {
  g_added.fetch_add(1, std::memory_order_relaxed);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (g_added.load(std::memory_order_relaxed) < 2 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
}
__global__ void RaceBetweenBlocks(unsigned long long* counter) {
  if (threadIdx.x != 0) return;
  *counter += 1;
  WaitForAnotherBlock();
}
__global__ void RaceFree(unsigned long long* counter) {
  if (threadIdx.x != 0) return;
  atomicMin(counter, static_cast<unsigned long long>(blockIdx.x));
  WaitForAnotherBlock();
}

// copies IN to shared memory by cp.async and reads it back after a barrier, with or without
// waiting for the copies first (a barrier alone does not wait for them)
__global__ void AsyncCopyThenRead(const float* in, float* out, int wait) {
  LP_SHARED(float, s, [kThreads]);
  lp::Cuda::CopyAsync4(&s[threadIdx.x], &in[threadIdx.x], true);
  lp::Cuda::CommitAsync();
  if (wait) lp::Cuda::WaitAsync<0>();
  __syncthreads();
  out[threadIdx.x] = s[(threadIdx.x + 1) % kThreads];
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
// copies N floats
__global__ void Copy(const float* in, float* out, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = in[i];
}

// An arena of two chunks that hands a freed chunk to the next request at once: what onnxruntime's
// allocator does with a chunk freed without its stream.
struct FakeArena {
  std::vector<float> chunks[2] = {std::vector<float>(64), std::vector<float>(64)};
  bool used[2] = {false, false};
  float* Alloc() {
    const int c = used[0] ? 1 : 0;
    used[c] = true;
    return chunks[c].data();
  }
  void Free(const float* p) { used[p == chunks[1].data() ? 1 : 0] = false; }
};

// P copied into scratch, a kernel queued to read it, the scratch freed (at once, or after the
// stream's work), and another stream's request writes its own data into what it was given before
// our stream runs. How many outputs are right?
int ScratchLifetime(bool stream_ordered_free) {
  FakeArena arena;
  std::vector<float> p_host(64), out(64, 0.0f);
  for (int i = 0; i < 64; ++i) p_host[i] = static_cast<float>(i + 1);
  float* p = arena.Alloc();
  cudaMemcpy(p, p_host.data(), sizeof(float) * 64, cudaMemcpyHostToDevice);
  LP_LAUNCH(Copy, dim3(2), dim3(kThreads), 0, nullptr, static_cast<const float*>(p), out.data(), 64);
  if (stream_ordered_free)
    lp_emu::Enqueue([&arena, p] { arena.Free(p); }, true);
  else
    arena.Free(p);
  float* next = arena.Alloc();  // another stream's scratch, filled by its work before ours runs
  for (int i = 0; i < 64; ++i) next[i] = -1.0f;
  cudaStreamSynchronize(nullptr);
  int right = 0;
  for (int i = 0; i < 64; ++i) right += out[i] == p_host[i];
  return right;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    // the TSan build's checks: one launch of 8 blocks, with or without a race between them
    unsigned long long counter = 100;
    const bool race = std::strcmp(argv[1], "race") == 0;
    cudaError_t e = race ? LP_LAUNCH(RaceBetweenBlocks, dim3(8), dim3(kThreads), 0, nullptr, &counter)
                         : LP_LAUNCH(RaceFree, dim3(8), dim3(kThreads), 0, nullptr, &counter);
    if (e == cudaSuccess) e = cudaStreamSynchronize(nullptr);
    std::printf("%s: %s\n", argv[1], cudaGetErrorString(e));
    return 0;
  }
  const int blocks = 8;
  std::vector<float> f(blocks * kThreads, 0.0f);
  cudaError_t e = LP_LAUNCH(ReadBeforeWrite, dim3(blocks), dim3(kThreads), 0, nullptr, f.data());
  if (e == cudaSuccess) e = cudaStreamSynchronize(nullptr);
  int nan = 0;
  for (float v : f) nan += v != v;
  std::printf("read-before-write: %s, %d of %d values read NaN\n", cudaGetErrorString(e), nan, blocks * kThreads);

  e = LP_LAUNCH(CountsRunningBlocks, dim3(16), dim3(kThreads), 0, nullptr, 0);
  if (e == cudaSuccess) e = cudaStreamSynchronize(nullptr);
  std::printf("blocks-at-once: %s, at most %d blocks running at the same time\n", cudaGetErrorString(e), g_most.load());

  std::vector<int> order(64, 0);
  e = LP_LAUNCH(AssumesBlockOrder, dim3(64), dim3(kThreads), 0, nullptr, order.data());
  if (e == cudaSuccess) e = cudaStreamSynchronize(nullptr);
  int in_order = 0;
  for (int b = 0; b < 64; ++b) in_order += order[b] == b + 1;
  std::printf("block-order: %s, %d of 64 blocks saw their predecessor's value\n", cudaGetErrorString(e), in_order);

  e = LP_LAUNCH(DivergentBarrier, dim3(1), dim3(kThreads), 0, nullptr, f.data());
  if (e == cudaSuccess) e = cudaStreamSynchronize(nullptr);
  std::printf("divergent-barrier: %d %s\n", static_cast<int>(e), cudaGetErrorString(e));

  std::vector<float> g(256);
  e = LP_LAUNCH_WITH_STATIC(StaticAndDynamic, dim3(1), dim3(256), 1024, 47 * 1024, nullptr, g.data());
  if (e == cudaSuccess) e = cudaStreamSynchronize(nullptr);
  std::printf("static-plus-dynamic 48 KiB: %d %s\n", static_cast<int>(e), cudaGetErrorString(e));
  e = LP_LAUNCH_WITH_STATIC(StaticAndDynamic, dim3(1), dim3(256), 1024, 47 * 1024 + 4, nullptr, g.data());
  std::printf("static-plus-dynamic over: %d %s\n", static_cast<int>(e), cudaGetErrorString(e));

  e = LP_LAUNCH(StaticAndDynamic, dim3(1), dim3(1025), 0, nullptr, g.data());
  std::printf("1025 threads: %d %s\n", static_cast<int>(e), cudaGetErrorString(e));
  e = LP_LAUNCH(StaticAndDynamic, dim3(1, 65536), dim3(32), 0, nullptr, g.data());
  std::printf("grid y 65536: %d %s\n", static_cast<int>(e), cudaGetErrorString(e));

  for (int wait = 0; wait < 2; ++wait) {
    std::vector<float> in(kThreads, 7.0f), out(kThreads, 0.0f);
    e = LP_LAUNCH(AsyncCopyThenRead, dim3(1), dim3(kThreads), 0, nullptr, static_cast<const float*>(in.data()), out.data(), wait);
    if (e == cudaSuccess) e = cudaStreamSynchronize(nullptr);
    int right = 0;
    for (float v : out) right += v == 7.0f;
    std::printf("%s: %s, %d of %d values right\n", wait ? "async-copy-waited" : "async-copy-read-before-wait", cudaGetErrorString(e), right, kThreads);
  }

  // a result read on the host before the stream was synchronised
  std::vector<float> src(64, 42.0f), dst(64, 0.0f);
  LP_LAUNCH(Copy, dim3(2), dim3(kThreads), 0, nullptr, static_cast<const float*>(src.data()), dst.data(), 64);
  const float before = dst[0];
  e = cudaStreamSynchronize(nullptr);
  std::printf("read-before-sync: %s, %g before the synchronisation, %g after\n", cudaGetErrorString(e), before, dst[0]);

  std::printf("scratch-freed-at-once: %d of 64 outputs right\n", ScratchLifetime(false));
  std::printf("scratch-freed-in-stream-order: %d of 64 outputs right\n", ScratchLifetime(true));

  // a divergent barrier is an error of the launch: it shows at the synchronisation
  e = LP_LAUNCH(DivergentBarrier, dim3(1), dim3(kThreads), 0, nullptr, f.data());
  const cudaError_t at_sync = cudaStreamSynchronize(nullptr);
  std::printf("divergent-barrier-at-sync: launch %d, synchronisation %d\n", static_cast<int>(e), static_cast<int>(at_sync));
  return 0;
}
