// LpPool CUDA kernel, the onnxruntime side (ops.md): attributes through kernels/schema, shapes and
// geometry through kernels/common/plans.h (as the CPU kernel), P read on the host (a CPU input, so
// its exponents are checked where onnxruntime copied them), then one launch on the EP's stream.
#pragma once
#include "cuda_common.h"

namespace lp {
namespace Cuda {

struct LpPoolKernel {
  static constexpr const char* kName = "LpPool";
  static constexpr size_t kInputs = 2;
  static constexpr const char* kProvider = Cuda::kProvider;
  static constexpr unsigned kHostInputs = 1u << 1;  // P
  static constexpr size_t kRequired = 1;
  static constexpr int kExponentInput = 1;  // P (-1: none)
  explicit LpPoolKernel(const OrtKernelInfo* info);
  OrtStatusPtr ComputeV2(OrtKernelContext* ctx) {
    return Guard([&] { RunOnStream(kName, node_, [&] { Compute(ctx); }); });
  }
  void Compute(OrtKernelContext* ctx);

 private:
  std::string node_;
  schema::LpPoolAttrs attrs_;
  std::unique_ptr<DeviceConstant> p_const_;  // P is a constant initializer, checked and uploaded at creation
};

}  // namespace Cuda
}  // namespace lp
