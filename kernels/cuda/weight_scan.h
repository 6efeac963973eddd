// A W that lives on the device (LpNorm's W fed at run time), checked there: a scan kernel and a
// 16-byte read-back on the stream, instead of copying W to the host. Reading the verdict is the one
// synchronisation this costs (the values of W decide whether the node is an error); a constant W is
// checked once, when the kernel is created, and costs nothing per run. Host code only.
#pragma once

#include <string>

#include "../common/plans.h"
#include "cuda_common.h"
#include "lp_norm_impl.cuh"

namespace lp {
namespace Cuda {

// scratch: LpNormWeightScanBytes(m, mean) of device memory. Refuses as the CPU kernels do: rows in
// order, in a row a bad weight before an all-zero row (a row with a bad weight is not all zeros).
inline void CheckDeviceLpNormWeights(const std::string& node, const float* w, int64_t m, int64_t k, bool mean, void* scratch,
                                     cudaStream_t stream) {
  const char* op = schema::LpNormAttrs::kOp;
  auto* scan = static_cast<LpNormWeightScan*>(scratch);
  LpNormWeightScan found{};
  Check(LaunchScanLpNormWeights(w, m, k, scan, mean ? reinterpret_cast<int*>(scan + 1) : nullptr, stream), op, node);
  Check(cudaMemcpyAsync(&found, scan, sizeof found, cudaMemcpyDeviceToHost, stream), op, node);
  Check(cudaStreamSynchronize(stream), op, node);
  const unsigned long long bad_row = found.bad == kNoIndex ? kNoIndex : found.bad / static_cast<unsigned long long>(k);
  const unsigned long long zero_row = mean ? found.zero_row : kNoIndex;
  if (bad_row != kNoIndex && bad_row < zero_row) {
    float v = 0.0f;  // the offending value, for the message
    Check(cudaMemcpyAsync(&v, w + found.bad, sizeof v, cudaMemcpyDeviceToHost, stream), op, node);
    Check(cudaStreamSynchronize(stream), op, node);
    FailLpNormWeight(node, static_cast<int64_t>(bad_row), static_cast<int64_t>(found.bad % static_cast<unsigned long long>(k)), v);
  }
  if (zero_row != kNoIndex) FailLpNormZeroRow(node, static_cast<int64_t>(zero_row));
}

}  // namespace Cuda
}  // namespace lp
