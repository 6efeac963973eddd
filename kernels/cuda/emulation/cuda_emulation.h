// An emulation of the CUDA execution model on the CPU, for testing the device code of kernels/cuda
// without a GPU: the same .cu source, compiled by g++ with LP_CUDA_EMULATION, launched with the same
// grid and block. Every block runs its blockDim threads as real OS threads (reused from block to
// block); __syncthreads is a barrier over the block's live threads (a thread that has returned no
// longer takes part, as on current GPUs). Device memory is host memory; streams are
// per host thread (see Streams below). Launches run one at a time, so concurrent sessions stay apart.
// What a GPU would refuse or expose, the emulation refuses or exposes too:
// - launch limits: at most 1024 threads per block (z at most 64), grid y and z at most 65535, and
//   at most 48 KiB of shared memory, static (LP_LAUNCH_WITH_STATIC) plus dynamic;
// - shared memory is uninitialised on a GPU: every static (LP_SHARED) and dynamic shared array is
//   filled with 0xFF bytes (a NaN in a float, -1 in an int) at the start of every block, so a read
//   before a write shows;
// - blocks run in no particular order on a GPU, several at once: here in an order shuffled per
//   launch (seeded by the launch's count, so a run repeats), two (LP_EMU_CONCURRENT_BLOCKS) at a
//   time, each with its own threads and shared memory, so an assumption about block order shows,
//   and a race between blocks is a race between host threads (the TSan build reports it);
// - a barrier reached by a block's live threads at different __syncthreads call sites (a barrier
//   under divergent control flow) is an error of the launch (cudaErrorLaunchFailure, at the next
//   synchronisation), and cudaGetErrorString names the kernel and both lines;
// - warp shuffles (__shfl_xor_sync) exchange through a block-wide barrier, so a block's warps must
//   shuffle in step (they do in these kernels: a warp that is done leaves the kernel);
// - work queued on a stream (launches, async copies and sets) runs when the stream is
//   synchronised, not at the call, so a result read before a synchronisation, or memory freed
//   before the stream's work used it, shows.
#pragma once

#include "../../common/half_value.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
};

struct alignas(16) float4 {
  float x, y, z, w;
};
inline int min(int a, int b) { return a < b ? a : b; }

struct CUstream_st;
using cudaStream_t = CUstream_st*;

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorLaunchFailure = 719
};

namespace lp_emu {
// The compute capability of the emulated device (major * 10 + minor): LP_EMU_SM, default 90 (the
// H200's); the kernels choose their sm_80-and-later paths by it.
inline int& ComputeCapability() {
  static int sm = [] {
    const char* v = std::getenv("LP_EMU_SM");
    return v ? std::atoi(v) : 90;
  }();
  return sm;
}
// what the last failed launch did wrong, for cudaGetErrorString
inline std::string& FaultMessage() {
  static std::string m;
  return m;
}
}  // namespace lp_emu
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};

inline const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorInvalidConfiguration:
      return "invalid configuration argument";
    case cudaErrorLaunchFailure:
      return lp_emu::FaultMessage().c_str();
  }
  return "unknown error";
}

namespace lp_emu {
// Streams: work queued on a stream runs when the stream is synchronised, not at the call, as on a
// GPU. The emulation's streams are per host thread (onnxruntime's CPU provider gives the kernels no
// stream; each Compute queues its work and the CUDA kernels' glue synchronises after it), so
// concurrent sessions stay apart. A cleanup (a stream-ordered free) also runs when queued work is
// discarded after a failure.
struct Pending {
  std::function<void()> work;
  bool cleanup;
};
inline thread_local std::deque<Pending> t_queue;
inline thread_local cudaError_t t_sticky = cudaSuccess;  // what queued work did wrong, for the next synchronisation

inline void Enqueue(std::function<void()> work, bool cleanup = false) { t_queue.push_back({std::move(work), cleanup}); }

// Runs everything queued on this thread's streams, in order; returns (and clears) the error it made.
inline cudaError_t Drain() {
  while (!t_queue.empty()) {
    Pending p = std::move(t_queue.front());
    t_queue.pop_front();
    p.work();
  }
  const cudaError_t e = t_sticky;
  t_sticky = cudaSuccess;
  return e;
}

// After a failure on the host: the queued work is dropped, its cleanups run.
inline void Discard() {
  while (!t_queue.empty()) {
    Pending p = std::move(t_queue.front());
    t_queue.pop_front();
    if (p.cleanup) p.work();
  }
  t_sticky = cudaSuccess;
}
}  // namespace lp_emu

inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  if (bytes == 0) return cudaSuccess;
  if (kind == cudaMemcpyHostToDevice) {
    // from pageable host memory the runtime reads the source at the call (into a staging buffer)
    // and writes the device at the stream's turn
    auto staged = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char*>(src),
                                                               static_cast<const unsigned char*>(src) + bytes);
    lp_emu::Enqueue([=] { std::memcpy(dst, staged->data(), bytes); });
  } else {
    lp_emu::Enqueue([=] { std::memcpy(dst, src, bytes); });
  }
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t) {
  if (bytes > 0) lp_emu::Enqueue([=] { std::memset(dst, value, bytes); });
  return cudaSuccess;
}
// synchronous calls wait for what was queued first (the legacy default stream's semantics)
inline cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  const cudaError_t e = lp_emu::Drain();
  if (bytes > 0) std::memcpy(dst, src, bytes);
  return e;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return lp_emu::Drain(); }
inline cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = std::malloc(bytes > 0 ? bytes : 1);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
inline cudaError_t cudaFree(void* p) {
  const cudaError_t e = lp_emu::Drain();
  std::free(p);
  return e;
}

namespace lp_emu {

struct Block;
struct Index {
  dim3 thread, block;
  Block* ctx = nullptr;  // the block this thread runs in: its barrier and its shared memory
};
inline thread_local Index tls;
inline dim3 g_grid, g_block;
inline size_t g_dynamic_bytes = 0;
inline cudaError_t g_last_error = cudaSuccess;

// __syncthreads: all live threads of the block meet; a thread that has returned leaves for good.
// Every thread that arrives in one generation must come from the same call site.
class BlockBarrier {
 public:
  void Reset(unsigned live) {
    live_ = live;
    arrived_ = 0;
    fault_.clear();
  }
  void Wait(const char* kernel, const char* file, int line) {
    std::unique_lock<std::mutex> lock(m_);
    const unsigned generation = generation_;
    if (arrived_ == 0) {
      site_file_ = file;
      site_line_ = line;
    } else if (fault_.empty() && (line != site_line_ || std::string(file) != site_file_)) {
      fault_ = std::string("__syncthreads under divergent control flow in ") + kernel + ": threads of one block wait at " + site_file_ +
               ":" + std::to_string(site_line_) + " and at " + file + ":" + std::to_string(line);
    }
    if (++arrived_ == live_) {
      Release();
      return;
    }
    cv_.wait(lock, [&] { return generation_ != generation; });
  }
  void Leave() {
    std::lock_guard<std::mutex> lock(m_);
    --live_;
    if (arrived_ > 0 && arrived_ == live_) Release();
  }

 private:
  void Release() {
    arrived_ = 0;
    ++generation_;
    cv_.notify_all();
  }
  std::mutex m_;
  std::condition_variable cv_;
  unsigned live_ = 0, arrived_ = 0, generation_ = 0;
  std::string site_file_;
  int site_line_ = 0;

 public:
  std::string fault_;  // the first divergent barrier of the block (read after the block ended)
};

constexpr unsigned char kPoison = 0xFF;

// What one running block owns: its barrier, its shared memory (each static LP_SHARED array by its
// slot number, and the dynamic array), the buffer its warps shuffle through. Blocks that run at
// the same time have one each, as on a GPU.
struct Block {
  BlockBarrier barrier;
  std::mutex m;
  std::vector<std::unique_ptr<unsigned char[]>> statics;
  std::vector<size_t> static_bytes;
  std::vector<std::max_align_t> dynamic;
  uint64_t exchange[1024];
  // At the start of every block: all shared memory filled with poison.
  void Start(unsigned live) {
    barrier.Reset(live);
    for (size_t i = 0; i < statics.size(); ++i)
      if (statics[i]) std::memset(statics[i].get(), kPoison, static_bytes[i]);
    if (!dynamic.empty()) std::memset(dynamic.data(), kPoison, dynamic.size() * sizeof(std::max_align_t));
  }
  // A static shared array, made (poisoned) the first time a thread of this launch's block asks.
  void* Static(unsigned slot, size_t bytes) {
    std::lock_guard<std::mutex> lock(m);
    if (statics.size() <= slot) {
      statics.resize(slot + 1);
      static_bytes.resize(slot + 1, 0);
    }
    if (!statics[slot]) {
      statics[slot].reset(new unsigned char[bytes]);
      static_bytes[slot] = bytes;
      std::memset(statics[slot].get(), kPoison, bytes);
    }
    return statics[slot].get();
  }
};

// A static __shared__ array (LP_SHARED): one number per declaration, its memory per running block.
inline unsigned NextSharedSlot() {
  static std::atomic<unsigned> next{0};
  return next++;
}
template <typename A>
class SharedSlot {
 public:
  SharedSlot() : slot_(NextSharedSlot()) {}
  A& Get() const { return *static_cast<A*>(tls.ctx->Static(slot_, sizeof(A))); }

 private:
  unsigned slot_;
};

// cp.async: a copy lands in shared memory at the latest when its group is waited for, and may land
// any time after the call. The emulation writes poison at the call and the value at the wait, so a
// read before the wait sees poison, and a copy issued into a buffer other threads still read is a
// write that races with their reads (TSan reports it).
struct AsyncCopy {
  float* dst;
  float value;
};
inline thread_local std::vector<AsyncCopy> t_open_copies;
inline thread_local std::deque<std::vector<AsyncCopy>> t_copy_groups;
inline void CopyAsync4(float* dst, const float* src, bool valid) {
  const float v = valid ? *src : 0.0f;
  std::memset(dst, kPoison, sizeof(float));
  t_open_copies.push_back({dst, v});
}
inline void CommitAsync() {
  t_copy_groups.push_back(std::move(t_open_copies));
  t_open_copies.clear();
}
inline void WaitAsync(int newest_in_flight) {
  while (t_copy_groups.size() > static_cast<size_t>(newest_in_flight)) {
    for (const AsyncCopy& c : t_copy_groups.front()) *c.dst = c.value;
    t_copy_groups.pop_front();
  }
}

// The threads of one block slot, reused for every block the slot runs.
class Workers {
 public:
  explicit Workers(unsigned n) {
    for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this, i] { Loop(i); });
  }
  ~Workers() {
    {
      std::lock_guard<std::mutex> lock(m_);
      quit_ = true;
      ++round_;
    }
    start_.notify_all();
    for (auto& t : threads_) t.join();
  }
  Block& block() { return ctx_; }
  // Runs body on every thread of one block and waits for all of them.
  void RunBlock(dim3 block, const std::function<void()>& body) {
    ctx_.Start(static_cast<unsigned>(threads_.size()));
    {
      std::lock_guard<std::mutex> lock(m_);
      block_ = block;
      body_ = &body;
      done_ = 0;
      ++round_;
    }
    start_.notify_all();
    std::unique_lock<std::mutex> lock(m_);
    done_cv_.wait(lock, [&] { return done_ == threads_.size(); });
  }

 private:
  void Loop(unsigned i) {
    unsigned seen = 0;
    for (;;) {
      const std::function<void()>* body;
      {
        std::unique_lock<std::mutex> lock(m_);
        start_.wait(lock, [&] { return round_ != seen; });
        seen = round_;
        if (quit_) return;
        body = body_;
        tls.block = block_;
      }
      tls.ctx = &ctx_;
      t_open_copies.clear();  // copies a previous block left in flight are gone with its shared memory
      t_copy_groups.clear();
      tls.thread = dim3(i % g_block.x, (i / g_block.x) % g_block.y, i / (g_block.x * g_block.y));
      (*body)();
      ctx_.barrier.Leave();
      std::lock_guard<std::mutex> lock(m_);
      if (++done_ == threads_.size()) done_cv_.notify_all();
    }
  }
  Block ctx_;
  std::vector<std::thread> threads_;
  std::mutex m_;
  std::condition_variable start_, done_cv_;
  dim3 block_;
  const std::function<void()>* body_ = nullptr;
  unsigned round_ = 0;
  size_t done_ = 0;
  bool quit_ = false;
};

inline std::mutex& LaunchMutex() {
  static std::mutex m;
  return m;
}

template <typename T>
T* DynamicShared() {
  return reinterpret_cast<T*>(tls.ctx->dynamic.data());
}

// How many blocks of a launch run at once (LP_EMU_CONCURRENT_BLOCKS, default 2, 1 to 8).
inline unsigned ConcurrentBlocks() {
  static const unsigned n = [] {
    const char* v = std::getenv("LP_EMU_CONCURRENT_BLOCKS");
    const long k = v ? std::strtol(v, nullptr, 10) : 2;
    return static_cast<unsigned>(k < 1 ? 1 : k > 8 ? 8 : k);
  }();
  return n;
}

// Runs one launch now: its blocks in an order shuffled by a seed (the launch's count, so a run
// repeats), dealt to several block slots that run at the same time, each with its own threads,
// barrier and shared memory. Slot s runs blocks s, s + S, s + 2 S, ... of the shuffled order; the
// slots share nothing but the kernel's global memory, so a race between blocks is a race between
// host threads (ThreadSanitizer reports it in the TSan build).
template <typename... P>
void RunLaunch(void (*kernel)(P...), dim3 grid, dim3 block, size_t shared_bytes, std::tuple<P...>& params) {
  std::lock_guard<std::mutex> lock(LaunchMutex());
  g_grid = grid;
  g_block = block;
  g_dynamic_bytes = shared_bytes;
  const std::function<void()> body = [&] { std::apply(kernel, params); };
  static uint64_t launches = 0;
  const uint64_t blocks = uint64_t{grid.x} * grid.y * grid.z;
  std::vector<uint64_t> order(blocks);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(0x9e3779b97f4a7c15ull ^ ++launches));
  const unsigned slots = static_cast<unsigned>(std::min<uint64_t>(ConcurrentBlocks(), blocks));
  std::vector<std::string> faults(slots);
  const auto run_slot = [&](unsigned s) {
    Workers workers(block.x * block.y * block.z);
    workers.block().dynamic.assign((shared_bytes + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t), std::max_align_t{});
    for (uint64_t i = s; i < blocks; i += slots) {
      const uint64_t b = order[i];
      workers.RunBlock(
          dim3(static_cast<unsigned>(b % grid.x), static_cast<unsigned>(b / grid.x % grid.y), static_cast<unsigned>(b / grid.x / grid.y)),
          body);
      if (!workers.block().barrier.fault_.empty()) {
        faults[s] = workers.block().barrier.fault_;
        return;
      }
    }
  };
  std::vector<std::thread> others;
  for (unsigned s = 1; s < slots; ++s) others.emplace_back(run_slot, s);
  run_slot(0);
  for (auto& t : others) t.join();
  for (const std::string& f : faults) {
    if (f.empty()) continue;
    // an error of the work, not of the launch: it shows at the next synchronisation
    FaultMessage() = f;
    t_sticky = cudaErrorLaunchFailure;
    return;
  }
}

// kernel<<<grid, block, shared_bytes, stream>>>(args...): a bad configuration is refused at the
// call; the launch is queued on the stream and runs at its next synchronisation.
template <typename... P, typename... A>
cudaError_t Launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t, A&&... args) {
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535 ||
      shared_bytes > 48 * 1024) {
    g_last_error = cudaErrorInvalidConfiguration;
    return g_last_error;
  }
  auto params = std::make_shared<std::tuple<P...>>(std::forward<A>(args)...);
  Enqueue([=] { RunLaunch(kernel, grid, block, shared_bytes, *params); });
  return cudaSuccess;
}

// A launch of a kernel that also declares static __shared__ arrays of static_bytes: a GPU refuses
// static plus dynamic above 48 KiB unless the kernel opted in (not emulated: no kernel here does).
template <typename... P, typename... A>
cudaError_t LaunchWithStatic(void (*kernel)(P...), dim3 grid, dim3 block, size_t static_bytes, size_t shared_bytes, cudaStream_t stream,
                             A&&... args) {
  if (static_bytes + shared_bytes > 48 * 1024) {
    g_last_error = cudaErrorInvalidValue;  // what the runtime returns for too much shared memory
    return g_last_error;
  }
  return Launch(kernel, grid, block, shared_bytes, stream, std::forward<A>(args)...);
}

}  // namespace lp_emu

inline cudaError_t cudaGetLastError() {
  const cudaError_t e = lp_emu::g_last_error;
  lp_emu::g_last_error = cudaSuccess;
  return e;
}

#define threadIdx (lp_emu::tls.thread)
#define blockIdx (lp_emu::tls.block)
#define blockDim (lp_emu::g_block)
#define gridDim (lp_emu::g_grid)
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __syncthreads() lp_emu::tls.ctx->barrier.Wait(__func__, __FILE__, __LINE__)
// atomics: one lock for all of them (the threads of a block are real threads)
inline std::mutex& AtomicMutex() {
  static std::mutex m;
  return m;
}
inline unsigned long long atomicMin(unsigned long long* address, unsigned long long v) {
  std::lock_guard<std::mutex> lock(AtomicMutex());
  const unsigned long long old = *address;
  if (v < old) *address = v;
  return old;
}
// Warp shuffles: every live thread of the block calls them at the same site (a whole block's warps
// in step; a warp that has left the kernel no longer takes part), exchanging through one buffer
// between two barriers. Lane l of a warp reads lane l ^ lane_mask of the same warp.
namespace lp_emu {
inline unsigned FlatThread() { return tls.thread.x + g_block.x * (tls.thread.y + g_block.y * tls.thread.z); }
}  // namespace lp_emu
template <typename T>
T __shfl_xor_sync(unsigned, T v, int lane_mask) {
  static_assert(sizeof(T) <= sizeof(uint64_t), "a shuffled value fits 8 bytes");
  const unsigned t = lp_emu::FlatThread();
  lp_emu::Block& block = *lp_emu::tls.ctx;
  std::memcpy(&block.exchange[t], &v, sizeof v);
  block.barrier.Wait("__shfl_xor_sync", __FILE__, __LINE__);
  T other;
  std::memcpy(&other, &block.exchange[(t & ~31u) | ((t & 31u) ^ static_cast<unsigned>(lane_mask & 31))], sizeof other);
  block.barrier.Wait("__shfl_xor_sync", __FILE__, __LINE__);
  return other;
}
inline float __int_as_float(int v) { return lp::F32FromBits(static_cast<uint32_t>(v)); }
inline int __float_as_int(float f) { return static_cast<int>(lp::F32Bits(f)); }

// The special-function unit's approximate ex2 and lg2 (ex2.approx.ftz.f32, lg2.approx.ftz.f32),
// modelled with a large error rather than exactly: a relative error of 2^-21 (lg2 near 1: an
// absolute one), above the errors of about 2^-22 the PTX ISA gives for them (to be confirmed on a
// GPU: gpu-check runs the same cases there), its sign a function of the input's bits, and
// subnormal inputs and results flushed to zero. The op cases then check the kernels'
// tolerance with that error in every power.
namespace lp_emu {
inline float FlushSubnormal(float v) { return std::fpclassify(v) == FP_SUBNORMAL ? std::copysign(0.0f, v) : v; }
inline double ErrorSign(float x) { return (static_cast<uint32_t>(__float_as_int(x)) * 2654435761u) >> 31 ? 1.0 : -1.0; }
inline float ApproxExp2(float x) {
  x = FlushSubnormal(x);
  if (x != x) return x;
  return FlushSubnormal(static_cast<float>(std::exp2(static_cast<double>(x)) * (1.0 + ErrorSign(x) * 0x1p-21)));
}
inline float ApproxLog2(float x) {
  x = FlushSubnormal(x);
  if (x != x || x <= 0.0f || std::isinf(x)) return x == 0.0f ? -INFINITY : x < 0.0f ? NAN : x;
  const double l = std::log2(static_cast<double>(x));
  return static_cast<float>(x >= 0.5f && x <= 2.0f ? l + ErrorSign(x) * 0x1p-21 : l * (1.0 + ErrorSign(x) * 0x1p-21));
}
}  // namespace lp_emu

// float16 (cuda_fp16.h's __half): the bits, converted exactly to float and back rounding to
// nearest even, as the hardware does.
struct __half {
  uint16_t bits;
};
inline float __half2float(__half h) { return lp::HalfValue(h.bits); }
inline __half __float2half_rn(float f) { return __half{lp::HalfBits(f)}; }

// Warp matrix operations (nvcuda::wmma), TF32 only (m16n16k8), enough for the kernels here. On a GPU
// a fragment's elements are spread over the warp's 32 lanes in a layout the API leaves unspecified;
// code may only load, store, fill, multiply, and map a function over x[] element by element. The
// emulation gives every lane the whole tile (a layout that code of that kind cannot tell apart),
// and a store writes each element from one lane only (element e from lane e % 32), as a warp does.
// __float_to_tf32 rounds to 10 mantissa bits, to nearest with ties away from zero (cvt.rna.tf32.f32);
// mma multiplies the TF32 values exactly and accumulates in float.
namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
namespace precision {
struct tf32 {};
}  // namespace precision
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment;
template <typename Layout>
struct fragment<matrix_a, 16, 16, 8, precision::tf32, Layout> {
  static constexpr int num_elements = 16 * 8;  // [m][k]
  float x[num_elements];
};
template <typename Layout>
struct fragment<matrix_b, 16, 16, 8, precision::tf32, Layout> {
  static constexpr int num_elements = 8 * 16;  // [k][n]
  float x[num_elements];
};
template <>
struct fragment<accumulator, 16, 16, 8, float, void> {
  static constexpr int num_elements = 16 * 16;  // [m][n]
  float x[num_elements];
};

inline float __float_to_tf32(float v) {
  if (!std::isfinite(v)) return v;
  const uint32_t rounded = (static_cast<uint32_t>(__float_as_int(v)) + 0x1000u) & 0xFFFFE000u;
  return __int_as_float(static_cast<int>(rounded));
}

inline void fill_fragment(fragment<accumulator, 16, 16, 8, float>& f, float v) {
  for (float& e : f.x) e = v;
}
inline void load_matrix_sync(fragment<matrix_a, 16, 16, 8, precision::tf32, row_major>& f, const float* p, unsigned ldm) {
  for (int m = 0; m < 16; ++m)
    for (int k = 0; k < 8; ++k) f.x[m * 8 + k] = p[m * ldm + k];
}
inline void load_matrix_sync(fragment<matrix_b, 16, 16, 8, precision::tf32, col_major>& f, const float* p, unsigned ldm) {
  for (int k = 0; k < 8; ++k)
    for (int n = 0; n < 16; ++n) f.x[k * 16 + n] = p[n * ldm + k];
}
template <typename LA, typename LB>
void mma_sync(fragment<accumulator, 16, 16, 8, float>& d, const fragment<matrix_a, 16, 16, 8, precision::tf32, LA>& a,
              const fragment<matrix_b, 16, 16, 8, precision::tf32, LB>& b, const fragment<accumulator, 16, 16, 8, float>& c) {
  float out[16 * 16];
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 16; ++n) {
      float s = c.x[m * 16 + n];
      for (int k = 0; k < 8; ++k) s = std::fma(a.x[m * 8 + k], b.x[k * 16 + n], s);
      out[m * 16 + n] = s;
    }
  std::memcpy(d.x, out, sizeof out);
}
inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 8, float>& f, unsigned ldm, layout_t layout) {
  const unsigned lane = lp_emu::FlatThread() % 32;
  for (unsigned e = lane; e < 16 * 16; e += 32) {
    const unsigned m = e / 16, n = e % 16;
    p[layout == mem_row_major ? m * ldm + n : n * ldm + m] = f.x[e];
  }
}
}  // namespace wmma
}  // namespace nvcuda
