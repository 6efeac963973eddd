// LpNorm device code (ops.md), tiled like a GEMM: a 16 x 16 block computes 16 rows x 64 units (4 per
// thread, strided by 16). It first finds each row's largest magnitude (and whether it holds a NaN),
// then walks K in 32-wide slices: the X slice is staged in shared memory transformed once per element
// (shared finite p: (a / rowmax)^p, so the inner loop is a multiply-add; per-unit p: log2(a / rowmax),
// the inner loop takes 2^(p_j L) where w > 0; p = +inf: the ratio, the inner loop keeps the maximum
// where w > 0), the W slice beside it (read along K, coalesced). Scaling by the row maximum (and by
// sum_eps^(1/p) when that is larger) keeps a^p finite; a unit whose weighted inputs all lie far
// below it (its sum underflowed) is redone from global memory with its own maximum.
#include "lp_norm_impl.cuh"

namespace lp {
namespace Cuda {

namespace {
constexpr int kRows = 16;      // rows per block (threadIdx.y)
constexpr int kCols = 16;      // thread columns (threadIdx.x)
constexpr int kPerThread = 4;  // units per thread
constexpr int kUnits = kCols * kPerThread;
constexpr int kSlice = 32;            // K per staged slice
constexpr float kZeroLog = -1.0e30f;  // log2 of a zero ratio: 2^(p * kZeroLog) is 0
constexpr float kUnderflow = 1.0e-30f;
constexpr int64_t kMaxGrid = 65535;

__device__ __forceinline__ float Magnitude(float v, int abs_mode, float eps) {
  const float a = abs_mode ? fabsf(v) : v;
  return LP_IS_NAN(a) ? a : (a > eps ? a : eps);
}

// r^p for r in [0, 1]
__device__ __forceinline__ float PowRatio(float r, float p) { return r > 0.0f ? exp2f(p * log2f(r)) : 0.0f; }

__device__ __forceinline__ bool IsInf(float p) { return !(p <= 3.4028235e38f); }

// One unit of one row again, scaled by its own largest weighted magnitude: sum w (a / base)^p and base.
__device__ float Redo(const LpNormArgs& a, int64_t r, int64_t j, float p, float* base_out) {
  const float* x = a.x + r * a.k;
  const float* w = a.w + j * a.k;
  float base = 0.0f;
  for (int64_t i = 0; i < a.k; ++i)
    if (w[i] > 0.0f) base = fmaxf(base, Magnitude(x[i], a.abs_mode, a.eps));
  float s = 0.0f;
  if (base > 0.0f) {
    const float inv = 1.0f / base;
    for (int64_t i = 0; i < a.k; ++i)
      if (w[i] > 0.0f) s += w[i] * PowRatio(Magnitude(x[i], a.abs_mode, a.eps) * inv, p);
  }
  *base_out = base;
  return s;
}

__global__ void LpNormKernel(LpNormArgs a) {
  __shared__ float xs[kRows][kSlice + 1];
  __shared__ float ws[kUnits][kSlice + 1];
  __shared__ float red_max[kRows][kCols];
  __shared__ int red_nan[kRows][kCols];
  const int tc = threadIdx.x, tr = threadIdx.y, flat = tr * kCols + tc;
  const float p0 = a.np == 0 ? a.p_attr : a.p[0];
  // 0 shared finite p, 1 per-unit p, 2 shared p = +inf
  const int kind = a.np > 1 ? 1 : IsInf(p0) ? 2 : 0;
  for (int64_t row0 = int64_t{blockIdx.y} * kRows; row0 < a.rows; row0 += int64_t{gridDim.y} * kRows) {
    const int64_t r = row0 + tr;
    const bool row_ok = r < a.rows;
    // 1. the largest magnitude of each row, and whether it holds a NaN
    float mx = 0.0f;
    int nan = 0;
    if (row_ok) {
      for (int64_t i = tc; i < a.k; i += kCols) {
        const float v = Magnitude(a.x[r * a.k + i], a.abs_mode, a.eps);
        if (LP_IS_NAN(v))
          nan = 1;
        else
          mx = fmaxf(mx, v);
      }
    }
    red_max[tr][tc] = mx;
    red_nan[tr][tc] = nan;
    __syncthreads();
    float row_max = 0.0f;
    int row_nan = 0;
    for (int t = 0; t < kCols; ++t) {
      row_max = fmaxf(row_max, red_max[tr][t]);
      row_nan |= red_nan[tr][t];
    }
    __syncthreads();
    const float inv = row_max > 0.0f ? 1.0f / row_max : 0.0f;
    for (int64_t unit0 = int64_t{blockIdx.x} * kUnits; unit0 < a.m; unit0 += int64_t{gridDim.x} * kUnits) {
      float pj[kPerThread], acc[kPerThread], z[kPerThread], best[kPerThread];
      bool found[kPerThread], bad[kPerThread];
      for (int c = 0; c < kPerThread; ++c) {
        const int64_t j = unit0 + tc + c * kCols;
        pj[c] = kind == 1 && j < a.m ? a.p[j] : p0;
        acc[c] = z[c] = best[c] = 0.0f;
        found[c] = bad[c] = false;
      }
      // 2. K in slices through shared memory
      for (int64_t k0 = 0; k0 < a.k; k0 += kSlice) {
        for (int q = tc; q < kSlice; q += kCols) {
          const int64_t kx = k0 + q;
          float v = 0.0f;
          if (row_ok && kx < a.k) {
            const float ratio = Magnitude(a.x[r * a.k + kx], a.abs_mode, a.eps) * inv;
            if (kind == 0)
              v = PowRatio(fminf(ratio, 1.0f), p0);
            else if (kind == 1)
              v = ratio > 0.0f || LP_IS_NAN(ratio) ? log2f(ratio) : kZeroLog;
            else
              v = ratio;
          }
          xs[tr][q] = v;
        }
        for (int e = flat; e < kUnits * kSlice; e += kRows * kCols) {
          const int64_t wu = unit0 + e / kSlice, kx = k0 + e % kSlice;
          ws[e / kSlice][e % kSlice] = wu < a.m && kx < a.k ? a.w[wu * a.k + kx] : 0.0f;
        }
        __syncthreads();
        for (int t = 0; t < kSlice; ++t) {
          const float v = xs[tr][t];
          for (int c = 0; c < kPerThread; ++c) {
            const float wt = ws[tc + c * kCols][t];
            z[c] += wt;
            if (kind == 0) {
              acc[c] += wt * v;
            } else if (wt > 0.0f) {
              if (kind == 2 || IsInf(pj[c])) {
                if (LP_IS_NAN(v))
                  bad[c] = true;
                else if (!found[c] || v > best[c])
                  best[c] = v, found[c] = true;
              } else {
                acc[c] += wt * exp2f(pj[c] * v);
              }
            }
          }
        }
        __syncthreads();
      }
      if (!row_ok) continue;
      // 3. the roots, rescaled
      for (int c = 0; c < kPerThread; ++c) {
        const int64_t j = unit0 + tc + c * kCols;
        if (j >= a.m) break;
        const float p = pj[c];
        float y;
        if (kind == 2 || IsInf(p)) {
          y = bad[c] ? __int_as_float(0x7fc00000) : !found[c] ? 0.0f : row_max * (kind == 2 ? best[c] : exp2f(best[c]));
        } else if (row_nan) {
          y = __int_as_float(0x7fc00000);  // 0 x NaN is NaN: a NaN reaches every finite-p unit of its row
        } else {
          float s = acc[c], base = row_max;
          if (s < kUnderflow && row_max > 0.0f) s = Redo(a, r, j, p, &base);
          if (a.mean) s /= z[c];
          float scale = base;
          if (a.sum_eps > 0.0f) scale = fmaxf(base, exp2f(log2f(a.sum_eps) / p));
          if (scale <= 0.0f) {
            y = 0.0f;
          } else {
            float total = PowRatio(base / scale, p) * s;
            if (a.sum_eps > 0.0f) total += a.sum_eps * exp2f(-p * log2f(scale));
            y = total > 0.0f ? scale * exp2f(log2f(total) / p) : 0.0f;
          }
        }
        a.y[r * a.m + j] = y;
      }
    }
  }
}
// Every element of W once (grid-stride, coalesced). A bad weight (rare: it is an error) goes to an
// atomic minimum of its index; with mean, each row with a nonzero element gets its flag set (plain
// stores of 1, from every such element). No barriers, no contention on good weights.
__global__ void ScanWeightsKernel(const float* w, int64_t m, int64_t k, LpNormWeightScan* out, int* nonzero) {
  const int64_t total = m * k;
  for (int64_t e = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; e < total; e += int64_t{gridDim.x} * blockDim.x) {
    const float v = w[e];
    if (!(v >= 0.0f)) atomicMin(&out->bad, static_cast<unsigned long long>(e));  // negative or NaN
    if (nonzero && v != 0.0f) nonzero[e / k] = 1;
  }
}

// The first row whose flag stayed 0.
__global__ void FirstZeroRowKernel(int64_t m, const int* nonzero, LpNormWeightScan* out) {
  for (int64_t j = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; j < m; j += int64_t{gridDim.x} * blockDim.x)
    if (!nonzero[j]) atomicMin(&out->zero_row, static_cast<unsigned long long>(j));
}

dim3 ScanGrid(int64_t n) {
  const int64_t blocks = (n + 255) / 256;
  return dim3(static_cast<unsigned>(blocks < 4096 ? (blocks > 0 ? blocks : 1) : 4096));
}
}  // namespace

cudaError_t LaunchScanLpNormWeights(const float* w, int64_t m, int64_t k, LpNormWeightScan* out, int* nonzero, cudaStream_t stream) {
  cudaError_t e = cudaMemsetAsync(out, 0xff, sizeof(LpNormWeightScan), stream);  // kNoIndex
  if (e == cudaSuccess && nonzero && m > 0) e = cudaMemsetAsync(nonzero, 0, sizeof(int) * static_cast<size_t>(m), stream);
  if (e == cudaSuccess && m * k > 0) e = LP_LAUNCH(ScanWeightsKernel, ScanGrid(m * k), dim3(256), 0, stream, w, m, k, out, nonzero);
  if (e == cudaSuccess && nonzero && m > 0) e = LP_LAUNCH(FirstZeroRowKernel, ScanGrid(m), dim3(256), 0, stream, m, nonzero, out);
  return e;
}

cudaError_t LaunchLpNorm(const LpNormArgs& a, cudaStream_t stream) {
  if (a.rows * a.m == 0) return cudaSuccess;
  const int64_t unit_tiles = (a.m + kUnits - 1) / kUnits, row_tiles = (a.rows + kRows - 1) / kRows;
  const dim3 grid(static_cast<unsigned>(unit_tiles < kMaxGrid ? unit_tiles : kMaxGrid),
                  static_cast<unsigned>(row_tiles < kMaxGrid ? row_tiles : kMaxGrid));
  return LP_LAUNCH(LpNormKernel, grid, dim3(kCols, kRows), 0, stream, a);
}

}  // namespace Cuda
}  // namespace lp
