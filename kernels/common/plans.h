// What every native kernel of an op (CPU and CUDA) decides on the host before it computes: the
// checks of shapes against the attributes (read through kernels/schema), the resolved window
// geometry (the same rules as ops/geometry.ts) and the output shape. Kernels receive these numbers
// and never re-derive them. No onnxruntime value is touched here: only shapes and attributes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../schema/lp_schema.h"

namespace lp {

// --- window geometry (ops/geometry.ts resolveWindow) ---------------------------------------------

struct Axis {
  int64_t input, kernel, stride, dilation, pad_begin, pad_end, output;
};

enum class WindowKind { kPool, kConv };

// The window attributes of a node for one spatial rank, per-axis lists filled (ops/geometry.ts).
struct WindowAttrs {
  std::vector<int64_t> kernel, strides, pads, dilations;
  std::string auto_pad = "NOTSET";
  bool ceil_mode = false;
  bool pads_given = false;
};

// LpPool's and L1Conv's window attributes (the schema's per-axis lists) for a kernel and a rank.
template <typename A>
WindowAttrs WindowOf(const A& a, const std::vector<int64_t>& kernel, size_t rank, bool ceil_mode) {
  WindowAttrs w;
  w.kernel = kernel;
  w.strides = PerAxis(A::kStrides, a.strides, rank);
  w.pads = PerAxis(A::kPads, a.pads, rank);
  w.dilations = PerAxis(A::kDilations, a.dilations, rank);
  w.auto_pad = a.auto_pad;
  w.ceil_mode = ceil_mode;
  w.pads_given = a.pads.has_value();
  return w;
}

// Spatial sizes beyond this are refused before any window arithmetic (which then cannot overflow:
// attribute values are at most 2^31 - 1).
constexpr int64_t kMaxSpatial = int64_t{1} << 52;

inline std::vector<Axis> ResolveWindow(WindowKind kind, const std::vector<int64_t>& spatial, const WindowAttrs& a, const std::string& op,
                                       const std::string& node) {
  const size_t r = spatial.size();
  if (a.kernel.size() != r || a.strides.size() != r || a.dilations.size() != r || a.pads.size() != 2 * r) {
    Fail(op, node, Str("window attributes do not match ", r, " spatial dims"));  // CheckLengths refuses these first
  }
  if (a.auto_pad != "NOTSET" && a.pads_given && std::any_of(a.pads.begin(), a.pads.end(), [](int64_t p) { return p != 0; })) {
    Fail(op, node, "pads cannot be given with auto_pad '" + a.auto_pad + "'");
  }
  std::vector<Axis> axes(r);
  for (size_t i = 0; i < r; ++i) {
    Axis& x = axes[i];
    x.input = spatial[i];
    if (x.input > kMaxSpatial) Fail(op, node, Str("spatial dim ", i, " = ", x.input, " is too large"));
    x.kernel = a.kernel[i];
    x.stride = a.strides[i];
    x.dilation = a.dilations[i];
    if (x.kernel < 1) Fail(op, node, Str("kernel_shape[", i, "] = ", x.kernel, "; must be >= 1"));
    if (x.stride < 1) Fail(op, node, Str("strides[", i, "] = ", x.stride, "; must be >= 1"));
    if (x.dilation < 1) Fail(op, node, Str("dilations[", i, "] = ", x.dilation, "; must be >= 1"));
    x.pad_begin = a.pads[i];
    x.pad_end = a.pads[i + r];
    if (x.pad_begin < 0 || x.pad_end < 0) Fail(op, node, Str("pads of axis ", i, " are negative"));
    if (a.auto_pad == "VALID") {
      x.pad_begin = x.pad_end = 0;
    } else if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
      const int64_t span = kind == WindowKind::kPool ? x.kernel : x.dilation * (x.kernel - 1) + 1;
      const int64_t total = std::max<int64_t>(0, ((x.input + x.stride - 1) / x.stride - 1) * x.stride + span - x.input);
      const int64_t small = total / 2;
      x.pad_begin = a.auto_pad == "SAME_UPPER" ? small : total - small;
      x.pad_end = total - x.pad_begin;
    } else if (a.auto_pad != "NOTSET") {
      Fail(op, node, "auto_pad '" + a.auto_pad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
    }
    const int64_t span = x.dilation * (x.kernel - 1) + 1;
    const int64_t room = x.input + x.pad_begin + x.pad_end - span;
    if (room < 0) {
      x.output = 0;
    } else if (kind == WindowKind::kConv || !a.ceil_mode) {
      x.output = room / x.stride + 1;
    } else {
      x.output = (room + x.stride - 1) / x.stride + 1;
      if ((x.output - 1) * x.stride >= x.input + x.pad_begin) x.output -= 1;
    }
    if (x.output < 1) {
      Fail(op, node,
           Str("output dim ", i, " would be ", x.output, " (< 1): input ", x.input, ", kernel ", x.kernel, ", stride ", x.stride,
               ", dilation ", x.dilation, ", pads ", x.pad_begin, "+", x.pad_end));
    }
  }
  return axes;
}

// Pads the axes to three (unit axes in front, so one loop nest serves 1D, 2D and 3D) and returns
// the output shape [n, channels, outputs of the real axes].
inline std::vector<int64_t> ThreeAxes(std::vector<Axis>& axes, int64_t n, int64_t channels) {
  const size_t rank = axes.size();
  while (axes.size() < 3) axes.insert(axes.begin(), Axis{1, 1, 1, 1, 0, 0, 1});
  std::vector<int64_t> shape = {n, channels};
  for (size_t i = 3 - rank; i < 3; ++i) shape.push_back(axes[i].output);
  return shape;
}

// The element count of an input's dims (a tensor that exists: it cannot overflow).
inline int64_t Product(const std::vector<int64_t>& d, size_t from = 0) {
  int64_t n = 1;
  for (size_t i = from; i < d.size(); ++i) n *= d[i];
  return n;
}

// The element count of output dims the kernel computed; refused when it does not fit in int64.
inline int64_t OutputElements(const std::vector<int64_t>& d, const std::string& op, const std::string& node) {
  int64_t n = 1;
  for (int64_t v : d)
    if (v == 0) return 0;
  for (int64_t v : d) {
    if (__builtin_mul_overflow(n, v, &n)) {
      std::string dims;
      for (int64_t x : d) dims += (dims.empty() ? "" : ",") + std::to_string(x);
      Fail(op, node, "the output dims [" + dims + "] are too large");
    }
  }
  return n;
}

// A float of a message, as the TypeScript reference prints it.
inline std::string Num(float v) { return JsNumber(static_cast<double>(v)); }

// P of LpNorm / LpPool: > 0 or +inf, never NaN.
inline void CheckExponents(const float* p, int64_t n, const std::string& op, const std::string& node) {
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(p[i])) Fail(op, node, Str("P[", i, "] is NaN; exponents must be > 0 or +inf"));
    if (!(p[i] > 0)) Fail(op, node, Str("P[", i, "] = ", JsNumber(p[i]), "; exponents must be > 0 or +inf"));
  }
}

// --- plans: shapes checked, geometry resolved ------------------------------------------------------

// W of LpNorm is [M, K].
inline void CheckLpNormWeightRank(const std::string& node, const std::vector<int64_t>& ws) {
  if (ws.size() != 2) Fail(schema::LpNormAttrs::kOp, node, Str("W must have rank 2 [M, K], got rank ", ws.size()));
}

// The one rule among LpPool's attributes that is not the schema's: kernel_shape unless global = 1.
inline void CheckLpPoolAttrs(const schema::LpPoolAttrs& a, const std::string& node) {
  if (!a.global && !a.kernel_shape) {
    Fail(schema::LpPoolAttrs::kOp, node, "required attribute kernel_shape is missing (it may be omitted only when global = 1)");
  }
}

struct LpNormPlan {
  int64_t rows, k, m;
  int64_t np;  // length of P (0: the attribute p)
  std::vector<int64_t> ys;
  int64_t count;  // elements of Y
};

// X [..., K], W [M, K], P [M] / [1] / [] (ps: nullptr when absent).
inline LpNormPlan PlanLpNorm(const std::string& node, const std::vector<int64_t>& xs, const std::vector<int64_t>& ws,
                             const std::vector<int64_t>* ps) {
  const char* op = schema::LpNormAttrs::kOp;
  if (xs.empty()) Fail(op, node, "X must have rank >= 1, got a scalar");
  CheckLpNormWeightRank(node, ws);
  LpNormPlan p;
  p.k = xs.back();
  p.m = ws[0];
  if (ws[1] != p.k) Fail(op, node, Str("K of X (", p.k, ") does not equal K of W (", ws[1], ")"));
  p.np = 0;
  if (ps) {
    if (ps->size() > 1) Fail(op, node, Str("P must be [M], [1] or a scalar, got rank ", ps->size()));
    p.np = Product(*ps);
    if (p.np != 1 && p.np != p.m) Fail(op, node, Str("P has length ", p.np, "; expected M = ", p.m, ", 1 or a scalar"));
  }
  p.ys.assign(xs.begin(), xs.end() - 1);
  p.ys.push_back(p.m);
  p.count = OutputElements(p.ys, op, node);
  p.rows = Product(std::vector<int64_t>(xs.begin(), xs.end() - 1));
  return p;
}

// W of LpNorm (on the host): >= 0, no NaN, and no row summing to 0 when mean = 1. Returns Z per unit
// (the row sums when mean = 1, else 1).
// The two refusals of W's values (ops.md), worded once for every kernel.
[[noreturn]] inline void FailLpNormWeight(const std::string& node, int64_t j, int64_t i, float v) {
  const char* kName = schema::LpNormAttrs::kOp;
  if (std::isnan(v)) Fail(kName, node, Str("W[", j, ",", i, "] is NaN; weights must be >= 0"));
  Fail(kName, node, Str("W[", j, ",", i, "] = ", Num(v), " is negative; weights must be >= 0"));
}
[[noreturn]] inline void FailLpNormZeroRow(const std::string& node, int64_t j) {
  Fail(schema::LpNormAttrs::kOp, node, Str("mean = 1 but row ", j, " of W sums to 0 (the power mean is undefined)"));
}

inline std::vector<float> CheckLpNormWeights(const std::string& node, const float* w, int64_t m, int64_t k, bool mean) {
  std::vector<float> z(m, 1.0f);
  for (int64_t j = 0; j < m; ++j) {
    const float* row = w + j * k;
    // fast scan; the slow path only finds and names the offending index
    float lo = 0.0f;
    double sum = 0.0;
    for (int64_t i = 0; i < k; ++i) {
      lo = std::min(lo, row[i]);
      sum += row[i];
    }
    if (lo < 0 || std::isnan(sum)) {
      for (int64_t i = 0; i < k; ++i)
        if (std::isnan(row[i]) || row[i] < 0) FailLpNormWeight(node, j, i, row[i]);
    }
    if (mean) {
      if (sum == 0) FailLpNormZeroRow(node, j);
      z[j] = static_cast<float>(sum);
    }
  }
  return z;
}

struct LpPoolPlan {
  int64_t n, c;
  int64_t np;              // length of P (0: the attribute p)
  std::vector<Axis> axes;  // three, unit axes in front
  std::vector<int64_t> ys;
  int64_t count;
};

// X [N, C, D1 (, D2 (, D3))], P [C] / [1] / [] (ps: nullptr when absent).
inline LpPoolPlan PlanLpPool(const schema::LpPoolAttrs& a, const std::string& node, const std::vector<int64_t>& xs,
                             const std::vector<int64_t>* ps) {
  const char* op = schema::LpPoolAttrs::kOp;
  CheckLpPoolAttrs(a, node);
  if (xs.size() < 3 || xs.size() > 5) Fail(op, node, Str("X must be [N, C, D1 (, D2 (, D3))], got rank ", xs.size()));
  const size_t rank = xs.size() - 2;
  a.CheckLengths(node, rank);
  LpPoolPlan p;
  p.n = xs[0];
  p.c = xs[1];
  p.np = 0;
  if (ps) {
    if (ps->size() > 1) Fail(op, node, Str("P must be [C], [1] or a scalar, got rank ", ps->size()));
    p.np = Product(*ps);
    if (p.np != 1 && p.np != p.c) Fail(op, node, Str("P has length ", p.np, "; expected C = ", p.c, ", 1 or a scalar"));
  }
  const std::vector<int64_t> spatial(xs.begin() + 2, xs.end());
  if (a.global) {
    for (int64_t d : spatial) {
      if (d > kMaxSpatial) Fail(op, node, Str("spatial dim ", p.axes.size(), " = ", d, " is too large"));
      p.axes.push_back({d, d, 1, 1, 0, 0, 1});
    }
  } else {
    p.axes = ResolveWindow(WindowKind::kPool, spatial, WindowOf(a, *a.kernel_shape, rank, a.ceil_mode != 0), op, node);
  }
  p.ys = ThreeAxes(p.axes, p.n, p.c);
  p.count = OutputElements(p.ys, op, node);
  return p;
}

struct L1ConvPlan {
  int64_t n, cin, cout, cg, group;
  std::vector<Axis> axes;  // three, unit axes in front
  std::vector<int64_t> ys;
  int64_t count;
};

// W's rank and C_out against group; B against C_out (bs: nullptr when not checked).
inline void CheckL1ConvWeights(const std::string& node, int64_t group, const std::vector<int64_t>& ws, const std::vector<int64_t>* bs) {
  const char* op = schema::L1ConvAttrs::kOp;
  if (ws.size() < 3 || ws.size() > 5) Fail(op, node, Str("W must be [C_out, C_in / group, k1 (, k2 (, k3))], got rank ", ws.size()));
  if (ws[0] % group != 0) Fail(op, node, Str("C_out = ", ws[0], " is not divisible by group = ", group));
  if (bs && (bs->size() != 1 || (*bs)[0] != ws[0])) {
    std::string dims;
    for (int64_t d : *bs) dims += (dims.empty() ? "" : ",") + std::to_string(d);
    Fail(op, node, Str("B must be [C_out] = [", ws[0], "], got [", dims, "]"));
  }
}

// X [N, C_in, D...], W [C_out, C_in / group, k...], B [C_out] (bs: nullptr when absent).
inline L1ConvPlan PlanL1Conv(const schema::L1ConvAttrs& a, const std::string& node, const std::vector<int64_t>& xs,
                             const std::vector<int64_t>& ws, const std::vector<int64_t>* bs) {
  const char* op = schema::L1ConvAttrs::kOp;
  if (xs.size() < 3 || xs.size() > 5) Fail(op, node, Str("X must be [N, C_in, D1 (, D2 (, D3))], got rank ", xs.size()));
  CheckL1ConvWeights(node, a.group, ws, nullptr);
  if (ws.size() != xs.size()) Fail(op, node, Str("rank mismatch: X has rank ", xs.size(), ", W has rank ", ws.size()));
  const size_t rank = xs.size() - 2;
  L1ConvPlan p;
  p.n = xs[0];
  p.cin = xs[1];
  p.cout = ws[0];
  p.cg = ws[1];
  p.group = a.group;
  if (p.cin % p.group != 0) Fail(op, node, Str("C_in = ", p.cin, " is not divisible by group = ", p.group));
  if (p.cg * p.group != p.cin) {
    Fail(op, node, Str("channel mismatch: X has C_in = ", p.cin, " but W has ", p.cg, " channels per group x group ", p.group));
  }
  a.CheckLengths(node, rank);
  if (bs) CheckL1ConvWeights(node, a.group, ws, bs);
  const std::vector<int64_t> kdims(ws.begin() + 2, ws.end());
  if (a.kernel_shape && *a.kernel_shape != kdims) {
    std::string k, d;
    for (int64_t v : *a.kernel_shape) k += (k.empty() ? "" : ",") + std::to_string(v);
    for (int64_t v : kdims) d += (d.empty() ? "" : ",") + std::to_string(v);
    Fail(op, node, "kernel_shape [" + k + "] disagrees with W's spatial dims [" + d + "]");
  }
  const std::vector<int64_t> spatial(xs.begin() + 2, xs.end());
  p.axes = ResolveWindow(WindowKind::kConv, spatial, WindowOf(a, kdims, rank, false), op, node);
  p.ys = ThreeAxes(p.axes, p.n, p.cout);
  p.count = OutputElements(p.ys, op, node);
  return p;
}

}  // namespace lp
