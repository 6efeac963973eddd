// LpNorm device code (ops.md), tiled like a GEMM: a block of 16 x 16 threads computes 64 rows x 64
// units, 4 x 4 per thread (rows and units strided by 16) in registers. It first finds each row's
// largest magnitude (and whether it holds a NaN), then walks K in slices of kSlice: the X slice is
// staged in shared memory transformed once per element (shared finite p: (a / rowmax)^p, so the
// inner loop is a multiply-add; per-unit p: log2(a / rowmax), the inner loop takes 2^(p_j L) where
// w > 0; p = +inf: the ratio, the inner loop keeps the maximum where w > 0), the W slice beside it
// (both read along K, coalesced); each step of the inner loop reads 4 + 4 values for 16 pairs.
// Scaling by the row maximum (and by sum_eps^(1/p) when that is larger) keeps a^p finite; a unit
// whose weighted inputs all lie far below it (its sum underflowed) is redone from global memory with
// its own maximum.
#include "device_common.cuh"
#include "lp_norm_impl.cuh"

namespace lp {
namespace Cuda {

namespace {
constexpr int kSide = 16;              // threads along rows (threadIdx.y) and along units (threadIdx.x)
constexpr int kMicro = 4;              // rows and units per thread
constexpr int kTile = kSide * kMicro;  // rows and units per block
constexpr int kSlice = 16;             // K per staged slice
constexpr float kZeroLog = -1.0e30f;   // log2 of a zero ratio: 2^(p * kZeroLog) is 0
// a unit's scaled sum below this is redone with its own maximum: its terms may lie near the
// flush-to-zero of the fast ex2 (2^-126), where each lost term would count
constexpr float kUnderflow = 1.0e-20f;
constexpr float kNone = -3.4028235e38f;  // no weighted input yet (below every ratio and its log2)
constexpr int64_t kMaxGrid = 65535;

// r^p for r in [0, 1], to the last bit (the rare redo of a unit)
__device__ __forceinline__ float PowRatio(float r, float p) { return r > 0.0f ? exp2f(p * log2f(r)) : 0.0f; }

// One unit of one row again, scaled by its own largest weighted magnitude: sum w (a / base)^p and base.
__device__ LP_NOINLINE float Redo(const LpNormArgs& a, int64_t r, int64_t j, float p, float* base_out) {
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

// kKind 0: one finite p for every unit; 1: a p per unit (finite or +inf); 2: p = +inf for every unit;
// 3: a finite p per unit, whose inner loop takes w 2^(p L) with no test (w = 0 adds 0: L <= 0, so
// 2^(p L) <= 1; a NaN row is NaN for finite p anyway).
template <int kKind>
__global__ void LpNormKernel(LpNormArgs a) {
  constexpr bool kPerUnit = kKind == 1 || kKind == 3;
  LP_SHARED(float, xs, [kSlice][kTile + 1]);
  LP_SHARED(float, ws, [kSlice][kTile + 1]);
  LP_SHARED(float, red_max, [kTile][kSide]);
  LP_SHARED(int, red_nan, [kTile][kSide]);
  const int tc = threadIdx.x, tr = threadIdx.y, flat = tr * kSide + tc;
  const float p0 = a.np == 0 ? a.p_attr : a.p[0];
  for (int64_t row0 = int64_t{blockIdx.y} * kTile; row0 < a.rows; row0 += int64_t{gridDim.y} * kTile) {
    // 1. the largest magnitude of each row, and whether it holds a NaN
    float row_max[kMicro];
    int row_nan[kMicro];
    LP_UNROLL
    for (int i = 0; i < kMicro; ++i) {
      const int64_t r = row0 + tr + i * kSide;
      float mx = 0.0f;
      int nan = 0;
      if (r < a.rows) {
        for (int64_t q = tc; q < a.k; q += kSide) {
          const float v = Magnitude(a.x[r * a.k + q], a.abs_mode, a.eps);
          if (LP_IS_NAN(v))
            nan = 1;
          else
            mx = fmaxf(mx, v);
        }
      }
      red_max[tr + i * kSide][tc] = mx;
      red_nan[tr + i * kSide][tc] = nan;
    }
    __syncthreads();
    LP_UNROLL
    for (int i = 0; i < kMicro; ++i) {
      row_max[i] = 0.0f;
      row_nan[i] = 0;
      for (int t = 0; t < kSide; ++t) {
        row_max[i] = fmaxf(row_max[i], red_max[tr + i * kSide][t]);
        row_nan[i] |= red_nan[tr + i * kSide][t];
      }
    }
    // the stager's rows: thread flat stages row (flat / kSlice) + 16 s of the slice, at K offset flat % kSlice
    const int sk = flat % kSlice, sr = flat / kSlice;
    constexpr int kStageRows = kSide * kSide / kSlice;  // rows staged per pass
    float stage_inv[kTile / kStageRows];
    LP_UNROLL
    for (int s = 0; s < kTile / kStageRows; ++s) {
      // the row maxima of other threads' rows: from red_max again (still intact until the next barrier)
      const int lr = sr + s * kStageRows;
      float mx = 0.0f;
      for (int t = 0; t < kSide; ++t) mx = fmaxf(mx, red_max[lr][t]);
      stage_inv[s] = mx > 0.0f ? 1.0f / mx : 0.0f;
    }
    __syncthreads();
    for (int64_t unit0 = int64_t{blockIdx.x} * kTile; unit0 < a.m; unit0 += int64_t{gridDim.x} * kTile) {
      // acc: the sum for a finite p; for p = +inf the running maximum (kNone: none yet; NaN stays)
      float pj[kMicro], z[kMicro], acc[kMicro][kMicro];
      LP_UNROLL
      for (int c = 0; c < kMicro; ++c) {
        const int64_t j = unit0 + tc + c * kSide;
        pj[c] = kPerUnit && j < a.m ? a.p[a.np == 1 ? 0 : j] : p0;
        z[c] = 0.0f;
        LP_UNROLL
        for (int i = 0; i < kMicro; ++i) acc[i][c] = kKind == 2 || IsInf(pj[c]) ? kNone : 0.0f;
      }
      // 2. K in slices through shared memory
      for (int64_t k0 = 0; k0 < a.k; k0 += kSlice) {
        const int64_t kx = k0 + sk;
        LP_UNROLL
        for (int s = 0; s < kTile / kStageRows; ++s) {
          const int lr = sr + s * kStageRows;
          const int64_t r = row0 + lr, wu = unit0 + lr;
          float v = 0.0f;
          if (r < a.rows && kx < a.k) {
            const float ratio = Magnitude(a.x[r * a.k + kx], a.abs_mode, a.eps) * stage_inv[s];
            if (kKind == 0)
              v = PowRatioFast(fminf(ratio, 1.0f), p0);
            else if (kPerUnit)
              v = ratio > 0.0f || LP_IS_NAN(ratio) ? Log2Ratio(ratio) : kZeroLog;
            else
              v = ratio;
          }
          xs[sk][lr] = v;
          ws[sk][lr] = wu < a.m && kx < a.k ? a.w[wu * a.k + kx] : 0.0f;
        }
        __syncthreads();
        LP_UNROLL
        for (int t = 0; t < kSlice; ++t) {
          float xv[kMicro], wv[kMicro];
          for (int i = 0; i < kMicro; ++i) xv[i] = xs[t][tr + i * kSide];
          for (int c = 0; c < kMicro; ++c) wv[c] = ws[t][tc + c * kSide];
          LP_UNROLL
          for (int c = 0; c < kMicro; ++c) {
            z[c] += wv[c];
            LP_UNROLL
            for (int i = 0; i < kMicro; ++i) {
              if (kKind == 0) {
                acc[i][c] += wv[c] * xv[i];
              } else if (kKind == 3) {
                // 6 of the 16 exponentials on the FMA pipe, 10 on the special-function unit, whose
                // rate is an eighth of the FMA pipe's: the two pipes then finish together
                const float e = (i * kMicro + c) % 8 < 3 ? Exp2Fma(pj[c] * xv[i]) : FastExp2(pj[c] * xv[i]);
                acc[i][c] += wv[c] * e;
              } else if (wv[c] > 0.0f) {
                if (kKind == 2 || IsInf(pj[c]))
                  acc[i][c] = LP_IS_NAN(acc[i][c]) || xv[i] <= acc[i][c] ? acc[i][c] : xv[i];  // max; a NaN met (in acc or xv) stays
                else
                  acc[i][c] += wv[c] * FastExp2(pj[c] * xv[i]);
              }
            }
          }
        }
        __syncthreads();
      }
      // 3. the roots, rescaled
      LP_UNROLL
      for (int i = 0; i < kMicro; ++i) {
        const int64_t r = row0 + tr + i * kSide;
        if (r >= a.rows) break;
        for (int c = 0; c < kMicro; ++c) {
          const int64_t j = unit0 + tc + c * kSide;
          if (j >= a.m) break;
          const float p = pj[c];
          float y;
          if (kKind == 2 || IsInf(p)) {
            const float v = acc[i][c];  // the ratio (kKind 2) or its log2 (kKind 1)
            y = LP_IS_NAN(v) ? v : v == kNone ? 0.0f : row_max[i] * (kKind == 2 ? v : FastExp2(v));
          } else if (row_nan[i]) {
            y = __int_as_float(0x7fc00000);  // 0 x NaN is NaN: a NaN reaches every finite-p unit of its row
          } else {
            float sum = acc[i][c], base = row_max[i];
            if (sum < kUnderflow && base > 0.0f) sum = Redo(a, r, j, p, &base);
            if (a.mean) sum /= z[c];
            float scale = base;
            if (a.sum_eps > 0.0f) scale = fmaxf(base, exp2f(log2f(a.sum_eps) / p));
            if (scale <= 0.0f) {
              y = 0.0f;
            } else {
              float total = PowRatio(base / scale, p) * sum;
              if (a.sum_eps > 0.0f) total += a.sum_eps * exp2f(-p * log2f(scale));
              y = total > 0.0f ? scale * FastExp2(FastLog2(total) / p) : 0.0f;
            }
          }
          a.y[r * a.m + j] = y;
        }
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
    if (nonzero && v != 0.0f) LP_STORE_FLAG(&nonzero[e / k], 1);
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
  const int64_t unit_tiles = (a.m + kTile - 1) / kTile, row_tiles = (a.rows + kTile - 1) / kTile;
  const dim3 grid(static_cast<unsigned>(unit_tiles < kMaxGrid ? unit_tiles : kMaxGrid),
                  static_cast<unsigned>(row_tiles < kMaxGrid ? row_tiles : kMaxGrid));
  // a P input lives on the device: any P of more than zero values takes the per-unit kernel (the
  // host turns a P of one value it knows into the attribute, LpNormArgsOf)
  void (*kernel)(LpNormArgs) = a.np > 0          ? (a.p_finite ? LpNormKernel<3> : LpNormKernel<1>)
                               : IsInf(a.p_attr) ? LpNormKernel<2>
                                                 : LpNormKernel<0>;
  return LP_LAUNCH(kernel, grid, dim3(kSide, kSide), 0, stream, a);
}

}  // namespace Cuda
}  // namespace lp
