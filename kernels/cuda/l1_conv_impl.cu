// L1Conv device code (ops.md). A block takes 256 output positions of one n and a group of 4 output
// channels of one group: their filters (4 x C_in / group x taps values) are staged once in shared
// memory when they fit and read from there by every thread (a broadcast); each input value is read
// once from global memory (consecutive threads, consecutive positions: coalesced for stride 1) and
// serves the 4 channels, whose |x - w| sums stay in registers. Padded positions have value 0.
#include "l1_conv_impl.cuh"

namespace lp {
namespace Cuda {

namespace {
constexpr int kThreads = 256;
constexpr int kChannels = 4;               // output channels per block, in registers
constexpr int64_t kMaxShared = 12 * 1024;  // floats of filters staged in shared memory (48 KiB)
constexpr int64_t kMaxGrid = 65535;

template <bool kStaged>
__global__ void L1ConvKernel(L1ConvArgs a) {
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
}  // namespace

cudaError_t LaunchL1Conv(const L1ConvArgs& a, cudaStream_t stream) {
  const int64_t out_plane = a.output[0] * a.output[1] * a.output[2];
  if (a.n * a.cout * out_plane == 0) return cudaSuccess;
  const int64_t tiles = (out_plane + kThreads - 1) / kThreads;
  const int64_t per_group = a.cout / a.group;
  const int64_t jobs = a.n * a.group * ((per_group + kChannels - 1) / kChannels);
  const int64_t filters = kChannels * a.cg * a.kernel[0] * a.kernel[1] * a.kernel[2];
  const dim3 grid(static_cast<unsigned>(tiles < kMaxGrid ? tiles : kMaxGrid), static_cast<unsigned>(jobs < kMaxGrid ? jobs : kMaxGrid));
  if (filters <= kMaxShared)
    return LP_LAUNCH(L1ConvKernel<true>, grid, dim3(kThreads), sizeof(float) * static_cast<size_t>(filters), stream, a);
  return LP_LAUNCH(L1ConvKernel<false>, grid, dim3(kThreads), 0, stream, a);
}

}  // namespace Cuda
}  // namespace lp
