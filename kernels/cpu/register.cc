// The lp-onnx custom-op library: RegisterCustomOps adds the domain com.lponnx (version 1) with the
// CPU kernels to a session's options. Loaded by the lp-onnx/node addon, and by Python onnxruntime
// through SessionOptions.register_custom_ops_library.
#include <mutex>

#include "l1_conv.h"
#include "lp_norm.h"
#include "lp_pool.h"

namespace lp {
namespace Cpu {
void RegisterOps(Ort::CustomOpDomain& domain) {
  static Op<LpNormKernel> lp_norm;
  static Op<LpPoolKernel> lp_pool;
  static Op<L1ConvKernel> l1_conv;
  domain.Add(&lp_norm);
  domain.Add(&lp_pool);
  domain.Add(&l1_conv);
}
}  // namespace Cpu
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
      lp::Cpu::RegisterOps(*domain);
    });
    Ort::UnownedSessionOptions(options).Add(*domain);
  });
}
