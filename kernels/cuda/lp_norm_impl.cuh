// LpNorm on the GPU: the launcher (kernels/cuda/lp_norm_impl.cu holds the device code).
#pragma once

#include <cstdint>

#include "cuda_compat.h"

namespace lp {
namespace Cuda {

// Resolved numbers only (kernels/common/plans.h PlanLpNorm).
struct LpNormArgs {
  const float* x;  // [rows, k]
  const float* w;  // [m, k], checked: >= 0, no NaN, no zero row when mean
  const float* p;  // device; np values (0: the attribute p_attr)
  float* y;        // [rows, m]
  int64_t rows, k, m, np;
  float p_attr, eps, sum_eps;
  int abs_mode, mean;
};

cudaError_t LaunchLpNorm(const LpNormArgs& a, cudaStream_t stream);

}  // namespace Cuda
}  // namespace lp
