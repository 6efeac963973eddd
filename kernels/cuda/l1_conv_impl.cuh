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

cudaError_t LaunchL1Conv(const L1ConvArgs& a, cudaStream_t stream);

}  // namespace Cuda
}  // namespace lp
