// LpNorm device code (ops.md). One finite p for every unit, on a GPU with tensor cores (sm_80 and
// later): powered rows once per run, then a 3xTF32 GEMM (LpNormTensorKernel, below). Otherwise
// tiled like a GEMM on the FMA pipe: a block of 16 x 16 threads computes 64 rows x 64
// units, 4 x 4 per thread (rows and units strided by 16) in registers. It first finds each row's
// largest magnitude (and whether it holds a NaN), then walks K in slices of kSlice: the X slice is
// staged in shared memory transformed once per element (shared finite p: (a / rowmax)^p, so the
// inner loop is a multiply-add; per-unit p: log2(a / rowmax), the inner loop takes 2^(p_j L) where
// w > 0; p = +inf: the ratio, the inner loop keeps the maximum where w > 0), the W slice beside it
// (both read along K, coalesced); each step of the inner loop reads 4 + 4 values for 16 pairs.
// Scaling by the row maximum (and by sum_eps^(1/p) when that is larger) keeps a^p finite; a unit
// whose weighted inputs all lie far below it (its sum underflowed) is redone from global memory with
// its own maximum.
#include <algorithm>

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

// The output of a finite-p unit from its sum of scaled powers (sum w (a / base)^p, base the row's
// largest magnitude), the weights' sum z (mean), and whether the row holds a NaN.
__device__ float FiniteRoot(const LpNormArgs& a, int64_t r, int64_t j, float p, float sum, float z, float base, int nan) {
  if (nan) return __int_as_float(0x7fc00000);  // 0 x NaN is NaN: a NaN reaches every finite-p unit of its row
  if (sum < kUnderflow && base > 0.0f) sum = Redo(a, r, j, p, &base);
  if (a.mean) sum /= z;
  float scale = base;
  if (a.sum_eps > 0.0f) scale = fmaxf(base, exp2f(log2f(a.sum_eps) / p));
  if (scale <= 0.0f) return 0.0f;
  float total = PowRatio(base / scale, p) * sum;
  if (a.sum_eps > 0.0f) total += a.sum_eps * exp2f(-p * log2f(scale));
  return total > 0.0f ? scale * FastExp2(FastLog2(total) / p) : 0.0f;
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
          } else {
            y = FiniteRoot(a, r, j, p, acc[i][c], z[c], row_max[i], row_nan[i]);
          }
          a.y[r * a.m + j] = y;
        }
      }
    }
  }
}
// Shared finite p on tensor cores (sm_80 and later), in two launches. First each row's largest
// magnitude, whether it holds a NaN, and its powered ratios (a / max)^p, once for every unit tile
// (a warp per row); with mean, each unit's weight sum. Then the GEMM of the powered rows with W^T:
// 64 x 64 tiles, 8 warps of 16 x 32, K slices of 16 double-buffered by cp.async, each product in
// 3xTF32 (a = big + small, each TF32; big x big + big x small + small x big, the small x small
// term, below 2^-22 relative, dropped), float accumulation: float32 accuracy at tensor-core speed.
__global__ void LpNormPowerRowsKernel(LpNormArgs a, float* powered, float* rmax, int* rnan) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t{gridDim.x} * (blockDim.x / 32);
  for (int64_t r = int64_t{blockIdx.x} * (blockDim.x / 32) + threadIdx.x / 32; r < a.rows; r += warps) {
    const float* x = a.x + r * a.k;
    float m = 0.0f;
    int nan = 0;
    for (int64_t k = lane; k < a.k; k += 32) {
      const float v = Magnitude(x[k], a.abs_mode, a.eps);
      if (LP_IS_NAN(v))
        nan = 1;
      else
        m = fmaxf(m, v);
    }
    for (int lanes = 16; lanes > 0; lanes /= 2) {
      m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, lanes));
      nan |= __shfl_xor_sync(0xffffffffu, nan, lanes);
    }
    const float inv = m > 0.0f ? 1.0f / m : 0.0f;
    for (int64_t k = lane; k < a.k; k += 32)
      powered[r * a.k + k] = PowRatioFast(fminf(Magnitude(x[k], a.abs_mode, a.eps) * inv, 1.0f), a.p_attr);
    if (lane == 0) {
      rmax[r] = m;
      rnan[r] = nan;
    }
  }
}

// Each unit's weight sum (mean = 1), a warp per unit.
__global__ void LpNormWeightSumsKernel(LpNormArgs a, float* zsum) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t{gridDim.x} * (blockDim.x / 32);
  for (int64_t j = int64_t{blockIdx.x} * (blockDim.x / 32) + threadIdx.x / 32; j < a.m; j += warps) {
    float z = 0.0f;
    for (int64_t k = lane; k < a.k; k += 32) z += a.w[j * a.k + k];
    for (int lanes = 16; lanes > 0; lanes /= 2) z += __shfl_xor_sync(0xffffffffu, z, lanes);
    if (lane == 0) zsum[j] = z;
  }
}

#if defined(LP_CUDA_EMULATION) || __CUDA_ARCH__ >= 800
// a = big + small, both TF32, element by element (any fragment layout)
template <typename Fragment>
__device__ __forceinline__ void SplitTf32(Fragment& big, Fragment& small) {
  for (int e = 0; e < big.num_elements; ++e) {
    const float v = big.x[e];
    big.x[e] = nvcuda::wmma::__float_to_tf32(v);
    small.x[e] = nvcuda::wmma::__float_to_tf32(v - big.x[e]);
  }
}
#endif

__global__ void LpNormTensorKernel(LpNormArgs a, const float* powered, const float* rmax, const int* rnan, const float* zsum) {
#if defined(LP_CUDA_EMULATION) || __CUDA_ARCH__ >= 800
  namespace wmma = nvcuda::wmma;
  constexpr int kLd = kSlice + 4, kLdC = kTile + 4;  // padded rows (multiples of 4 floats, as wmma wants)
  LP_SHARED(float, xs, [2][kTile][kLd]);             // powered rows x K slice (A, row-major)
  LP_SHARED(float, ws, [2][kTile][kLd]);             // units x K slice (B = W^T, column-major)
  LP_SHARED(float, cs, [kTile][kLdC]);               // the tile's sums, for the roots
  const int tc = threadIdx.x, tr = threadIdx.y, flat = tr * kSide + tc;
  const int warp = flat / 32, wr = warp % 4, wc = warp / 4;  // warp's 16 rows and 32 units
  const int64_t slices = (a.k + kSlice - 1) / kSlice;
  for (int64_t row0 = int64_t{blockIdx.y} * kTile; row0 < a.rows; row0 += int64_t{gridDim.y} * kTile) {
    for (int64_t unit0 = int64_t{blockIdx.x} * kTile; unit0 < a.m; unit0 += int64_t{gridDim.x} * kTile) {
      const auto stage = [&](int64_t slice, int buf) {
        for (int e = flat; e < kTile * kSlice; e += kSide * kSide) {
          const int rr = e / kSlice, kk = e % kSlice;
          const int64_t k = slice * kSlice + kk, r = row0 + rr, u = unit0 + rr;
          const bool rin = r < a.rows && k < a.k, uin = u < a.m && k < a.k;  // else 0: adds nothing
          CopyAsync4(&xs[buf][rr][kk], rin ? powered + r * a.k + k : powered, rin);
          CopyAsync4(&ws[buf][rr][kk], uin ? a.w + u * a.k + k : a.w, uin);
        }
        CommitAsync();
      };
      wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[2];
      wmma::fill_fragment(acc[0], 0.0f);
      wmma::fill_fragment(acc[1], 0.0f);
      stage(0, 0);
      for (int64_t slice = 0; slice < slices; ++slice) {
        const int buf = static_cast<int>(slice & 1);
        if (slice + 1 < slices) {
          stage(slice + 1, buf ^ 1);  // its buffer was last read before the barrier that ended slice - 1
          WaitAsync<1>();
        } else {
          WaitAsync<0>();
        }
        __syncthreads();
        for (int ks = 0; ks < kSlice; ks += 8) {
          wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> a_big, a_small;
          wmma::load_matrix_sync(a_big, &xs[buf][16 * wr][ks], kLd);
          SplitTf32(a_big, a_small);
          for (int t = 0; t < 2; ++t) {
            wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> b_big, b_small;
            wmma::load_matrix_sync(b_big, &ws[buf][32 * wc + 16 * t][ks], kLd);
            SplitTf32(b_big, b_small);
            wmma::mma_sync(acc[t], a_small, b_big, acc[t]);
            wmma::mma_sync(acc[t], a_big, b_small, acc[t]);
            wmma::mma_sync(acc[t], a_big, b_big, acc[t]);
          }
        }
        __syncthreads();  // every warp is done with this buffer before it is staged again
      }
      for (int t = 0; t < 2; ++t) wmma::store_matrix_sync(&cs[16 * wr][32 * wc + 16 * t], acc[t], kLdC, wmma::mem_row_major);
      __syncthreads();
      for (int i = 0; i < kMicro; ++i) {
        const int64_t r = row0 + tr + i * kSide;
        if (r >= a.rows) break;
        for (int c = 0; c < kMicro; ++c) {
          const int64_t j = unit0 + tc + c * kSide;
          if (j >= a.m) break;
          a.y[r * a.m + j] = FiniteRoot(a, r, j, a.p_attr, cs[tr + i * kSide][tc + c * kSide], a.mean ? zsum[j] : 1.0f, rmax[r], rnan[r]);
        }
      }
      __syncthreads();  // cs is read before the next tile stores into it
    }
  }
#else
  (void)a, (void)powered, (void)rmax, (void)rnan, (void)zsum;
#endif
}

// Whether this device has TF32 tensor cores (sm_80 and later; the emulation: lp_emu::ComputeCapability).
bool TensorCores() {
#if defined(LP_CUDA_EMULATION)
  return lp_emu::ComputeCapability() >= 80;
#else
  int device = 0, major = 0;
  if (cudaGetDevice(&device) != cudaSuccess || cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess)
    return false;
  return major >= 8;
#endif
}

bool OnTensorCores(const LpNormArgs& a) { return a.np == 0 && !IsInf(a.p_attr) && TensorCores(); }

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

int64_t LpNormWorkBytes(const LpNormArgs& a) {
  if (!OnTensorCores(a)) return 0;
  return static_cast<int64_t>(sizeof(float)) * (a.rows * a.k + 2 * a.rows + a.m);
}

cudaError_t LaunchLpNorm(const LpNormArgs& a, void* work, cudaStream_t stream) {
  if (a.rows * a.m == 0) return cudaSuccess;
  const int64_t unit_tiles = (a.m + kTile - 1) / kTile, row_tiles = (a.rows + kTile - 1) / kTile;
  const dim3 grid(static_cast<unsigned>(unit_tiles < kMaxGrid ? unit_tiles : kMaxGrid),
                  static_cast<unsigned>(row_tiles < kMaxGrid ? row_tiles : kMaxGrid));
  if (OnTensorCores(a)) {
    // work: the powered rows, then each row's maximum and NaN flag, then the weight sums
    float* powered = static_cast<float*>(work);
    float* rmax = powered + a.rows * a.k;
    int* rnan = reinterpret_cast<int*>(rmax + a.rows);
    float* zsum = reinterpret_cast<float*>(rnan + a.rows);
    const auto warps_grid = [](int64_t n) { return dim3(static_cast<unsigned>(std::min<int64_t>((n + 7) / 8, 4096))); };
    cudaError_t e = LP_LAUNCH(LpNormPowerRowsKernel, warps_grid(a.rows), dim3(256), 0, stream, a, powered, rmax, rnan);
    if (e == cudaSuccess && a.mean) e = LP_LAUNCH(LpNormWeightSumsKernel, warps_grid(a.m), dim3(256), 0, stream, a, zsum);
    if (e == cudaSuccess)
      e = LP_LAUNCH(LpNormTensorKernel, grid, dim3(kSide, kSide), 0, stream, a, static_cast<const float*>(powered),
                    static_cast<const float*>(rmax), static_cast<const int*>(rnan), static_cast<const float*>(zsum));
    return e;
  }
  // a P input lives on the device: any P of more than zero values takes the per-unit kernel (the
  // host turns a P of one value it knows into the attribute, LpNormArgsOf)
  void (*kernel)(LpNormArgs) = a.np > 0          ? (a.p_finite ? LpNormKernel<3> : LpNormKernel<1>)
                               : IsInf(a.p_attr) ? LpNormKernel<2>
                                                 : LpNormKernel<0>;
  return LP_LAUNCH(kernel, grid, dim3(kSide, kSide), 0, stream, a);
}

}  // namespace Cuda
}  // namespace lp
