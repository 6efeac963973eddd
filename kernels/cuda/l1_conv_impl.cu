// L1Conv device code (ops.md), as an implicit GEMM: the "M" axis is every output position of every
// n, the "N" axis the output channels of one group, the "K" axis (input channel, tap) of the group's
// filter. A block of 256 threads computes a TP x TC tile (positions x channels), MP x MC per thread
// in registers (8 x 8 for the wide tiles), read from shared memory as float4s (2 + 2 128-bit loads
// per K step for 64 pairs). K is walked in slices of kSlice, double-buffered: while the block works
// on one slice, the next one's X patch values (gathered through the convolution geometry, padding
// as 0: coalesced along positions) and filters arrive by cp.async, no register staging. Each K
// index's tap (its offset in the sample and its dilated offsets per axis) comes from a table made
// once per run (L1ConvTapsKernel), so the gather does no division; indices inside one sample are
// 32-bit. Groups narrower than 16 channels take the narrow kernel: 4 channels per block, each input
// value read once from global memory for the 4, their filters staged in shared memory when they fit.
#include "device_common.cuh"
#include "l1_conv_impl.cuh"

namespace lp {
namespace Cuda {

namespace {
constexpr int kThreads = 256;
constexpr int kSlice = 16;                 // K per staged slice
constexpr int kChannels = 4;               // narrow kernel: output channels per block
constexpr int64_t kMaxShared = 12 * 1024;  // narrow kernel: floats of filters in shared memory
constexpr int64_t kMaxGrid = 65535;

// The tap of each K index d of a group's filter: the offset of its input element from the window's
// corner in the sample (channel ci, taps k0 k1 k2 dilated), and the dilated offsets per axis for
// the bounds test.
__global__ void L1ConvTapsKernel(L1ConvArgs a, L1ConvTap* taps) {
  const int k12 = static_cast<int>(a.kernel[1] * a.kernel[2]), per_channel = static_cast<int>(a.kernel[0]) * k12;
  const int depth = static_cast<int>(a.cg) * per_channel;
  const int in12 = static_cast<int>(a.input[1] * a.input[2]), in_plane = static_cast<int>(a.input[0]) * in12;
  for (int d = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); d < depth; d += static_cast<int>(gridDim.x * blockDim.x)) {
    const int ci = d / per_channel, tap = d % per_channel;
    const int d0 = tap / k12 * static_cast<int>(a.dilation[0]);
    const int d1 = tap / static_cast<int>(a.kernel[2]) % static_cast<int>(a.kernel[1]) * static_cast<int>(a.dilation[1]);
    const int d2 = tap % static_cast<int>(a.kernel[2]) * static_cast<int>(a.dilation[2]);
    taps[d] = L1ConvTap{ci * in_plane + d0 * in12 + d1 * static_cast<int>(a.input[2]) + d2, d0, d1, d2};
  }
}

// sm_90: the 8 x 8 tiles take about 168 registers (one block, 8 warps per SM; 64 independent
// accumulators per thread are the latency hiding); capped at 128 for two blocks they spill 512+ bytes
template <int TP, int TC, int MP, int MC>
__global__ void L1ConvTiledKernel(L1ConvArgs a, const L1ConvTap* taps) {
  constexpr int kAlongP = TP / MP;  // threads along positions
  constexpr int kAlongC = TC / MC;  // threads along channels
  static_assert(kAlongP * kAlongC == kThreads, "a 256-thread tile");
  static_assert(TP <= kThreads && kThreads % TP == 0, "each thread stages one position");
  static_assert(MP % 4 == 0 && MC % 4 == 0, "float4 reads");
  constexpr int kStepP = TP / (MP / 4), kStepC = TC / (MC / 4);  // between a thread's float4s
  LP_SHARED(float, xs, [2][kSlice][TP]);
  LP_SHARED(float, ws, [2][kSlice][TC]);
  const int t = threadIdx.x, tp = t % kAlongP, tc = t / kAlongP;
  const int out12 = static_cast<int>(a.output[1] * a.output[2]), out_plane = static_cast<int>(a.output[0]) * out12;
  const int in12 = static_cast<int>(a.input[1] * a.input[2]), in_plane = static_cast<int>(a.input[0]) * in12;
  const int depth = static_cast<int>(a.cg * a.kernel[0] * a.kernel[1] * a.kernel[2]);
  const int positions = static_cast<int>(a.n) * out_plane, per_group = static_cast<int>(a.cout / a.group);
  const int channel_tiles = (per_group + TC - 1) / TC, slices = (depth + kSlice - 1) / kSlice;
  const int sp = t % TP;  // the position this thread stages, at K offsets t / TP + s (kThreads / TP)
  for (int job = static_cast<int>(blockIdx.y); job < static_cast<int>(a.group) * channel_tiles; job += static_cast<int>(gridDim.y)) {
    const int g = job / channel_tiles, co0 = g * per_group + job % channel_tiles * TC;
    const int nco = min(per_group - (co0 - g * per_group), TC);
    const float* wg = a.w + static_cast<int64_t>(co0) * depth;
    for (int m0 = static_cast<int>(blockIdx.x) * TP; m0 < positions; m0 += static_cast<int>(gridDim.x) * TP) {
      // the staged position's window corner, and its sample's channels of group g
      const int m = m0 + sp;
      const bool staged = m < positions;
      const int n = staged ? m / out_plane : 0, o = staged ? m % out_plane : 0;
      const int s0 = o / out12 * static_cast<int>(a.stride[0]) - static_cast<int>(a.pad_begin[0]);
      const int s1 = o / static_cast<int>(a.output[2]) % static_cast<int>(a.output[1]) * static_cast<int>(a.stride[1]) -
                     static_cast<int>(a.pad_begin[1]);
      const int s2 = o % static_cast<int>(a.output[2]) * static_cast<int>(a.stride[2]) - static_cast<int>(a.pad_begin[2]);
      const float* xg = a.x + (static_cast<int64_t>(n) * a.cin + static_cast<int64_t>(g) * a.cg) * in_plane;
      const int corner = (s0 * static_cast<int>(a.input[1]) + s1) * static_cast<int>(a.input[2]) + s2;
      const auto stage = [&](int slice, int buf) {
        const int d0 = slice * kSlice;
        for (int kk = t / TP; kk < kSlice; kk += kThreads / TP) {
          const int d = d0 + kk;
          bool valid = staged && d < depth;  // past the end of K: 0 (K's tail also has w = 0)
          const float* src = a.x;
          if (valid) {
            const L1ConvTap tap = taps[d];
            valid = static_cast<unsigned>(s0 + tap.d0) < static_cast<unsigned>(a.input[0]) &&
                    static_cast<unsigned>(s1 + tap.d1) < static_cast<unsigned>(a.input[1]) &&
                    static_cast<unsigned>(s2 + tap.d2) < static_cast<unsigned>(a.input[2]);  // else padding: 0
            src = xg + (corner + tap.offset);
          }
          CopyAsync4(&xs[buf][kk][sp], valid ? src : a.x, valid);
        }
        for (int e = t; e < kSlice * TC; e += kThreads) {
          const int kk = e % kSlice, cc = e / kSlice, d = d0 + kk;
          const bool valid = cc < nco && d < depth;
          CopyAsync4(&ws[buf][kk][cc], valid ? wg + static_cast<int64_t>(cc) * depth + d : a.w, valid);
        }
        CommitAsync();
      };
      float acc[MP][MC];
      for (int i = 0; i < MP; ++i)
        for (int j = 0; j < MC; ++j) acc[i][j] = 0.0f;
      stage(0, 0);
      for (int slice = 0; slice < slices; ++slice) {
        const int buf = slice & 1;
        if (slice + 1 < slices) {
          stage(slice + 1, buf ^ 1);  // its buffer was last read before the barrier that ended slice - 1
          WaitAsync<1>();
        } else {
          WaitAsync<0>();
        }
        __syncthreads();  // this slice has arrived for every thread
        LP_UNROLL
        for (int kk = 0; kk < kSlice; ++kk) {
          float xv[MP], wv[MC];
          LP_UNROLL
          for (int q = 0; q < MP / 4; ++q) {
            const float4 v = *reinterpret_cast<const float4*>(&xs[buf][kk][q * kStepP + tp * 4]);
            xv[4 * q] = v.x, xv[4 * q + 1] = v.y, xv[4 * q + 2] = v.z, xv[4 * q + 3] = v.w;
          }
          LP_UNROLL
          for (int q = 0; q < MC / 4; ++q) {
            const float4 v = *reinterpret_cast<const float4*>(&ws[buf][kk][q * kStepC + tc * 4]);
            wv[4 * q] = v.x, wv[4 * q + 1] = v.y, wv[4 * q + 2] = v.z, wv[4 * q + 3] = v.w;
          }
          LP_UNROLL
          for (int i = 0; i < MP; ++i) LP_UNROLL
          for (int j = 0; j < MC; ++j) acc[i][j] += fabsf(xv[i] - wv[j]);
        }
        __syncthreads();  // every thread is done with this buffer before it is staged again
      }
      LP_UNROLL
      for (int i = 0; i < MP; ++i) {
        const int mi = m0 + i / 4 * kStepP + tp * 4 + i % 4;
        if (mi >= positions) continue;
        const int ni = mi / out_plane, oi = mi % out_plane;
        float* y = a.y + static_cast<int64_t>(ni) * a.cout * out_plane + oi;
        LP_UNROLL
        for (int j = 0; j < MC; ++j) {
          const int c = j / 4 * kStepC + tc * 4 + j % 4;
          if (c < nco) y[static_cast<int64_t>(co0 + c) * out_plane] = (a.b ? a.b[co0 + c] : 0.0f) - acc[i][j];
        }
      }
    }
  }
}

// The narrow kernel also takes what the tiled one cannot index in 32 bits.
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

template <int TP, int TC, int MP, int MC>
cudaError_t LaunchTiled(const L1ConvArgs& a, L1ConvTap* taps, cudaStream_t stream) {
  const int64_t depth = a.cg * a.kernel[0] * a.kernel[1] * a.kernel[2];
  const int64_t table_blocks = (depth + kThreads - 1) / kThreads;
  cudaError_t e = LP_LAUNCH(L1ConvTapsKernel, dim3(static_cast<unsigned>(table_blocks < kMaxGrid ? table_blocks : kMaxGrid)),
                            dim3(kThreads), 0, stream, a, taps);
  if (e != cudaSuccess) return e;
  const int64_t tiles = (a.n * a.output[0] * a.output[1] * a.output[2] + TP - 1) / TP;
  const int64_t jobs = a.group * ((a.cout / a.group + TC - 1) / TC);
  const dim3 grid(static_cast<unsigned>(tiles < kMaxGrid ? tiles : kMaxGrid), static_cast<unsigned>(jobs < kMaxGrid ? jobs : kMaxGrid));
  void (*kernel)(L1ConvArgs, const L1ConvTap*) = L1ConvTiledKernel<TP, TC, MP, MC>;
  return LP_LAUNCH(kernel, grid, dim3(kThreads), 0, stream, a, static_cast<const L1ConvTap*>(taps));
}
}  // namespace

bool L1ConvTiled(const L1ConvArgs& a) {
  // the tiled kernel's 32-bit indices: positions of all n, one sample's input, the filter bank
  const int64_t limit = int64_t{1} << 31;
  const int64_t positions = a.n * a.output[0] * a.output[1] * a.output[2];
  const int64_t depth = a.cg * a.kernel[0] * a.kernel[1] * a.kernel[2];
  return a.cout / a.group >= 16 && positions < limit && a.cin * a.input[0] * a.input[1] * a.input[2] < limit && a.cout * depth < limit;
}

int64_t L1ConvTapTableBytes(const L1ConvArgs& a) {
  return L1ConvTiled(a) ? static_cast<int64_t>(sizeof(L1ConvTap)) * a.cg * a.kernel[0] * a.kernel[1] * a.kernel[2] : 0;
}

cudaError_t LaunchL1Conv(const L1ConvArgs& a, L1ConvTap* taps, cudaStream_t stream) {
  const int64_t out_plane = a.output[0] * a.output[1] * a.output[2];
  if (a.n * a.cout * out_plane == 0) return cudaSuccess;
  // the channel tile follows the group's width: 128, 64, 32 or 16 channels (x 128 or 256 positions)
  const int64_t per_group = a.cout / a.group;
  if (L1ConvTiled(a)) {
    if (per_group >= 128) return LaunchTiled<128, 128, 8, 8>(a, taps, stream);
    if (per_group >= 64) return LaunchTiled<256, 64, 8, 8>(a, taps, stream);
    if (per_group >= 32) return LaunchTiled<256, 32, 8, 4>(a, taps, stream);
    return LaunchTiled<256, 16, 4, 4>(a, taps, stream);
  }
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
