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
    CheckLpNormWeights(node_, HostFloats(w, kName, node_).data(), ws[0], ws[1], attrs_.mean != 0);
    w_checked_ = true;
  }
  if (CheckConstantExponents(ki, 2, kName, node_, "M")) p_const_ = UploadConstant(ki, 2, kName, node_);
}

void LpNormKernel::Compute(OrtKernelContext* ctx) {
  const OrtValue* xv = OptionalInput(ctx, 0);
  const OrtValue* wv = OptionalInput(ctx, 1);
  const OrtValue* pv = OptionalInput(ctx, 2);
  if (xv == nullptr || wv == nullptr) Fail(kName, node_, "inputs X and W are required");
  const std::vector<int64_t> ps = pv ? ShapeOf(pv) : std::vector<int64_t>{};
  const LpNormPlan plan = PlanLpNorm(node_, ShapeOf(xv), ShapeOf(wv), pv ? &ps : nullptr);
  // a fed P: checked on the host (a CPU input; float16 converted) and copied on each run; a
  // constant one was at creation
  const std::vector<float> p_host = pv ? HostFloats(Ort::ConstValue(pv), kName, node_) : std::vector<float>{};
  if (pv && !p_const_) CheckExponents(p_host.data(), plan.np, kName, node_);
  const cudaStream_t stream = StreamOf(ctx);
  const DeviceFloats w(ctx, wv, stream, kName, node_);
  if (!w_checked_) {
    Scratch scan(ctx, LpNormWeightScanBytes(plan.m, attrs_.mean != 0), kName, node_);
    CheckDeviceLpNormWeights(node_, w.data(), plan.m, plan.k, attrs_.mean != 0, scan.As<void>(), stream);
  }
  Ort::KernelContext kc(ctx);
  auto yv = kc.GetOutput(0, plan.ys);
  if (plan.count == 0) return;
  Scratch p(ctx, p_const_ ? 0 : sizeof(float) * static_cast<size_t>(plan.np), kName, node_);
  if (pv && !p_const_)
    Check(cudaMemcpyAsync(p.As<float>(), p_host.data(), sizeof(float) * plan.np, cudaMemcpyHostToDevice, stream), kName, node_);
  const float* pd = p_const_ ? p_const_->data() : p.As<float>();
  const DeviceFloats x(ctx, xv, stream, kName, node_);
  DeviceFloatOutput y(ctx, yv, stream, kName, node_);
  const LpNormArgs a = LpNormArgsOf(plan, attrs_, x.data(), w.data(), pd, y.data(), pv ? p_host.data() : nullptr);
  Scratch work(ctx, static_cast<size_t>(LpNormWorkBytes(a)), kName, node_);
  Check(LaunchLpNorm(a, work.As<void>(), stream), kName, node_);
  y.Finish();
}

}  // namespace Cuda
}  // namespace lp
