#include "l1_conv.h"

#include "l1_conv_impl.cuh"

namespace lp {
namespace Cuda {

L1ConvKernel::L1ConvKernel(const OrtKernelInfo* info) {
  const AttrReader r(info, kName);
  node_ = r.node();
  attrs_ = schema::L1ConvAttrs::Read(r);
  Ort::ConstKernelInfo ki(info);
  if (const size_t rank = KnownRank(ki, 0); rank >= 3 && rank <= 5) attrs_.CheckLengths(node_, rank - 2);
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
  L1ConvArgs a{};
  a.x = DataOf(xv);
  a.w = DataOf(wv);
  a.b = bv ? DataOf(bv) : nullptr;
  a.y = yv.GetTensorMutableData<float>();
  a.n = plan.n;
  a.cin = plan.cin;
  a.cout = plan.cout;
  a.cg = plan.cg;
  a.group = plan.group;
  for (int i = 0; i < 3; ++i) {
    const Axis& x = plan.axes[i];
    a.input[i] = x.input;
    a.kernel[i] = x.kernel;
    a.stride[i] = x.stride;
    a.dilation[i] = x.dilation;
    a.pad_begin[i] = x.pad_begin;
    a.output[i] = x.output;
  }
  Check(LaunchL1Conv(a, StreamOf(ctx)), kName, node_);
}

}  // namespace Cuda
}  // namespace lp
