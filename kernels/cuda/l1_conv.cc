#include "l1_conv.h"

#include "launch_args.h"

namespace lp {
namespace Cuda {

L1ConvKernel::L1ConvKernel(const OrtKernelInfo* info) {
  const AttrReader r(info, kName);
  node_ = r.node();
  attrs_ = schema::L1ConvAttrs::Read(r);
  Ort::ConstKernelInfo ki(info);
  CheckDeclaredLengths(ki, attrs_, node_);
  int is_const = 0;
  auto w = ki.GetTensorConstantInput(1, &is_const);
  if (is_const) CheckL1ConvWeights(node_, attrs_.group, w.GetTensorTypeAndShapeInfo().GetShape(), nullptr);
}

void L1ConvKernel::Compute(OrtKernelContext* ctx) {
  const OrtValue* xv = OptionalInput(ctx, 0);
  const OrtValue* wv = OptionalInput(ctx, 1);
  const OrtValue* bv = OptionalInput(ctx, 2);
  if (xv == nullptr || wv == nullptr) Fail(kName, node_, "inputs X and W are required");
  const std::vector<int64_t> bs = bv ? ShapeOf(bv) : std::vector<int64_t>{};
  const L1ConvPlan plan = PlanL1Conv(attrs_, node_, ShapeOf(xv), ShapeOf(wv), bv ? &bs : nullptr);
  Ort::KernelContext kc(ctx);
  auto yv = kc.GetOutput(0, plan.ys);
  if (plan.count == 0) return;
  const cudaStream_t stream = StreamOf(ctx);
  const DeviceFloats x(ctx, xv, stream, kName, node_), w(ctx, wv, stream, kName, node_), b(ctx, bv, stream, kName, node_);
  DeviceFloatOutput y(ctx, yv, stream, kName, node_);
  const L1ConvArgs a = L1ConvArgsOf(plan, x.data(), w.data(), b.data(), y.data());
  Scratch taps(ctx, static_cast<size_t>(L1ConvTapTableBytes(a)), kName, node_);
  Check(LaunchL1Conv(a, taps.As<L1ConvTap>(), stream), kName, node_);
  y.Finish();
}

}  // namespace Cuda
}  // namespace lp
