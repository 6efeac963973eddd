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

void RegisterOps(Ort::CustomOpDomain& domain) {
  static Op<LpNormKernel> lp_norm;
  static Op<LpPoolKernel> lp_pool;
  static Op<L1ConvKernel> l1_conv;
  domain.Add(&lp_norm);
  domain.Add(&lp_pool);
  domain.Add(&l1_conv);
}

}  // namespace Cuda
}  // namespace lp
