// L1Conv on the GPU: the launcher (kernels/cuda/l1_conv_impl.cu holds the device code).
#pragma once

#include <cstdint>

#include "cuda_compat.h"

namespace lp {
namespace Cuda {

// Resolved numbers only (kernels/common/plans.h PlanL1Conv): three axes, unit axes in front.
struct L1ConvArgs {
  const float* x;
  const float* w;
  const float* b;  // nullptr: no bias
  float* y;
  int64_t n, cin, cout, cg, group;
  int64_t input[3], kernel[3], stride[3], dilation[3], pad_begin[3], output[3];
};

// One K index's tap in the tiled kernel's table (device scratch of L1ConvTapTableBytes bytes).
struct alignas(16) L1ConvTap {
  int offset, d0, d1, d2;
};

// Whether the tiled kernel takes these args, and the bytes of its tap table (0 when it does not).
bool L1ConvTiled(const L1ConvArgs& a);
int64_t L1ConvTapTableBytes(const L1ConvArgs& a);

// taps: device memory of L1ConvTapTableBytes(a) bytes, written and read by the launch's work
cudaError_t LaunchL1Conv(const L1ConvArgs& a, L1ConvTap* taps, cudaStream_t stream);

}  // namespace Cuda
}  // namespace lp
