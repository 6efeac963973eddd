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

// Each for every element type it takes, as the CPU kernels.
void RegisterOps(Ort::CustomOpDomain& domain) {
  AddTypedOps<LpNormKernel>(domain);
  AddTypedOps<LpPoolKernel>(domain);
  AddTypedOps<L1ConvKernel>(domain);
}

}  // namespace Cuda
}  // namespace lp
