// The launchers' arguments from an op's plan and attributes: the resolved numbers the device code
// takes, filled in one place for the onnxruntime kernels and the GPU check (host code only).
#pragma once

#include <cmath>

#include "../common/plans.h"
#include "l1_conv_impl.cuh"
#include "lp_norm_impl.cuh"
#include "lp_pool_impl.cuh"

namespace lp {
namespace Cuda {

// The three resolved axes of a window plan into a launcher's arguments (LpPoolArgs, L1ConvArgs).
template <typename Args, typename Axes>
inline void CopyAxes(const Axes& axes, Args& a) {
  for (int i = 0; i < 3; ++i) {
    const Axis& ax = axes[i];
    a.input[i] = ax.input;
    a.kernel[i] = ax.kernel;
    a.stride[i] = ax.stride;
    a.dilation[i] = ax.dilation;
    a.pad_begin[i] = ax.pad_begin;
    a.output[i] = ax.output;
  }
}

inline LpPoolArgs LpPoolArgsOf(const LpPoolPlan& plan, const schema::LpPoolAttrs& attrs, const float* x, const float* p, float* y) {
  LpPoolArgs a{};
  a.x = x;
  a.y = y;
  a.p = p;
  a.planes = plan.n * plan.c;
  a.channels = plan.c;
  a.np = plan.np;
  a.p_attr = attrs.p;
  a.eps = attrs.eps;
  a.abs_mode = attrs.mode == "abs";
  a.mean = static_cast<int>(attrs.mean);
  a.count_include_pad = static_cast<int>(attrs.count_include_pad);
  CopyAxes(plan.axes, a);
  for (int i = 0; i < 3; ++i) a.pad_end[i] = plan.axes[i].pad_end;
  return a;
}

inline L1ConvArgs L1ConvArgsOf(const L1ConvPlan& plan, const float* x, const float* w, const float* b, float* y) {
  L1ConvArgs a{};
  a.x = x;
  a.w = w;
  a.b = b;
  a.y = y;
  a.n = plan.n;
  a.cin = plan.cin;
  a.cout = plan.cout;
  a.cg = plan.cg;
  a.group = plan.group;
  CopyAxes(plan.axes, a);
  return a;
}

// p: P on the device; p_host: its host copy where there is one (a single value of it becomes the
// attribute, so the shared-p kernel runs).
inline LpNormArgs LpNormArgsOf(const LpNormPlan& plan, const schema::LpNormAttrs& attrs, const float* x, const float* w, const float* p,
                               float* y, const float* p_host = nullptr) {
  LpNormArgs a{};
  a.x = x;
  a.w = w;
  a.p = p;
  a.y = y;
  a.rows = plan.rows;
  a.k = plan.k;
  a.m = plan.m;
  a.np = plan.np;
  a.p_attr = attrs.p;
  a.eps = attrs.eps;
  a.sum_eps = attrs.sum_eps;
  a.abs_mode = attrs.mode == "abs";
  a.mean = static_cast<int>(attrs.mean);
  if (plan.np == 1 && p_host) {
    a.np = 0;
    a.p_attr = p_host[0];
  }
  a.p_finite = 0;
  if (a.np > 1 && p_host) {
    a.p_finite = 1;
    for (int64_t j = 0; j < a.np; ++j) a.p_finite &= !std::isinf(p_host[j]);  // checked before: > 0, not NaN
  }
  return a;
}

}  // namespace Cuda
}  // namespace lp
