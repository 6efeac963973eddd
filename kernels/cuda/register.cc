// The CUDA kernels of the com.lponnx domain (kernels/cpu/register.cc adds them beside the CPU ones).
#include "l1_conv.h"
#include "lp_norm.h"
#include "lp_pool.h"

namespace lp {
namespace Cuda {

const std::vector<std::string>& OpNames() {
  static const std::vector<std::string> names = {"LpNorm", "LpPool", "L1Conv"};
  return names;
}

// Each for T float and float16, and P float or float16 whatever T is, as the CPU kernels.
void RegisterOps(Ort::CustomOpDomain& domain) {
  constexpr auto F = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, H = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
  static Op<LpNormKernel, F, F> lp_norm;
  static Op<LpNormKernel, F, H> lp_norm_fh;
  static Op<LpNormKernel, H, F> lp_norm_hf;
  static Op<LpNormKernel, H, H> lp_norm_hh;
  static Op<LpPoolKernel, F, F> lp_pool;
  static Op<LpPoolKernel, F, H> lp_pool_fh;
  static Op<LpPoolKernel, H, F> lp_pool_hf;
  static Op<LpPoolKernel, H, H> lp_pool_hh;
  static Op<L1ConvKernel, F> l1_conv;
  static Op<L1ConvKernel, H> l1_conv_h;
  for (OrtCustomOp* op : std::initializer_list<OrtCustomOp*>{&lp_norm, &lp_norm_fh, &lp_norm_hf, &lp_norm_hh, &lp_pool, &lp_pool_fh,
                                                             &lp_pool_hf, &lp_pool_hh, &l1_conv, &l1_conv_h})
    domain.Add(op);
}

}  // namespace Cuda
}  // namespace lp
