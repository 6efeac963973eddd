// LpPool on the CPU (ops.md). Per (n, c) plane: each input element is powered once, relative to
// the plane maximum M (u = (a / M)^p); a window sums its u and is finished with its own maximum,
// y = M (sum u / Z)^(1/p). A window whose terms would underflow that way (its maximum far below
// M) is recomputed exactly, scaled by its own maximum.
#include "lp_pool.h"

namespace lp {

namespace {
__attribute__((target_clones("avx512f", "avx2", "default"))) void PowScaled(const float* a, int64_t n, float inv_m, float p, float* u) {
  if (p == 1.0f) {
    for (int64_t i = 0; i < n; ++i) u[i] = a[i] * inv_m;
  } else if (p == 2.0f) {
    for (int64_t i = 0; i < n; ++i) {
      const float r = a[i] * inv_m;
      u[i] = r * r;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) u[i] = FastExp(p * FastLog(a[i] * inv_m));
  }
}
}  // namespace

LpPoolKernel::LpPoolKernel(const OrtKernelInfo* info) {
  Attrs a(info);
  node_ = a.NodeName();
  window_.kernel = a.Ints("kernel_shape");
  window_.strides = a.Ints("strides");
  window_.pads = a.Ints("pads");
  window_.dilations = a.Ints("dilations");
  window_.auto_pad = a.S("auto_pad", "NOTSET");
  window_.ceil_mode = a.I("ceil_mode", 0) != 0;
  count_include_pad_ = a.I("count_include_pad", 0) != 0;
  p_ = a.F("p", 2.0f);
  eps_ = a.F("eps", 0.0f);
  mean_ = a.I("mean", 0) != 0;
  global_ = a.I("global", 0) != 0;
  const std::string mode = a.S("mode", "abs");
  if (mode != "abs" && mode != "clamp") Fail(kName, node_, "mode '" + mode + "' is not \"abs\" or \"clamp\"");
  abs_ = mode == "abs";
  if (!(p_ > 0)) Fail(kName, node_, Str("attribute p = ", p_, "; must be > 0 (or +inf)"));
  if (!(eps_ >= 0)) Fail(kName, node_, Str("eps = ", eps_, "; must be >= 0"));
  if (!global_ && window_.kernel.empty()) {
    Fail(kName, node_, "required attribute kernel_shape is missing (it may be omitted only when global = 1)");
  }
}

void LpPoolKernel::Compute(OrtKernelContext* ctx) {
  const OrtValue* xv = OptionalInput(ctx, 0);
  const OrtValue* pv = OptionalInput(ctx, 1);
  const auto xs = ShapeOf(xv);
  if (xs.size() < 3 || xs.size() > 5) Fail(kName, node_, Str("X must be [N, C, D1 (, D2 (, D3))], got rank ", xs.size()));
  const int64_t n = xs[0], c = xs[1];
  const std::vector<int64_t> spatial(xs.begin() + 2, xs.end());
  const float* p = nullptr;
  int64_t np = 0;
  if (pv) {
    const auto ps = ShapeOf(pv);
    if (ps.size() > 1) Fail(kName, node_, Str("P must be [C], [1] or a scalar, got rank ", ps.size()));
    np = Product(ps);
    if (np != 1 && np != c) Fail(kName, node_, Str("P has length ", np, "; expected C = ", c, ", 1 or a scalar"));
    p = DataOf(pv);
    CheckExponents(p, np, kName, node_);
  }
  std::vector<Axis> axes;
  if (global_) {
    for (int64_t d : spatial) axes.push_back({d, d, 1, 1, 0, 0, 1});
  } else {
    axes = ResolveWindow(WindowKind::kPool, spatial, window_, kName, node_);
  }
  // Pad to three axes so that one loop nest serves 1D, 2D and 3D.
  while (axes.size() < 3) axes.insert(axes.begin(), Axis{1, 1, 1, 1, 0, 0, 1});
  std::vector<int64_t> ys = {n, c};
  for (size_t i = 3 - spatial.size(); i < 3; ++i) ys.push_back(axes[i].output);
  Ort::KernelContext kc(ctx);
  auto yv = kc.GetOutput(0, ys);
  float* y = yv.GetTensorMutableData<float>();
  const float* x = DataOf(xv);
  const int64_t plane = Product(spatial);
  const int64_t out_plane = axes[0].output * axes[1].output * axes[2].output;
  const float inf = std::numeric_limits<float>::infinity();

  ParallelFor(ctx, static_cast<size_t>(n * c), [&](size_t q) {
    const int64_t ch = static_cast<int64_t>(q) % c;
    const float pc = p ? p[np == 1 ? 0 : ch] : p_;
    const float* xp = x + q * plane;
    float* yp = y + q * out_plane;
    std::vector<float> a(plane), u(plane);
    float big = 0.0f;
    for (int64_t i = 0; i < plane; ++i) {
      a[i] = Magnitude(xp[i], abs_, eps_);
      big = a[i] > big ? a[i] : big;
    }
    const bool finite = pc != inf;
    if (finite) PowScaled(a.data(), plane, big > 0 ? 1.0f / big : 1.0f, pc, u.data());
    const Axis &A0 = axes[0], &A1 = axes[1], &A2 = axes[2];
    int64_t o = 0;
    for (int64_t o0 = 0; o0 < A0.output; ++o0) {
      for (int64_t o1 = 0; o1 < A1.output; ++o1) {
        for (int64_t o2 = 0; o2 < A2.output; ++o2, ++o) {
          float mx = 0.0f, umax = 0.0f;
          double s = 0.0;
          int64_t real = 0, padded = 0;
          bool nan = false;
          for (int64_t k0 = 0; k0 < A0.kernel; ++k0) {
            const int64_t i0 = o0 * A0.stride - A0.pad_begin + k0 * A0.dilation;
            const bool in0 = i0 >= 0 && i0 < A0.input, pad0 = i0 >= -A0.pad_begin && i0 < A0.input + A0.pad_end;
            for (int64_t k1 = 0; k1 < A1.kernel; ++k1) {
              const int64_t i1 = o1 * A1.stride - A1.pad_begin + k1 * A1.dilation;
              const bool in1 = i1 >= 0 && i1 < A1.input, pad1 = i1 >= -A1.pad_begin && i1 < A1.input + A1.pad_end;
              for (int64_t k2 = 0; k2 < A2.kernel; ++k2) {
                const int64_t i2 = o2 * A2.stride - A2.pad_begin + k2 * A2.dilation;
                const bool in2 = i2 >= 0 && i2 < A2.input;
                if (in0 && in1 && in2) {
                  const int64_t at = (i0 * A1.input + i1) * A2.input + i2;
                  const float v = a[at];
                  nan |= std::isnan(v);
                  mx = v > mx ? v : mx;
                  if (finite) {
                    s += u[at];
                    umax = u[at] > umax ? u[at] : umax;
                  }
                  ++real;
                } else if (pad0 && pad1 && i2 >= -A2.pad_begin && i2 < A2.input + A2.pad_end) {
                  ++padded;
                }
              }
            }
          }
          if (nan) {
            yp[o] = std::numeric_limits<float>::quiet_NaN();
            continue;
          }
          if (!finite || mx == 0.0f) {
            yp[o] = mx;
            continue;
          }
          const double z = mean_ ? static_cast<double>(real + (count_include_pad_ ? padded : 0)) : 1.0;
          if (umax > 1e-30f) {
            yp[o] = static_cast<float>(big * std::pow(s / z, 1.0 / pc));
            continue;
          }
          // Exact: this window's terms relative to its own maximum.
          double se = 0.0;
          for (int64_t k0 = 0; k0 < A0.kernel; ++k0) {
            const int64_t i0 = o0 * A0.stride - A0.pad_begin + k0 * A0.dilation;
            if (i0 < 0 || i0 >= A0.input) continue;
            for (int64_t k1 = 0; k1 < A1.kernel; ++k1) {
              const int64_t i1 = o1 * A1.stride - A1.pad_begin + k1 * A1.dilation;
              if (i1 < 0 || i1 >= A1.input) continue;
              for (int64_t k2 = 0; k2 < A2.kernel; ++k2) {
                const int64_t i2 = o2 * A2.stride - A2.pad_begin + k2 * A2.dilation;
                if (i2 < 0 || i2 >= A2.input) continue;
                const double v = a[(i0 * A1.input + i1) * A2.input + i2];
                if (v > 0) se += std::exp(pc * std::log(v / mx));
              }
            }
          }
          yp[o] = static_cast<float>(mx * std::pow(se / z, 1.0 / pc));
        }
      }
    }
  });
}

}  // namespace lp
