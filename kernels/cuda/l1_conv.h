// L1Conv CUDA kernel, the onnxruntime side (ops.md): attributes through kernels/schema, shapes and
// geometry through kernels/common/plans.h (as the CPU kernel), then one launch on the EP's stream.
#pragma once
#include "cuda_common.h"

namespace lp {
namespace Cuda {

struct L1ConvKernel {
  static constexpr const char* kName = "L1Conv";
  static constexpr size_t kInputs = 3;
  static constexpr const char* kProvider = Cuda::kProvider;
  static constexpr unsigned kHostInputs = 0;
  static constexpr size_t kRequired = 2;
  static constexpr int kExponentInput = -1;  // P (-1: none)
  explicit L1ConvKernel(const OrtKernelInfo* info);
  OrtStatusPtr ComputeV2(OrtKernelContext* ctx) {
    return Guard([&] { RunOnStream(kName, node_, [&] { Compute(ctx); }); });
  }
  void Compute(OrtKernelContext* ctx);

 private:
  std::string node_;
  schema::L1ConvAttrs attrs_;
};

}  // namespace Cuda
}  // namespace lp
