// L1Conv device code (ops.md), as an implicit GEMM: the "M" axis is every output position of every
// n, the "N" axis the output channels of one group, the "K" axis (input channel, tap) of the group's
// filter. A block of 256 threads computes a TP x TC tile (positions x channels), 4 x 4 per thread
// in registers; K is walked in slices of kSlice, the X patch values of the slice (gathered through
// the convolution geometry, padding as 0: coalesced along positions) and the filters (read along K)
// staged in shared memory, then each thread accumulates |x - w| for its 16 pairs from 8 shared reads.
// Groups narrower than 16 channels take the narrow kernel: 4 channels per block, each input value
// read once from global memory for the 4, their filters staged in shared memory when they fit.
#include "l1_conv_impl.cuh"

namespace lp {
namespace Cuda {

namespace {
constexpr int kThreads = 256;
constexpr int kSlice = 16;                 // K per staged slice
constexpr int kMicro = 4;                  // positions and channels per thread
constexpr int kChannels = 4;               // narrow kernel: output channels per block
constexpr int64_t kMaxShared = 12 * 1024;  // narrow kernel: floats of filters in shared memory
constexpr int64_t kMaxGrid = 65535;

template <int TP, int TC>
__global__ void L1ConvTiledKernel(L1ConvArgs a) {
  constexpr int kAlongP = TP / kMicro;  // threads along positions
  constexpr int kAlongC = TC / kMicro;  // threads along channels
  static_assert(kAlongP * kAlongC == kThreads, "a 256-thread tile");
  LP_SHARED(float, xs, [kSlice][TP]);
  LP_SHARED(float, ws, [kSlice][TC + 1]);
  const int t = threadIdx.x, tp = t % kAlongP, tc = t / kAlongP;
  const int64_t out_plane = a.output[0] * a.output[1] * a.output[2];
  const int64_t in_plane = a.input[0] * a.input[1] * a.input[2];
  const int64_t k12 = a.kernel[1] * a.kernel[2], taps = a.kernel[0] * k12;
  const int64_t depth = a.cg * taps, positions = a.n * out_plane, per_group = a.cout / a.group;
  const int64_t channel_tiles = (per_group + TC - 1) / TC;
  // the position this thread stages: fixed for the whole tile (TP divides the block)
  const int sp = t % TP;
  for (int64_t job = blockIdx.y; job < a.group * channel_tiles; job += gridDim.y) {
    const int64_t g = job / channel_tiles, co0 = g * per_group + job % channel_tiles * TC;
    const int64_t nco = per_group - (co0 - g * per_group) < TC ? per_group - (co0 - g * per_group) : TC;
    for (int64_t m0 = int64_t{blockIdx.x} * TP; m0 < positions; m0 += int64_t{gridDim.x} * TP) {
      const int64_t m = m0 + sp;
      const bool staged = m < positions;
      const int64_t n = staged ? m / out_plane : 0, o = staged ? m % out_plane : 0;
      const int64_t s0 = o / (a.output[1] * a.output[2]) * a.stride[0] - a.pad_begin[0];
      const int64_t s1 = (o / a.output[2]) % a.output[1] * a.stride[1] - a.pad_begin[1];
      const int64_t s2 = o % a.output[2] * a.stride[2] - a.pad_begin[2];
      const float* x = a.x + (n * a.cin + g * a.cg) * in_plane;
      float acc[kMicro][kMicro];
      for (int i = 0; i < kMicro; ++i)
        for (int j = 0; j < kMicro; ++j) acc[i][j] = 0.0f;
      for (int64_t d0 = 0; d0 < depth; d0 += kSlice) {
        __syncthreads();  // the previous slice is no longer read
        for (int kk = t / TP; kk < kSlice; kk += kThreads / TP) {
          const int64_t d = d0 + kk;
          float v = 0.0f;  // padding, or past the end of K: 0 (K's tail also has w = 0)
          if (staged && d < depth) {
            const int64_t ci = d / taps, tap = d % taps;
            const int64_t i0 = s0 + tap / k12 * a.dilation[0], i1 = s1 + (tap / a.kernel[2]) % a.kernel[1] * a.dilation[1];
            const int64_t i2 = s2 + tap % a.kernel[2] * a.dilation[2];
            if (i0 >= 0 && i0 < a.input[0] && i1 >= 0 && i1 < a.input[1] && i2 >= 0 && i2 < a.input[2])
              v = x[ci * in_plane + (i0 * a.input[1] + i1) * a.input[2] + i2];
          }
          xs[kk][sp] = v;
        }
        for (int e = t; e < kSlice * TC; e += kThreads) {
          const int kk = e % kSlice, cc = e / kSlice;
          const int64_t d = d0 + kk;
          ws[kk][cc] = cc < nco && d < depth ? a.w[(co0 + cc) * depth + d] : 0.0f;
        }
        __syncthreads();
        LP_UNROLL
        for (int kk = 0; kk < kSlice; ++kk) {
          float xv[kMicro], wv[kMicro];
          for (int i = 0; i < kMicro; ++i) xv[i] = xs[kk][tp + i * kAlongP];
          for (int j = 0; j < kMicro; ++j) wv[j] = ws[kk][tc + j * kAlongC];
          for (int i = 0; i < kMicro; ++i)
            for (int j = 0; j < kMicro; ++j) acc[i][j] += fabsf(xv[i] - wv[j]);
        }
      }
      for (int i = 0; i < kMicro; ++i) {
        const int64_t mi = m0 + tp + i * kAlongP;
        if (mi >= positions) break;
        const int64_t ni = mi / out_plane, oi = mi % out_plane;
        for (int j = 0; j < kMicro; ++j) {
          const int64_t c = tc + j * kAlongC;
          if (c < nco) a.y[(ni * a.cout + co0 + c) * out_plane + oi] = (a.b ? a.b[co0 + c] : 0.0f) - acc[i][j];
        }
      }
    }
  }
}

template <bool kStaged>
__global__ void L1ConvNarrowKernel(L1ConvArgs a) {
  LP_DYNAMIC_SHARED(float, filters);
  const int64_t out_plane = a.output[0] * a.output[1] * a.output[2];
  const int64_t in_plane = a.input[0] * a.input[1] * a.input[2];
  const int64_t taps = a.kernel[0] * a.kernel[1] * a.kernel[2];
  const int64_t per_group = a.cout / a.group;
  const int64_t blocks_per_group = (per_group + kChannels - 1) / kChannels;
  const int64_t filter = a.cg * taps;
  for (int64_t job = blockIdx.y; job < a.n * a.group * blocks_per_group; job += gridDim.y) {
    const int64_t n = job / (a.group * blocks_per_group), g = (job / blocks_per_group) % a.group;
    const int64_t co0 = g * per_group + (job % blocks_per_group) * kChannels;
    const int nco = static_cast<int>(per_group - (co0 - g * per_group) < kChannels ? per_group - (co0 - g * per_group) : kChannels);
    const float* w = a.w + co0 * filter;
    if (kStaged) {
      __syncthreads();  // the previous job's filters are no longer read
      for (int64_t i = threadIdx.x; i < nco * filter; i += blockDim.x) filters[i] = w[i];
      __syncthreads();
    }
    const float* wf = kStaged ? filters : w;
    for (int64_t o = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; o < out_plane; o += int64_t{gridDim.x} * blockDim.x) {
      const int64_t o0 = o / (a.output[1] * a.output[2]), o1 = (o / a.output[2]) % a.output[1], o2 = o % a.output[2];
      const int64_t s0 = o0 * a.stride[0] - a.pad_begin[0], s1 = o1 * a.stride[1] - a.pad_begin[1], s2 = o2 * a.stride[2] - a.pad_begin[2];
      float acc[kChannels] = {0.0f, 0.0f, 0.0f, 0.0f};
      for (int64_t ci = 0; ci < a.cg; ++ci) {
        const float* x = a.x + ((n * a.cin) + g * a.cg + ci) * in_plane;
        const float* wc = wf + ci * taps;
        int64_t t = 0;
        for (int64_t k0 = 0; k0 < a.kernel[0]; ++k0) {
          const int64_t i0 = s0 + k0 * a.dilation[0];
          const bool in0 = i0 >= 0 && i0 < a.input[0];
          for (int64_t k1 = 0; k1 < a.kernel[1]; ++k1) {
            const int64_t i1 = s1 + k1 * a.dilation[1];
            const bool in01 = in0 && i1 >= 0 && i1 < a.input[1];
            for (int64_t k2 = 0; k2 < a.kernel[2]; ++k2, ++t) {
              const int64_t i2 = s2 + k2 * a.dilation[2];
              const float v = in01 && i2 >= 0 && i2 < a.input[2] ? x[(i0 * a.input[1] + i1) * a.input[2] + i2] : 0.0f;
              LP_UNROLL
              for (int c = 0; c < kChannels; ++c)
                if (c < nco) acc[c] += fabsf(v - wc[c * filter + t]);
            }
          }
        }
      }
      for (int c = 0; c < nco; ++c) a.y[(n * a.cout + co0 + c) * out_plane + o] = (a.b ? a.b[co0 + c] : 0.0f) - acc[c];
    }
  }
}

template <int TP, int TC>
cudaError_t LaunchTiled(const L1ConvArgs& a, cudaStream_t stream) {
  const int64_t tiles = (a.n * a.output[0] * a.output[1] * a.output[2] + TP - 1) / TP;
  const int64_t jobs = a.group * ((a.cout / a.group + TC - 1) / TC);
  const dim3 grid(static_cast<unsigned>(tiles < kMaxGrid ? tiles : kMaxGrid), static_cast<unsigned>(jobs < kMaxGrid ? jobs : kMaxGrid));
  void (*kernel)(L1ConvArgs) = L1ConvTiledKernel<TP, TC>;
  return LP_LAUNCH(kernel, grid, dim3(kThreads), 0, stream, a);
}
}  // namespace

cudaError_t LaunchL1Conv(const L1ConvArgs& a, cudaStream_t stream) {
  const int64_t out_plane = a.output[0] * a.output[1] * a.output[2];
  if (a.n * a.cout * out_plane == 0) return cudaSuccess;
  // the channel tile follows the group's width: 64, 32 or 16 channels (x 64, 128, 256 positions)
  const int64_t per_group = a.cout / a.group;
  if (per_group >= 64) return LaunchTiled<64, 64>(a, stream);
  if (per_group >= 32) return LaunchTiled<128, 32>(a, stream);
  if (per_group >= 16) return LaunchTiled<256, 16>(a, stream);
  const int64_t tiles = (out_plane + kThreads - 1) / kThreads;
  const int64_t jobs = a.n * a.group * ((per_group + kChannels - 1) / kChannels);
  const int64_t filters = kChannels * a.cg * a.kernel[0] * a.kernel[1] * a.kernel[2];
  const dim3 grid(static_cast<unsigned>(tiles < kMaxGrid ? tiles : kMaxGrid), static_cast<unsigned>(jobs < kMaxGrid ? jobs : kMaxGrid));
  if (filters <= kMaxShared)
    return LP_LAUNCH(L1ConvNarrowKernel<true>, grid, dim3(kThreads), sizeof(float) * static_cast<size_t>(filters), stream, a);
  return LP_LAUNCH(L1ConvNarrowKernel<false>, grid, dim3(kThreads), 0, stream, a);
}

}  // namespace Cuda
}  // namespace lp
