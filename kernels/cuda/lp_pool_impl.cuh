// LpPool on the GPU: the launcher (kernels/cuda/lp_pool_impl.cu holds the device code).
#pragma once

#include <cstdint>

#include "cuda_compat.h"

namespace lp {
namespace Cuda {

// Resolved numbers only (kernels/common/plans.h PlanLpPool): three axes, unit axes in front.
struct LpPoolArgs {
  const float* x;
  float* y;
  const float* p;  // device; np values (0: the attribute p_attr)
  int64_t planes, channels, np;
  float p_attr, eps;
  int abs_mode, mean, count_include_pad;
  int64_t input[3], kernel[3], stride[3], dilation[3], pad_begin[3], pad_end[3], output[3];
};

cudaError_t LaunchLpPool(const LpPoolArgs& a, cudaStream_t stream);

}  // namespace Cuda
}  // namespace lp
