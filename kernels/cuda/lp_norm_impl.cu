// LpNorm device code (ops.md). A block takes one row of X and 256 units: the row's magnitudes are
// staged in shared memory in slices of 2048 (each computed once per block), and each thread walks
// its unit's weights. A unit is scaled by its own largest weighted magnitude (and by
// sum_eps^(1/p) when that is larger), so no term underflows where the result is representable:
// two passes over the row, the maximum first, then sum w (a / m)^p as w 2^(p log2(a / m)).
#include "lp_norm_impl.cuh"

namespace lp {
namespace Cuda {

namespace {
constexpr int kThreads = 256;
constexpr int64_t kSlice = 2048;
constexpr int64_t kMaxGrid = 65535;

__device__ __forceinline__ float Magnitude(float v, int abs_mode, float eps) {
  const float a = abs_mode ? fabsf(v) : v;
  return LP_IS_NAN(a) ? a : (a > eps ? a : eps);
}

__global__ void LpNormKernel(LpNormArgs a) {
  __shared__ float mags[kSlice];
  const float nan = __int_as_float(0x7fc00000);
  for (int64_t r = blockIdx.y; r < a.rows; r += gridDim.y) {
    const float* x = a.x + r * a.k;
    for (int64_t j0 = int64_t{blockIdx.x} * blockDim.x; j0 < a.m; j0 += int64_t{gridDim.x} * blockDim.x) {
      const int64_t j = j0 + threadIdx.x;
      const bool active = j < a.m;
      const float p = !active ? 1.0f : a.np == 0 ? a.p_attr : a.p[a.np == 1 ? 0 : j];
      const bool inf = !(p <= 3.4028235e38f);
      const float* w = a.w + (active ? j : 0) * a.k;
      // pass 1: the largest weighted magnitude, NaN, and the row sum of W
      float m = 0.0f, z = 0.0f;
      bool bad = false;
      for (int64_t i0 = 0; i0 < a.k; i0 += kSlice) {
        const int64_t n = a.k - i0 < kSlice ? a.k - i0 : kSlice;
        __syncthreads();
        for (int64_t i = threadIdx.x; i < n; i += blockDim.x) mags[i] = Magnitude(x[i0 + i], a.abs_mode, a.eps);
        __syncthreads();
        if (!active) continue;
        for (int64_t i = 0; i < n; ++i) {
          const float wi = w[i0 + i], v = mags[i];
          z += wi;
          // 0 x NaN is NaN: a NaN reaches every finite-p unit of its row, a p = +inf unit only through w > 0
          if (LP_IS_NAN(v) && (!inf || wi > 0.0f)) bad = true;
          if (wi > 0.0f && v > m) m = v;
        }
      }
      if (!bad && !inf && a.sum_eps > 0.0f) {
        const float er = exp2f(log2f(a.sum_eps) / p);
        m = er > m ? er : m;
      }
      // pass 2: sum w (a / m)^p. Every thread of the block walks it (its barriers are shared);
      // only the units that need it add.
      const bool sums = active && !bad && !inf && m > 0.0f;
      const float inv_m = m > 0.0f ? 1.0f / m : 0.0f;
      float s = 0.0f;
      for (int64_t i0 = 0; i0 < a.k; i0 += kSlice) {
        const int64_t n = a.k - i0 < kSlice ? a.k - i0 : kSlice;
        __syncthreads();
        for (int64_t i = threadIdx.x; i < n; i += blockDim.x) mags[i] = Magnitude(x[i0 + i], a.abs_mode, a.eps);
        __syncthreads();
        if (!sums) continue;
        for (int64_t i = 0; i < n; ++i) {
          const float wi = w[i0 + i], rr = mags[i] * inv_m;
          if (wi > 0.0f && rr > 0.0f) s += wi * exp2f(p * log2f(rr));
        }
      }
      float y = 0.0f;
      if (bad) {
        y = nan;
      } else if (inf) {
        y = m;
      } else if (m > 0.0f) {
        const float total = s / (a.mean ? z : 1.0f) + (a.sum_eps > 0.0f ? exp2f(log2f(a.sum_eps) - p * log2f(m)) : 0.0f);
        y = total > 0.0f ? m * exp2f(log2f(total) / p) : 0.0f;
      }
      if (active) a.y[r * a.m + j] = y;
    }
  }
}
}  // namespace

cudaError_t LaunchLpNorm(const LpNormArgs& a, cudaStream_t stream) {
  if (a.rows * a.m == 0) return cudaSuccess;
  const int64_t tiles = (a.m + kThreads - 1) / kThreads;
  const dim3 grid(static_cast<unsigned>(tiles < kMaxGrid ? tiles : kMaxGrid), static_cast<unsigned>(a.rows < kMaxGrid ? a.rows : kMaxGrid));
  return LP_LAUNCH(LpNormKernel, grid, dim3(kThreads), 0, stream, a);
}

}  // namespace Cuda
}  // namespace lp
