// LpNorm CUDA kernel, the onnxruntime side (ops.md): attributes through kernels/schema, shapes
// through kernels/common/plans.h (as the CPU kernel), P read on the host (a CPU input), then one
// launch on the EP's stream. A constant W is checked once, when the kernel is created; a W fed at
// run time is checked on the device on each run (kernels/cuda/weight_scan.h).
#pragma once
#include "cuda_common.h"

namespace lp {
namespace Cuda {

struct LpNormKernel {
  static constexpr const char* kName = "LpNorm";
  static constexpr size_t kInputs = 3;
  static constexpr const char* kProvider = Cuda::kProvider;
  static constexpr unsigned kHostInputs = 1u << 2;  // P
  static constexpr size_t kRequired = 2;
  static constexpr int kExponentInput = 2;  // P (-1: none)
  explicit LpNormKernel(const OrtKernelInfo* info);
  OrtStatusPtr ComputeV2(OrtKernelContext* ctx) {
    return Guard([&] { RunOnStream(kName, node_, [&] { Compute(ctx); }); });
  }
  void Compute(OrtKernelContext* ctx);

 private:
  // a constant W (host or device memory) copied to the host and checked, once

  std::string node_;
  schema::LpNormAttrs attrs_;
  bool w_checked_ = false;                   // W is a constant initializer, checked at creation
  std::unique_ptr<DeviceConstant> p_const_;  // P is a constant initializer, checked and uploaded at creation
};

}  // namespace Cuda
}  // namespace lp
