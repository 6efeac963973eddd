// What the CUDA sources of kernels/cuda see of CUDA: the real runtime under nvcc (and in the host
// files built against it), or the CPU emulation of the execution model (emulation/cuda_emulation.h)
// when the same sources are compiled by g++ with LP_CUDA_EMULATION for the tests.
#pragma once

#if defined(LP_CUDA_EMULATION)
#include "emulation/cuda_emulation.h"
// kernel<<<grid, block, shared, stream>>>(args...)
#define LP_LAUNCH(kernel, grid, block, shared, stream, ...) lp_emu::Launch(kernel, grid, block, shared, stream, __VA_ARGS__)
// a kernel with both static __shared__ arrays (static_bytes, as declared) and dynamic shared memory:
// a GPU refuses static + dynamic above 48 KiB without an opt-in, and so does the emulation
#define LP_LAUNCH_WITH_STATIC(kernel, grid, block, static_bytes, shared, stream, ...) \
  lp_emu::LaunchWithStatic(kernel, grid, block, static_bytes, shared, stream, __VA_ARGS__)
#define LP_DYNAMIC_SHARED(T, name) T* name = lp_emu::DynamicShared<T>()
// a static __shared__ array: on the emulation, the running block's own copy (poisoned at its start)
#define LP_SHARED(T, name, dims)                       \
  static const lp_emu::SharedSlot<T dims> name##_slot; \
  T(&name) dims = name##_slot.Get()
#define LP_UNROLL
#define LP_NOINLINE
// a store of one value that several threads may make at once (a flag): a relaxed atomic here, where
// plain stores from several host threads would be a data race (TSan), a plain store on a GPU
#define LP_STORE_FLAG(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#else
#include <cuda_runtime.h>
#define LP_LAUNCH(kernel, grid, block, shared, stream, ...) (kernel<<<grid, block, shared, stream>>>(__VA_ARGS__), cudaGetLastError())
#define LP_LAUNCH_WITH_STATIC(kernel, grid, block, static_bytes, shared, stream, ...) \
  LP_LAUNCH(kernel, grid, block, shared, stream, __VA_ARGS__)
// 32-byte aligned, as float4 reads and wmma loads of it need
#define LP_SHARED(T, name, dims) __shared__ __align__(32) T name dims
#define LP_DYNAMIC_SHARED(T, name)              \
  extern __shared__ float4 lp_dynamic_shared[]; \
  T* name = reinterpret_cast<T*>(lp_dynamic_shared)
#define LP_UNROLL _Pragma("unroll")
#define LP_NOINLINE __noinline__
#define LP_STORE_FLAG(p, v) (*(p) = (v))
#endif

// NaN without relying on -ffast-math-sensitive library calls
#define LP_IS_NAN(v) ((v) != (v))

// Shared memory a block may use without cudaFuncSetAttribute(cudaFuncAttributeMaxDynamicSharedMemorySize):
// static plus dynamic, on every GPU since sm_30
#define LP_DEFAULT_SHARED_BYTES (48 * 1024)
