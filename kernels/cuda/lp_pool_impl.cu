// LpPool device code (ops.md). One thread per output (grid-stride): the window's largest magnitude
// m first (and whether it holds a NaN), then sum (a / m)^p over its taps as 2^(p log2(a / m)), so
// every window is scaled by its own maximum and nothing underflows where the result is
// representable. Z counts the taps inside the input (and the padded ones with count_include_pad,
// as ONNX AveragePool does; never the ceil_mode overhang). A window over a whole plane of at least a
// block's size (GeM's global pooling) takes a block per plane and two coalesced block reductions.
#include "lp_pool_impl.cuh"

namespace lp {
namespace Cuda {

namespace {
constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 65535;

__device__ __forceinline__ float Magnitude(float v, int abs_mode, float eps) {
  const float a = abs_mode ? fabsf(v) : v;
  return LP_IS_NAN(a) ? a : (a > eps ? a : eps);
}

__global__ void LpPoolKernel(LpPoolArgs a) {
  const int64_t out_plane = a.output[0] * a.output[1] * a.output[2];
  const int64_t in_plane = a.input[0] * a.input[1] * a.input[2];
  const int64_t total = a.planes * out_plane;
  for (int64_t idx = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; idx < total; idx += int64_t{gridDim.x} * blockDim.x) {
    const int64_t q = idx / out_plane, o = idx % out_plane;
    const int64_t o0 = o / (a.output[1] * a.output[2]), o1 = (o / a.output[2]) % a.output[1], o2 = o % a.output[2];
    const float p = a.np == 0 ? a.p_attr : a.p[a.np == 1 ? 0 : q % a.channels];
    const float* x = a.x + q * in_plane;
    const int64_t s0 = o0 * a.stride[0] - a.pad_begin[0], s1 = o1 * a.stride[1] - a.pad_begin[1], s2 = o2 * a.stride[2] - a.pad_begin[2];
    float m = 0.0f;
    bool nan = false;
    int64_t inside = 0, padded = 0;
    for (int64_t k0 = 0; k0 < a.kernel[0]; ++k0) {
      const int64_t i0 = s0 + k0 * a.dilation[0];
      const bool in0 = i0 >= 0 && i0 < a.input[0], pad0 = i0 >= -a.pad_begin[0] && i0 < a.input[0] + a.pad_end[0];
      for (int64_t k1 = 0; k1 < a.kernel[1]; ++k1) {
        const int64_t i1 = s1 + k1 * a.dilation[1];
        const bool in1 = i1 >= 0 && i1 < a.input[1], pad1 = i1 >= -a.pad_begin[1] && i1 < a.input[1] + a.pad_end[1];
        for (int64_t k2 = 0; k2 < a.kernel[2]; ++k2) {
          const int64_t i2 = s2 + k2 * a.dilation[2];
          const bool in2 = i2 >= 0 && i2 < a.input[2], pad2 = i2 >= -a.pad_begin[2] && i2 < a.input[2] + a.pad_end[2];
          if (in0 && in1 && in2) {
            const float v = Magnitude(x[(i0 * a.input[1] + i1) * a.input[2] + i2], a.abs_mode, a.eps);
            nan = nan || LP_IS_NAN(v);
            m = v > m ? v : m;
            ++inside;
          } else if (pad0 && pad1 && pad2) {
            ++padded;
          }
        }
      }
    }
    float y;
    if (nan) {
      y = __int_as_float(0x7fc00000);
    } else if (!(p <= 3.4028235e38f) || m == 0.0f) {  // p = +inf: the maximum
      y = m;
    } else {
      float s = 0.0f;
      const float inv_m = 1.0f / m;
      for (int64_t k0 = 0; k0 < a.kernel[0]; ++k0) {
        const int64_t i0 = s0 + k0 * a.dilation[0];
        if (i0 < 0 || i0 >= a.input[0]) continue;
        for (int64_t k1 = 0; k1 < a.kernel[1]; ++k1) {
          const int64_t i1 = s1 + k1 * a.dilation[1];
          if (i1 < 0 || i1 >= a.input[1]) continue;
          for (int64_t k2 = 0; k2 < a.kernel[2]; ++k2) {
            const int64_t i2 = s2 + k2 * a.dilation[2];
            if (i2 < 0 || i2 >= a.input[2]) continue;
            const float r = Magnitude(x[(i0 * a.input[1] + i1) * a.input[2] + i2], a.abs_mode, a.eps) * inv_m;
            s += r > 0.0f ? exp2f(p * log2f(r)) : 0.0f;
          }
        }
      }
      const float z = a.mean ? static_cast<float>(inside + (a.count_include_pad ? padded : 0)) : 1.0f;
      y = m * exp2f(log2f(s / z) / p);
    }
    a.y[idx] = y;
  }
}
// Global pooling (global = 1, GeM's case): one block per (n, c) plane, reading it coalesced twice:
// the plane's largest magnitude (and NaN) by a block reduction, then sum (a / m)^p the same way.
__global__ void LpPoolGlobalKernel(LpPoolArgs a) {
  __shared__ float red[kThreads];
  __shared__ int red_nan[kThreads];
  const int64_t plane = a.input[0] * a.input[1] * a.input[2];
  const int t = threadIdx.x;
  for (int64_t q = blockIdx.x; q < a.planes; q += gridDim.x) {
    const float* x = a.x + q * plane;
    const float p = a.np == 0 ? a.p_attr : a.p[a.np == 1 ? 0 : q % a.channels];
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
    const bool sums = !any_nan && !(!(p <= 3.4028235e38f)) && mx > 0.0f;
    const float inv = mx > 0.0f ? 1.0f / mx : 0.0f;
    float s = 0.0f;
    if (sums) {
      for (int64_t i = t; i < plane; i += blockDim.x) {
        const float r = Magnitude(x[i], a.abs_mode, a.eps) * inv;
        s += r > 0.0f ? exp2f(p * log2f(r)) : 0.0f;
      }
    }
    red[t] = s;
    __syncthreads();
    for (int h = kThreads / 2; h > 0; h /= 2) {
      if (t < h) red[t] += red[t + h];
      __syncthreads();
    }
    if (t == 0) {
      float y;
      if (any_nan)
        y = __int_as_float(0x7fc00000);
      else if (!sums)
        y = mx;  // p = +inf (the maximum), or an all-zero plane
      else
        y = mx * exp2f(log2f(red[0] / (a.mean ? static_cast<float>(plane) : 1.0f)) / p);
      a.y[q] = y;
    }
    __syncthreads();  // red[0] is read above before the next plane overwrites it
  }
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
  const int64_t blocks = (total + kThreads - 1) / kThreads;
  const dim3 grid(static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks));
  return LP_LAUNCH(LpPoolKernel, grid, dim3(kThreads), 0, stream, a);
}

}  // namespace Cuda
}  // namespace lp
