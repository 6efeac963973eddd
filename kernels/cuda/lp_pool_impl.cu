// LpPool device code (ops.md). Windows are scaled so that nothing underflows where the result is
// representable: y = m * (sum (a / m)^p / Z)^(1/p). Z counts the taps inside the input (and the
// padded ones with count_include_pad, as ONNX AveragePool does; never the ceil_mode overhang).
// - Tiled (the usual case): a block takes a tile of outputs of one (n, c) plane, stages the input
//   region those windows read in shared memory (coalesced; padding as 0) and powers each element
//   once, scaled by the region's largest magnitude m; each thread then sums its window's taps from
//   shared memory. A window whose sum falls below kUnderflow (its values lie far below m) is redone
//   from global memory with its own maximum.
// - Direct, one thread per output: when a tile's region does not fit in shared memory.
// - Global: a window over a whole plane of at least a block's size (GeM's global pooling) takes a
//   block per plane and two coalesced block reductions; a smaller plane (GeM on 7x7 or 14x14 maps)
//   takes a warp, 8 planes per block, reduced by warp shuffles with no barrier, its powers by
//   products for p = 1, 2 and 3.
#include "device_common.cuh"
#include "lp_pool_impl.cuh"

namespace lp {
namespace Cuda {

namespace {
constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 65535;
// the tiled kernel's static shared memory (red), and the floats of a tile's input region that fit
// beside it in the 48 KiB a block may have without an opt-in (static plus dynamic)
constexpr size_t kTiledStaticBytes = sizeof(float) * kThreads;
constexpr int64_t kMaxRegion = (LP_DEFAULT_SHARED_BYTES - kTiledStaticBytes) / sizeof(float);
constexpr float kUnderflow = 1.0e-20f;  // a scaled window sum below this is redone (terms near the fast ex2's flush to 0 would count)

// r^p for a ratio r in [0, 1]: products where p is 1, 2 or 3, else 2^(p log2 r)
__device__ __forceinline__ float RatioPow(float r, float p) {
  if (p == 1.0f) return r;
  if (p == 2.0f) return r * r;
  if (p == 3.0f) return r * r * r;
  return PowRatioFast(r, p);
}

__device__ __forceinline__ float PlaneP(const LpPoolArgs& a, int64_t q) {
  return a.np == 0 ? a.p_attr : a.p[a.np == 1 ? 0 : q % a.channels];
}

// Z of the window starting at s (before dilation) on each axis: the taps inside the input, plus the
// padded ones when count_include_pad (the window is a product of per-axis tap sets).
__device__ float WindowCount(const LpPoolArgs& a, const int64_t* s) {
  if (!a.mean) return 1.0f;
  int64_t inside = 1, padded = 1;
  for (int d = 0; d < 3; ++d) {
    int64_t in = 0, pad = 0;
    for (int64_t k = 0; k < a.kernel[d]; ++k) {
      const int64_t i = s[d] + k * a.dilation[d];
      in += i >= 0 && i < a.input[d];
      pad += i >= -a.pad_begin[d] && i < a.input[d] + a.pad_end[d];
    }
    inside *= in;
    padded *= pad;
  }
  return static_cast<float>(a.count_include_pad ? padded : inside);
}

// One window from global memory, scaled by its own largest magnitude (and whether it holds a NaN).
__device__ float DirectWindow(const LpPoolArgs& a, int64_t q, int64_t o0, int64_t o1, int64_t o2) {
  const float p = PlaneP(a, q);
  const float* x = a.x + q * a.input[0] * a.input[1] * a.input[2];
  const int64_t s[3] = {o0 * a.stride[0] - a.pad_begin[0], o1 * a.stride[1] - a.pad_begin[1], o2 * a.stride[2] - a.pad_begin[2]};
  float m = 0.0f;
  bool nan = false;
  for (int pass = 0; pass < 2; ++pass) {
    float sum = 0.0f;
    const float inv_m = m > 0.0f ? 1.0f / m : 0.0f;
    for (int64_t k0 = 0; k0 < a.kernel[0]; ++k0) {
      const int64_t i0 = s[0] + k0 * a.dilation[0];
      if (i0 < 0 || i0 >= a.input[0]) continue;
      for (int64_t k1 = 0; k1 < a.kernel[1]; ++k1) {
        const int64_t i1 = s[1] + k1 * a.dilation[1];
        if (i1 < 0 || i1 >= a.input[1]) continue;
        for (int64_t k2 = 0; k2 < a.kernel[2]; ++k2) {
          const int64_t i2 = s[2] + k2 * a.dilation[2];
          if (i2 < 0 || i2 >= a.input[2]) continue;
          const float v = Magnitude(x[(i0 * a.input[1] + i1) * a.input[2] + i2], a.abs_mode, a.eps);
          if (pass == 0) {
            nan = nan || LP_IS_NAN(v);
            m = v > m ? v : m;
          } else {
            const float r = v * inv_m;
            sum += PowRatioFast(r, p);
          }
        }
      }
    }
    if (pass == 0 && (nan || IsInf(p) || m == 0.0f)) return nan ? __int_as_float(0x7fc00000) : m;  // p = +inf: the maximum
    if (pass == 1) return m * FastExp2(FastLog2(sum / WindowCount(a, s)) / p);
  }
  return 0.0f;  // not reached
}

__global__ void LpPoolDirectKernel(LpPoolArgs a) {
  const int64_t out_plane = a.output[0] * a.output[1] * a.output[2];
  const int64_t total = a.planes * out_plane;
  for (int64_t idx = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; idx < total; idx += int64_t{gridDim.x} * blockDim.x) {
    const int64_t q = idx / out_plane, o = idx % out_plane;
    a.y[idx] = DirectWindow(a, q, o / (a.output[1] * a.output[2]), (o / a.output[2]) % a.output[1], o % a.output[2]);
  }
}

// A tile of T1 x T2 outputs (axes 1 and 2) of one plane and one index on axis 0; its input region
// r[0] x r[1] x r[2] is staged in dynamic shared memory.
template <int T1, int T2>
__global__ void LpPoolTiledKernel(LpPoolArgs a, int64_t r0, int64_t r1, int64_t r2) {
  LP_DYNAMIC_SHARED(float, region);
  LP_SHARED(float, red, [kTiledStaticBytes / sizeof(float)]);
  const int t = threadIdx.x, l1 = t / T2, l2 = t % T2;
  const int64_t tiles1 = (a.output[1] + T1 - 1) / T1, tiles2 = (a.output[2] + T2 - 1) / T2;
  const int64_t per_plane = a.output[0] * tiles1 * tiles2, size = r0 * r1 * r2;
  for (int64_t job = blockIdx.x; job < a.planes * per_plane; job += gridDim.x) {
    const int64_t q = job / per_plane, o0 = (job / (tiles1 * tiles2)) % a.output[0];
    const int64_t b1 = (job / tiles2) % tiles1 * T1, b2 = job % tiles2 * T2;
    const int64_t base0 = o0 * a.stride[0] - a.pad_begin[0], base1 = b1 * a.stride[1] - a.pad_begin[1],
                  base2 = b2 * a.stride[2] - a.pad_begin[2];
    const float p = PlaneP(a, q);
    const float* x = a.x + q * a.input[0] * a.input[1] * a.input[2];
    __syncthreads();  // the previous tile is no longer read
    float m = 0.0f;
    {
      // 32-bit indices within the region (at most kMaxRegion elements), kept by steps: element e is
      // row e / r2 (row = r1 * offset on axis 0 + offset on axis 1), column e % r2; divisions only
      // at the start and when a step crosses onto the next index on axis 0
      const int n = static_cast<int>(size), rr1 = static_cast<int>(r1), rr2 = static_cast<int>(r2);
      const int step_rows = kThreads / rr2, step_cols = kThreads % rr2;
      int row = t / rr2, col = t % rr2, o0 = row / rr1, o1 = row % rr1;
      for (int e = t; e < n; e += kThreads) {
        const int64_t i0 = base0 + o0, i1 = base1 + o1, i2 = base2 + col;
        float v = 0.0f;  // outside the input: contributes 0
        if (i0 >= 0 && i0 < a.input[0] && i1 >= 0 && i1 < a.input[1] && i2 >= 0 && i2 < a.input[2]) {
          v = Magnitude(x[(i0 * a.input[1] + i1) * a.input[2] + i2], a.abs_mode, a.eps);
          m = v > m ? v : m;  // false for NaN
        }
        region[e] = v;
        // e + kThreads: step_rows rows and step_cols columns on
        col += step_cols;
        int rows = step_rows;
        if (col >= rr2) {
          col -= rr2;
          ++rows;
        }
        o1 += rows;
        if (o1 >= rr1) {  // onto the next index on axis 0 (a division only then)
          o0 += o1 / rr1;
          o1 %= rr1;
        }
      }
    }
    red[t] = m;
    __syncthreads();
    for (int h = kThreads / 2; h > 0; h /= 2) {
      if (t < h) red[t] = fmaxf(red[t], red[t + h]);
      __syncthreads();
    }
    const float mx = red[0];
    // powered once per element: (a / m)^p, NaN kept
    const bool powered = !IsInf(p) && mx > 0.0f && mx <= 3.4028235e38f;
    if (powered) {
      const float inv = 1.0f / mx;
      for (int e = t; e < static_cast<int>(size); e += kThreads) {
        const float v = region[e];
        region[e] = LP_IS_NAN(v) ? v : RatioPow(v * inv, p);
      }
    }
    __syncthreads();
    const int64_t o1 = b1 + l1, o2 = b2 + l2;
    if (l1 >= T1 || o1 >= a.output[1] || o2 >= a.output[2]) continue;
    const int64_t w1 = l1 * a.stride[1], w2 = l2 * a.stride[2];
    float s = 0.0f;
    for (int64_t k0 = 0; k0 < a.kernel[0]; ++k0)
      for (int64_t k1 = 0; k1 < a.kernel[1]; ++k1) {
        const float* row = region + (k0 * a.dilation[0] * r1 + w1 + k1 * a.dilation[1]) * r2 + w2;
        for (int64_t k2 = 0; k2 < a.kernel[2]; ++k2) {
          const float v = row[k2 * a.dilation[2]];
          if (powered)
            s += v;
          else if (!LP_IS_NAN(s))
            s = LP_IS_NAN(v) || v > s ? v : s;  // the maximum, NaN kept
        }
      }
    float y;
    if (IsInf(p)) {
      y = s;
    } else if (!powered || (s < kUnderflow)) {
      y = DirectWindow(a, q, o0, o1, o2);  // an all-zero or non-finite region, or a window far below m
    } else {
      const int64_t st[3] = {base0, o1 * a.stride[1] - a.pad_begin[1], o2 * a.stride[2] - a.pad_begin[2]};
      y = mx * FastExp2(FastLog2(s / WindowCount(a, st)) / p);  // NaN stays NaN
    }
    a.y[(q * a.output[0] + o0) * a.output[1] * a.output[2] + o1 * a.output[2] + o2] = y;
  }
}

// A whole plane's output from its maximum m and its sum s of (a / m)^p over Z positions: NaN where
// the plane held one; m for p = +inf or an all-zero plane (no sum then); else m (s / Z)^(1/p).
__device__ __forceinline__ float PlaneResult(bool nan, bool sums, float m, float s, float z, float p) {
  if (nan) return __int_as_float(0x7fc00000);
  if (!sums) return m;
  return m * FastExp2(FastLog2(s / z) / p);
}

// Global pooling (global = 1, GeM's case): one block per (n, c) plane, reading it coalesced twice:
// the plane's largest magnitude (and NaN) by a block reduction, then sum (a / m)^p the same way.
__global__ void LpPoolGlobalKernel(LpPoolArgs a) {
  LP_SHARED(float, red, [kThreads]);
  LP_SHARED(int, red_nan, [kThreads]);
  const int64_t plane = a.input[0] * a.input[1] * a.input[2];
  const int t = threadIdx.x;
  for (int64_t q = blockIdx.x; q < a.planes; q += gridDim.x) {
    const float* x = a.x + q * plane;
    const float p = PlaneP(a, q);
    float m = 0.0f;
    int nan = 0;
    for (int64_t i = t; i < plane; i += blockDim.x) {
      const float v = Magnitude(x[i], a.abs_mode, a.eps);
      if (LP_IS_NAN(v))
        nan = 1;
      else
        m = v > m ? v : m;
    }
    red[t] = m;
    red_nan[t] = nan;
    __syncthreads();
    for (int s = kThreads / 2; s > 0; s /= 2) {
      if (t < s) {
        red[t] = fmaxf(red[t], red[t + s]);
        red_nan[t] |= red_nan[t + s];
      }
      __syncthreads();
    }
    const float mx = red[0];
    const int any_nan = red_nan[0];
    __syncthreads();  // red is reused below
    const bool sums = !any_nan && !IsInf(p) && mx > 0.0f;
    const float inv = mx > 0.0f ? 1.0f / mx : 0.0f;
    float s = 0.0f;
    if (sums) {
      for (int64_t i = t; i < plane; i += blockDim.x) {
        const float r = Magnitude(x[i], a.abs_mode, a.eps) * inv;
        s += RatioPow(r, p);
      }
    }
    red[t] = s;
    __syncthreads();
    for (int h = kThreads / 2; h > 0; h /= 2) {
      if (t < h) red[t] += red[t + h];
      __syncthreads();
    }
    if (t == 0) a.y[q] = PlaneResult(any_nan, sums, mx, red[0], a.mean ? static_cast<float>(plane) : 1.0f, p);
    __syncthreads();  // red[0] is read above before the next plane overwrites it
  }
}

constexpr int kWarp = 32;
constexpr int kWarpsPerBlock = kThreads / kWarp;

__device__ __forceinline__ float WarpMax(float v) {
  for (int o = kWarp / 2; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float WarpSum(float v) {
  for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ int WarpOr(int v) {
  for (int o = kWarp / 2; o > 0; o /= 2) v |= __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Global pooling of planes smaller than a block: a warp per (n, c) plane (32-bit indexing within
// it), its largest magnitude and NaN by warp shuffles, then sum (a / m)^p the same way.
__global__ void LpPoolPlanesKernel(LpPoolArgs a) {
  const int lane = static_cast<int>(threadIdx.x) % kWarp, warp = static_cast<int>(threadIdx.x) / kWarp;
  const int plane = static_cast<int>(a.input[0] * a.input[1] * a.input[2]);
  const int64_t warps = int64_t{gridDim.x} * kWarpsPerBlock;
  for (int64_t q = int64_t{blockIdx.x} * kWarpsPerBlock + warp; q < a.planes; q += warps) {
    const float* x = a.x + q * plane;
    const float p = PlaneP(a, q);
    float m = 0.0f;
    int nan = 0;
    for (int i = lane; i < plane; i += kWarp) {
      const float v = Magnitude(x[i], a.abs_mode, a.eps);
      if (LP_IS_NAN(v))
        nan = 1;
      else
        m = v > m ? v : m;
    }
    m = WarpMax(m);
    nan = WarpOr(nan);
    const bool sums = !nan && !IsInf(p) && m > 0.0f;  // the same in every lane
    float s = 0.0f;
    if (sums) {
      const float inv = 1.0f / m;
      for (int i = lane; i < plane; i += kWarp) s += RatioPow(Magnitude(x[i], a.abs_mode, a.eps) * inv, p);
    }
    s = WarpSum(s);
    if (lane == 0) a.y[q] = PlaneResult(nan, sums, m, s, a.mean ? static_cast<float>(plane) : 1.0f, p);
  }
}

// The input extent a tile of T outputs reads on one axis.
int64_t RegionExtent(const LpPoolArgs& a, int axis, int64_t tile) {
  const int64_t t = tile < a.output[axis] ? tile : a.output[axis];
  return (t - 1) * a.stride[axis] + (a.kernel[axis] - 1) * a.dilation[axis] + 1;
}

template <int T1, int T2>
bool LaunchTiled(const LpPoolArgs& a, cudaStream_t stream, cudaError_t* err) {
  const int64_t r0 = RegionExtent(a, 0, 1), r1 = RegionExtent(a, 1, T1), r2 = RegionExtent(a, 2, T2);
  if (r0 * r1 * r2 > kMaxRegion) return false;
  const int64_t jobs = a.planes * a.output[0] * ((a.output[1] + T1 - 1) / T1) * ((a.output[2] + T2 - 1) / T2);
  const dim3 grid(static_cast<unsigned>(jobs < kMaxBlocks ? jobs : kMaxBlocks));
  void (*kernel)(LpPoolArgs, int64_t, int64_t, int64_t) = LpPoolTiledKernel<T1, T2>;
  *err = LP_LAUNCH_WITH_STATIC(kernel, grid, dim3(kThreads), kTiledStaticBytes, sizeof(float) * static_cast<size_t>(r0 * r1 * r2), stream,
                               a, r0, r1, r2);
  return true;
}
}  // namespace

cudaError_t LaunchLpPool(const LpPoolArgs& a, cudaStream_t stream) {
  const int64_t total = a.planes * a.output[0] * a.output[1] * a.output[2];
  if (total == 0) return cudaSuccess;
  const bool global = a.kernel[0] == a.input[0] && a.kernel[1] == a.input[1] && a.kernel[2] == a.input[2] &&
                      a.output[0] * a.output[1] * a.output[2] == 1 &&
                      a.pad_begin[0] + a.pad_begin[1] + a.pad_begin[2] + a.pad_end[0] + a.pad_end[1] + a.pad_end[2] == 0 &&
                      a.dilation[0] * a.dilation[1] * a.dilation[2] == 1;
  if (global && a.input[0] * a.input[1] * a.input[2] >= kThreads) {
    // one window over the whole plane (global = 1, or a kernel that covers it): a block per plane
    const dim3 grid(static_cast<unsigned>(a.planes < kMaxBlocks ? a.planes : kMaxBlocks));
    return LP_LAUNCH(LpPoolGlobalKernel, grid, dim3(kThreads), 0, stream, a);
  }
  if (global) {
    // a smaller plane: a warp per plane
    const int64_t blocks = (a.planes + kWarpsPerBlock - 1) / kWarpsPerBlock;
    const dim3 grid(static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks));
    return LP_LAUNCH(LpPoolPlanesKernel, grid, dim3(kThreads), 0, stream, a);
  }
  // the tile's shape follows the output: a row of 256 (1D, or one output row), narrow planes 32 x 8
  cudaError_t err = cudaSuccess;
  if (a.output[1] == 1   ? LaunchTiled<1, 256>(a, stream, &err)
      : a.output[2] <= 8 ? LaunchTiled<32, 8>(a, stream, &err)
                         : LaunchTiled<16, 16>(a, stream, &err))
    return err;
  const int64_t blocks = (total + kThreads - 1) / kThreads;
  const dim3 grid(static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks));
  return LP_LAUNCH(LpPoolDirectKernel, grid, dim3(kThreads), 0, stream, a);
}

}  // namespace Cuda
}  // namespace lp
