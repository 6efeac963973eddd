#include "lp_pool.h"

#include "launch_args.h"

namespace lp {
namespace Cuda {

LpPoolKernel::LpPoolKernel(const OrtKernelInfo* info) {
  const AttrReader r(info, kName);
  node_ = r.node();
  attrs_ = schema::LpPoolAttrs::Read(r);
  CheckLpPoolAttrs(attrs_, node_);
  Ort::ConstKernelInfo ki(info);
  CheckDeclaredLengths(ki, attrs_, node_);
  if (CheckConstantExponents(ki, 1, kName, node_, "C")) p_const_ = UploadConstant(ki, 1, kName, node_);
}

void LpPoolKernel::Compute(OrtKernelContext* ctx) {
  const OrtValue* xv = OptionalInput(ctx, 0);
  const OrtValue* pv = OptionalInput(ctx, 1);
  if (xv == nullptr) Fail(kName, node_, "input X is required");
  const auto xs = ShapeOf(xv);
  const std::vector<int64_t> ps = pv ? ShapeOf(pv) : std::vector<int64_t>{};
  const LpPoolPlan plan = PlanLpPool(attrs_, node_, xs, pv ? &ps : nullptr);
  // a fed P: checked on the host (a CPU input; float16 converted) and copied on each run; a
  // constant one was at creation
  const std::vector<float> p_host = pv && !p_const_ ? HostFloats(Ort::ConstValue(pv), kName, node_) : std::vector<float>{};
  if (pv && !p_const_) CheckExponents(p_host.data(), plan.np, kName, node_);
  Ort::KernelContext kc(ctx);
  auto yv = kc.GetOutput(0, plan.ys);
  if (plan.count == 0) return;
  const cudaStream_t stream = StreamOf(ctx);
  Scratch p(ctx, p_const_ ? 0 : sizeof(float) * static_cast<size_t>(plan.np), kName, node_);
  if (pv && !p_const_)
    Check(cudaMemcpyAsync(p.As<float>(), p_host.data(), sizeof(float) * plan.np, cudaMemcpyHostToDevice, stream), kName, node_);
  const DeviceFloats x(ctx, xv, stream, kName, node_);
  DeviceFloatOutput y(ctx, yv, stream, kName, node_);
  const LpPoolArgs a = LpPoolArgsOf(plan, attrs_, x.data(), p_const_ ? p_const_->data() : p.As<float>(), y.data());
  Check(LaunchLpPool(a, stream), kName, node_);
  y.Finish();
}

}  // namespace Cuda
}  // namespace lp
