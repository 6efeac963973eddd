#include "lp_norm.h"

#include "launch_args.h"
#include "weight_scan.h"

namespace lp {
namespace Cuda {

LpNormKernel::LpNormKernel(const OrtKernelInfo* info) {
  const AttrReader r(info, kName);
  node_ = r.node();
  attrs_ = schema::LpNormAttrs::Read(r);
  Ort::ConstKernelInfo ki(info);
  int is_const = 0;
  auto w = ki.GetTensorConstantInput(1, &is_const);
  if (is_const) {
    const auto ws = w.GetTensorTypeAndShapeInfo().GetShape();
    CheckLpNormWeightRank(node_, ws);
    CheckConstantWeights(w.GetTensorData<float>(), ws[0], ws[1]);
    w_checked_ = true;
  }
  CheckConstantExponents(ki, 2, kName, node_, "M");
}

void LpNormKernel::CheckConstantWeights(const float* w, int64_t m, int64_t k) const {
  std::vector<float> host(static_cast<size_t>(m * k));
  // cudaMemcpyDefault: a constant initializer may sit on the host or on the device
  if (!host.empty()) Check(cudaMemcpy(host.data(), w, sizeof(float) * host.size(), cudaMemcpyDefault), kName, node_);
  CheckLpNormWeights(node_, host.data(), m, k, attrs_.mean != 0);
}

void LpNormKernel::Compute(OrtKernelContext* ctx) {
  const OrtValue* xv = OptionalInput(ctx, 0);
  const OrtValue* wv = OptionalInput(ctx, 1);
  const OrtValue* pv = OptionalInput(ctx, 2);
  if (xv == nullptr || wv == nullptr) Fail(kName, node_, "inputs X and W are required");
  const std::vector<int64_t> ps = pv ? ShapeOf(pv) : std::vector<int64_t>{};
  const LpNormPlan plan = PlanLpNorm(node_, ShapeOf(xv), ShapeOf(wv), pv ? &ps : nullptr);
  if (pv) CheckExponents(DataOf(pv), plan.np, kName, node_);  // on the host: P is a CPU input
  const cudaStream_t stream = StreamOf(ctx);
  if (!w_checked_) {
    Scratch scan(ctx, LpNormWeightScanBytes(plan.m, attrs_.mean != 0));
    CheckDeviceLpNormWeights(node_, DataOf(wv), plan.m, plan.k, attrs_.mean != 0, scan.As<void>(), stream);
  }
  Ort::KernelContext kc(ctx);
  auto yv = kc.GetOutput(0, plan.ys);
  if (plan.count == 0) return;
  Scratch p(ctx, sizeof(float) * static_cast<size_t>(plan.np));
  if (pv) Check(cudaMemcpyAsync(p.As<float>(), DataOf(pv), sizeof(float) * plan.np, cudaMemcpyHostToDevice, stream), kName, node_);
  const LpNormArgs a =
      LpNormArgsOf(plan, attrs_, DataOf(xv), DataOf(wv), p.As<float>(), yv.GetTensorMutableData<float>(), pv ? DataOf(pv) : nullptr);
  Check(LaunchLpNorm(a, stream), kName, node_);
}

}  // namespace Cuda
}  // namespace lp
