// The lp-onnx custom-op library: RegisterCustomOps adds the domain com.lponnx (version 1) with the
// CPU kernels to a session's options. Loaded by the lp-onnx/node addon, and by Python onnxruntime
// through SessionOptions.register_custom_ops_library.
#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "l1_conv.h"
#include "lp_norm.h"
#include "lp_pool.h"

namespace lp {
namespace Cpu {
// The CPU kernels, but those named in `except`, for every element type they take.
void RegisterOps(Ort::CustomOpDomain& domain, const std::vector<std::string>& except) {
  const auto keep = [&](const char* name) { return std::find(except.begin(), except.end(), name) == except.end(); };
  if (keep(LpNormKernel::kName)) AddTypedOps<LpNormKernel>(domain);
  if (keep(LpPoolKernel::kName)) AddTypedOps<LpPoolKernel>(domain);
  if (keep(L1ConvKernel::kName)) AddTypedOps<L1ConvKernel>(domain);
}
}  // namespace Cpu

#if defined(LP_CUDA_EMULATION) || defined(LP_WITH_CUDA)
namespace Cuda {
const std::vector<std::string>& OpNames();
void RegisterOps(Ort::CustomOpDomain& domain);
}  // namespace Cuda
#endif
}  // namespace lp

extern "C" __attribute__((visibility("default"))) OrtStatus* ORT_API_CALL RegisterCustomOps(OrtSessionOptions* options,
                                                                                            const OrtApiBase* api_base) {
  Ort::InitApi(api_base->GetApi(ORT_API_VERSION));
  // One domain for the process: sessions keep a pointer to it.
  static std::once_flag once;
  static Ort::CustomOpDomain* domain = nullptr;
  return lp::Guard([&] {
    std::call_once(once, [] {
      domain = new Ort::CustomOpDomain(lp::kDomain);
#if defined(LP_CUDA_EMULATION)
      // the test build: the CUDA kernels (device code on the CPU emulation) stand in for the CPU ones
      lp::Cuda::RegisterOps(*domain);
      lp::Cpu::RegisterOps(*domain, lp::Cuda::OpNames());
#else
      lp::Cpu::RegisterOps(*domain, {});
#if defined(LP_WITH_CUDA)
      // the same ops for onnxruntime's CUDA execution provider, in the one domain
      lp::Cuda::RegisterOps(*domain);
#endif
#endif
    });
    Ort::UnownedSessionOptions(options).Add(*domain);
  });
}
