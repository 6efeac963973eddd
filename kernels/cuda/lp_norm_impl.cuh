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
  int p_finite;  // every value of P is finite (known on the host): the per-unit inner loop needs no tests
};

// Device scratch the launch needs (0: none): shared finite p on tensor cores keeps its powered rows
// there. work is written and read by the launch's work, in stream order.
int64_t LpNormWorkBytes(const LpNormArgs& a);
cudaError_t LaunchLpNorm(const LpNormArgs& a, void* work, cudaStream_t stream);

// W's values checked on the device (a W fed at run time): the flat index of the first negative or
// NaN weight and the first row of W that is all zeros (the refusal of mean = 1), kNoIndex for none.
constexpr unsigned long long kNoIndex = ~0ull;
struct LpNormWeightScan {
  unsigned long long bad, zero_row;
};
// out and nonzero (m ints; nullptr: no zero-row check) are device memory; launches on the stream.
cudaError_t LaunchScanLpNormWeights(const float* w, int64_t m, int64_t k, LpNormWeightScan* out, int* nonzero, cudaStream_t stream);
// Device memory the scan needs: the verdict, then one flag per row when rows are checked.
inline size_t LpNormWeightScanBytes(int64_t m, bool rows) {
  return sizeof(LpNormWeightScan) + (rows ? sizeof(int) * static_cast<size_t>(m) : 0);
}

}  // namespace Cuda
}  // namespace lp
