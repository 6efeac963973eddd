// Device code shared by the .cu files: magnitudes, the special-function unit's one-instruction
// ex2 / lg2, 2^x on the FMA pipe, and asynchronous copies from global to shared memory. Included by
// .cu files only (host code never sees it).
#pragma once

#include "cuda_compat.h"
#if !defined(LP_CUDA_EMULATION)
#include <cuda_fp16.h>
#include <mma.h>
#endif

namespace lp {
namespace Cuda {

// a(x) of ops.md: |x| or x (mode), floored at eps; NaN stays NaN
__device__ __forceinline__ float Magnitude(float v, int abs_mode, float eps) {
  const float a = abs_mode ? fabsf(v) : v;
  return LP_IS_NAN(a) ? a : (a > eps ? a : eps);
}

__host__ __device__ __forceinline__ bool IsInf(float p) { return !(p <= 3.4028235e38f); }

// 2^x in one instruction of the special-function unit (ex2.approx.ftz.f32: a few units in the last
// place, subnormals flushed). exp2f would add a range reduction around the same instruction.
__device__ __forceinline__ float FastExp2(float x) {
#if defined(LP_CUDA_EMULATION)
  return lp_emu::ApproxExp2(x);
#else
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
#endif
}

// log2(x) in one instruction (lg2.approx.ftz.f32). Its error is absolute near x = 1, so a power
// 2^(p log2 r) gains a relative error of about p ln2 2^-22: within the kernels' rtol for p <= 64.
__device__ __forceinline__ float FastLog2(float x) {
#if defined(LP_CUDA_EMULATION)
  return lp_emu::ApproxLog2(x);
#else
  float y;
  asm("lg2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
#endif
}

// log2(r) for r > 0 in one lg2, a subnormal r (which lg2.approx.ftz would flush to 0) scaled by
// 2^32 first, so that a tiny ratio keeps its weight where p < 1 makes it count
__device__ __forceinline__ float Log2Ratio(float r) {
  const bool tiny = r < 1.17549435e-38f;
  return FastLog2(tiny ? r * 4294967296.0f : r) - (tiny ? 32.0f : 0.0f);
}

// r^p for a ratio r in [0, 1] (NaN stays NaN): 2^(p log2 r) in two instructions of the
// special-function unit. A power below 2^-126 is flushed to 0: callers scale so that the largest
// term is 1 (or redo a sum that came out below kUnderflow).
__device__ __forceinline__ float PowRatioFast(float r, float p) { return r > 0.0f || LP_IS_NAN(r) ? FastExp2(p * Log2Ratio(r)) : 0.0f; }

// 2^x for x <= 0 on the FMA pipe, to take a share of the exponentials off the special-function
// unit (a quarter of the FMA pipe's rate). x = j + f with j = rint(x) by the 1.5 * 2^23 rounding
// trick and f in [-1/2, 1/2]; 2^f by a degree-4 polynomial (minimax for the relative error, worst
// case 2.7e-6: test/native/device-math.cc sweeps it); 2^j built in the exponent bits. 9 FMA-pipe
// operations and 2 integer ones. x below -126 (and NaN) gives 0: callers handle NaN themselves.
__device__ __forceinline__ float Exp2Fma(float x) {
  if (!(x >= -126.0f)) return 0.0f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: x + kRound holds rint(x) in its low bits
  const float t = x + kRound;
  const float f = x - (t - kRound);
  float q = 9.570101276040077e-3f;
  q = q * f + 5.591786280274391e-2f;
  q = q * f + 2.40247443318367e-1f;
  q = q * f + 6.931217908859253e-1f;
  q = q * f + 9.999992847442627e-1f;
  // the bits of t are those of kRound plus j: shifted by 23 only j remains, in the exponent field
  return q * __int_as_float(static_cast<int>((static_cast<unsigned>(__float_as_int(t)) << 23) + (127u << 23)));
}

// Asynchronous copies of 4 bytes from global to shared memory (cp.async, sm_80 and later): the copy
// needs no register and overlaps the arithmetic on the other buffer. CopyAsync4 writes *src, or 0
// when !valid (nothing is read then: src-size 0); CommitAsync closes a group of copies;
// WaitAsync<N> waits until at most the N newest groups are still in flight (a barrier must follow
// before other threads read what arrived). Before sm_80: plain loads and stores.
__device__ __forceinline__ void CopyAsync4(float* dst, const float* src, bool valid) {
#if defined(LP_CUDA_EMULATION)
  lp_emu::CopyAsync4(dst, src, valid);
#elif __CUDA_ARCH__ >= 800
  const unsigned to = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(to), "l"(src), "r"(valid ? 4 : 0));
#else
  *dst = valid ? *src : 0.0f;
#endif
}
__device__ __forceinline__ void CommitAsync() {
#if defined(LP_CUDA_EMULATION)
  lp_emu::CommitAsync();
#elif __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}
template <int N>
__device__ __forceinline__ void WaitAsync() {
#if defined(LP_CUDA_EMULATION)
  lp_emu::WaitAsync(N);
#elif __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

}  // namespace Cuda
}  // namespace lp
