// LpPool on the CPU (ops.md). Per (n, c) plane: each input element is powered once, relative to
// the plane maximum M (u = (a / M)^p, vectorised); the windows sum u by separable passes over a
// zero-padded copy (one pass per axis, vectorised along rows) and finish as y = M (sum / Z)^(1/p).
// A window whose sum is so small that its terms may have underflowed (its maximum far below M) is
// recomputed exactly, scaled by its own maximum. p = +inf takes the same passes with max.
#include "lp_pool.h"

namespace lp {

namespace {
__attribute__((always_inline)) inline void PowScaledImpl(const float* a, int64_t n, float inv_m, float p, float* u) {
  if (p == 1.0f) {
    for (int64_t i = 0; i < n; ++i) u[i] = a[i] * inv_m;
  } else if (p == 2.0f) {
    for (int64_t i = 0; i < n; ++i) {
      const float r = a[i] * inv_m;
      u[i] = r * r;
    }
  } else {
    const float p2 = p * 1.44269504f;
    for (int64_t i = 0; i < n; ++i) u[i] = FastExp2(p2 * FastLog(a[i] * inv_m));
  }
}

// y = scale * (s / z)^(1/p), vectorised (s = 0 gives 0, NaN stays NaN).
__attribute__((always_inline)) inline void RootImpl(const float* s, const float* z, int64_t n, float inv_p, float scale, float* y) {
  const float k = 1.44269504f * inv_p;
  for (int64_t i = 0; i < n; ++i) y[i] = scale * FastExp2(k * FastLog(s[i] / z[i]));
}

// One separable pass along an axis: in [outer, n_in, inner] -> out [outer, n_out, inner],
// out[o] = sum (or NaN-propagating max) over k of in[o * stride + k * dilation].
template <bool kMax>
__attribute__((always_inline)) inline void PassImpl(const float* in, float* out, int64_t outer, int64_t n_in, int64_t inner, int64_t n_out,
                                                    int64_t kernel, int64_t stride, int64_t dilation) {
  for (int64_t t = 0; t < outer; ++t) {
    const float* src = in + t * n_in * inner;
    float* dst = out + t * n_out * inner;
    for (int64_t i = 0; i < n_out * inner; ++i) dst[i] = 0.0f;
    if (inner == 1) {
      for (int64_t k = 0; k < kernel; ++k) {
        const float* s = src + k * dilation;
        for (int64_t o = 0; o < n_out; ++o) {
          const float v = s[o * stride];
          if (kMax)
            dst[o] = (v > dst[o] || v != v) ? v : dst[o];
          else
            dst[o] += v;
        }
      }
    } else {
      for (int64_t o = 0; o < n_out; ++o) {
        float* d = dst + o * inner;
        for (int64_t k = 0; k < kernel; ++k) {
          const float* s = src + (o * stride + k * dilation) * inner;
          for (int64_t j = 0; j < inner; ++j) {
            if (kMax)
              d[j] = (s[j] > d[j] || s[j] != s[j]) ? s[j] : d[j];
            else
              d[j] += s[j];
          }
        }
      }
    }
  }
}

// a(x) for a plane and its maximum (16 lane maxima, so the loop vectorises; NaN shows in the sums).
__attribute__((always_inline)) inline float MagnitudesImpl(const float* x, int64_t n, bool abs_mode, float eps, float* a) {
  float lane[16] = {};
  const int64_t body = n - n % 16;
  for (int64_t i = 0; i < body; i += 16)
    for (int64_t l = 0; l < 16; ++l) {
      const float v0 = abs_mode ? std::fabs(x[i + l]) : x[i + l];
      const float v = v0 > eps ? v0 : (v0 != v0 ? v0 : eps);
      a[i + l] = v;
      lane[l] = v > lane[l] ? v : lane[l];
    }
  float m = 0.0f;
  for (int64_t l = 0; l < 16; ++l) m = lane[l] > m ? lane[l] : m;
  for (int64_t i = body; i < n; ++i) {
    a[i] = Magnitude(x[i], abs_mode, eps);
    m = a[i] > m ? a[i] : m;
  }
  return m;
}

LP_ISA_VARIANTS(void, PowScaled, (const float* a, int64_t n, float inv_m, float p, float* u), (a, n, inv_m, p, u))
LP_ISA_VARIANTS(void, Root, (const float* s, const float* z, int64_t n, float inv_p, float scale, float* y), (s, z, n, inv_p, scale, y))
#define LP_PASS_PARAMS \
  (const float* in, float* out, int64_t outer, int64_t n_in, int64_t inner, int64_t n_out, int64_t kernel, int64_t stride, int64_t dilation)
#define LP_PASS_ARGS (in, out, outer, n_in, inner, n_out, kernel, stride, dilation)
LP_ISA_VARIANTS_OF(void, PassSum, PassImpl<false>, LP_PASS_PARAMS, LP_PASS_ARGS)
LP_ISA_VARIANTS_OF(void, PassMax, PassImpl<true>, LP_PASS_PARAMS, LP_PASS_ARGS)
LP_ISA_VARIANTS(float, Magnitudes, (const float* x, int64_t n, bool abs_mode, float eps, float* a), (x, n, abs_mode, eps, a))

// A window over the whole plane (global = 1, GeM): two passes over x and no copies. The first finds
// the largest magnitude m and whether a NaN is there; the second sums (a / m)^p. Its largest term is
// 1, so the sum cannot underflow. Written with GCC vector types (lp_vec.h, lp_pool_vec.h: one lane width
// per instruction set, lp_lanes.h): the scalar FastLog / FastExp2 do not vectorise here.
#define LP_VEC_LOOPS "lp_pool_vec.h"
#include "lp_lanes.h"

LP_LANES_VARIANTS(float, PlaneMax, (const float* x, int64_t n, bool abs_mode, float eps, bool* nan), (x, n, abs_mode, eps, nan))
LP_LANES_VARIANTS(float, SumPowScaled, (const float* x, int64_t n, bool abs_mode, float eps, float inv_m, float p),
                  (x, n, abs_mode, eps, inv_m, p))

// Taps of one axis that count in Z for each output (inside the input, or inside the pads too).
std::vector<float> AxisCounts(const Axis& a, bool include_pad) {
  std::vector<float> c(a.output);
  for (int64_t o = 0; o < a.output; ++o) {
    int64_t n = 0;
    for (int64_t k = 0; k < a.kernel; ++k) {
      const int64_t i = o * a.stride - a.pad_begin + k * a.dilation;
      n += include_pad ? (i >= -a.pad_begin && i < a.input + a.pad_end) : (i >= 0 && i < a.input);
    }
    c[o] = static_cast<float>(n);
  }
  return c;
}
}  // namespace

LpPoolKernel::LpPoolKernel(const OrtKernelInfo* info) {
  const AttrReader r(info, kName);
  node_ = r.node();
  attrs_ = schema::LpPoolAttrs::Read(r);
  isa_ = SelectIsa(kName, node_);
  abs_ = attrs_.mode == "abs";
  CheckLpPoolAttrs(attrs_, node_);
  Ort::ConstKernelInfo ki(info);
  CheckDeclaredLengths(ki, attrs_, node_);
  p_constant_ = CheckConstantExponents(ki, 1, kName, node_, "C");
}

void LpPoolKernel::Compute(OrtKernelContext* ctx) {
  const OrtValue* xv = OptionalInput(ctx, 0);
  const OrtValue* pv = OptionalInput(ctx, 1);
  if (xv == nullptr) Fail(kName, node_, "input X is required");
  const auto xs = ShapeOf(xv);
  const std::vector<int64_t> ps = pv ? ShapeOf(pv) : std::vector<int64_t>{};
  LpPoolPlan plan = PlanLpPool(attrs_, node_, xs, pv ? &ps : nullptr);
  const int64_t n = plan.n, c = plan.c, np = plan.np, count = plan.count;
  const float* p = pv ? DataOf(pv) : nullptr;
  if (p && !p_constant_) CheckExponents(p, np, kName, node_);
  std::vector<Axis>& axes = plan.axes;
  const std::vector<int64_t> spatial(xs.begin() + 2, xs.end());
  Ort::KernelContext kc(ctx);
  auto yv = kc.GetOutput(0, plan.ys);
  if (count == 0) return;
  float* y = yv.GetTensorMutableData<float>();
  const float* x = DataOf(xv);
  const int64_t plane = Product(spatial);
  const Axis &A0 = axes[0], &A1 = axes[1], &A2 = axes[2];
  const int64_t out_plane = A0.output * A1.output * A2.output;
  const float inf = std::numeric_limits<float>::infinity();
  // The padded extent of each axis: explicit pads plus the ceil_mode overhang, so every tap exists.
  int64_t P[3];
  for (int i = 0; i < 3; ++i) {
    const Axis& a = axes[i];
    const int64_t need = (a.output - 1) * a.stride + a.dilation * (a.kernel - 1) + 1;
    P[i] = std::max(need, a.pad_begin + a.input + a.pad_end);
  }
  // Z per output: separable, the same for every plane.
  std::vector<float> z(out_plane, 1.0f);
  if (attrs_.mean) {
    const auto c0 = AxisCounts(A0, attrs_.count_include_pad != 0), c1 = AxisCounts(A1, attrs_.count_include_pad != 0),
               c2 = AxisCounts(A2, attrs_.count_include_pad != 0);
    for (int64_t o0 = 0, o = 0; o0 < A0.output; ++o0)
      for (int64_t o1 = 0; o1 < A1.output; ++o1)
        for (int64_t o2 = 0; o2 < A2.output; ++o2, ++o) z[o] = c0[o0] * c1[o1] * c2[o2];
  }

  const bool global = out_plane == 1 && plane > 0 && A0.kernel == A0.input && A1.kernel == A1.input && A2.kernel == A2.input &&
                      A0.pad_begin + A1.pad_begin + A2.pad_begin + A0.pad_end + A1.pad_end + A2.pad_end == 0;
  if (global) {
    const auto global_plane = [&](int64_t q) {
      const int64_t ch = q % c;
      const float pc = p ? p[np == 1 ? 0 : ch] : attrs_.p;
      const float* xp = x + q * plane;
      bool nan = false;
      const float m = LP_ISA_CALL(isa_, PlaneMax)(xp, plane, abs_, attrs_.eps, &nan);
      if (nan) {
        y[q] = std::numeric_limits<float>::quiet_NaN();
      } else if (pc == inf || m == 0.0f) {
        y[q] = m;  // the maximum (p = +inf), or an all-zero plane
      } else {
        const double s = LP_ISA_CALL(isa_, SumPowScaled)(xp, plane, abs_, attrs_.eps, 1.0f / m, pc);
        // the root by the fast log / exp (relative error about 3e-7; std::pow per plane cost more than
        // the plane's sum for GeM's 14 x 14 planes)
        y[q] = m * FastExp2(FastLog(static_cast<float>(s / z[0])) * (1.44269504f / pc));
      }
    };
    // planes in groups of some thousand elements per task: a GeM head has many small planes (512 of
    // 14 x 14 per image), and one task per plane would cost more in scheduling than in arithmetic
    const int64_t planes = n * c, group = std::max<int64_t>(1, 8192 / std::max<int64_t>(plane, 1));
    ParallelFor(ctx, static_cast<size_t>((planes + group - 1) / group), [&](size_t t) {
      const int64_t q0 = static_cast<int64_t>(t) * group;
      for (int64_t q = q0; q < std::min(planes, q0 + group); ++q) global_plane(q);
    });
    return;
  }

  ParallelFor(ctx, static_cast<size_t>(n * c), [&](size_t q) {
    const int64_t ch = static_cast<int64_t>(q) % c;
    const float pc = p ? p[np == 1 ? 0 : ch] : attrs_.p;
    const float* xp = plane > 0 ? x + q * plane : nullptr;
    float* yp = y + q * out_plane;
    const bool finite = pc != inf;
    std::vector<float> a(plane), padded(P[0] * P[1] * P[2], 0.0f);
    const float big = LP_ISA_CALL(isa_, Magnitudes)(xp, plane, abs_, attrs_.eps, a.data());
    const float scale = big > 0 ? big : 1.0f;
    std::vector<float> u;
    const float* src = a.data();
    if (finite) {
      u.resize(plane);
      LP_ISA_CALL(isa_, PowScaled)(a.data(), plane, 1.0f / scale, pc, u.data());
      src = u.data();
    }
    for (int64_t i0 = 0; i0 < A0.input && plane > 0; ++i0)
      for (int64_t i1 = 0; i1 < A1.input; ++i1)
        std::memcpy(padded.data() + ((i0 + A0.pad_begin) * P[1] + i1 + A1.pad_begin) * P[2] + A2.pad_begin,
                    src + (i0 * A1.input + i1) * A2.input, sizeof(float) * A2.input);
    // three separable passes: axis 2, then 1, then 0
    std::vector<float> t2(P[0] * P[1] * A2.output), t1(P[0] * A1.output * A2.output), s(out_plane);
    auto pass = finite ? LP_ISA_CALL(isa_, PassSum) : LP_ISA_CALL(isa_, PassMax);
    pass(padded.data(), t2.data(), P[0] * P[1], P[2], 1, A2.output, A2.kernel, A2.stride, A2.dilation);
    pass(t2.data(), P[0] == 1 ? s.data() : t1.data(), P[0], P[1], A2.output, A1.output, A1.kernel, A1.stride, A1.dilation);
    // the leading axis of a 1D / 2D input is a unit axis: nothing to pool there
    if (P[0] != 1) pass(t1.data(), s.data(), 1, P[0], A1.output * A2.output, A0.output, A0.kernel, A0.stride, A0.dilation);
    if (!finite) {
      std::memcpy(yp, s.data(), sizeof(float) * out_plane);
      return;
    }
    LP_ISA_CALL(isa_, Root)(s.data(), z.data(), out_plane, 1.0f / pc, big, yp);
    // Windows whose sum is tiny may have lost terms to underflow: recompute them exactly.
    for (int64_t o = 0; o < out_plane; ++o) {
      if (!(s[o] < 1e-25f) || s[o] != s[o]) continue;
      const int64_t o0 = o / (A1.output * A2.output), o1 = (o / A2.output) % A1.output, o2 = o % A2.output;
      float mx = 0.0f;
      for (int pass_ = 0; pass_ < 2; ++pass_) {
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
              const float v = a[(i0 * A1.input + i1) * A2.input + i2];
              if (pass_ == 0)
                mx = v > mx ? v : mx;
              else if (v > 0)
                se += std::exp(pc * std::log(static_cast<double>(v) / mx));
            }
          }
        }
        if (pass_ == 1) yp[o] = mx > 0 ? static_cast<float>(mx * std::pow(se / z[o], 1.0 / pc)) : 0.0f;
        if (mx == 0.0f) {
          yp[o] = 0.0f;
          break;
        }
      }
    }
  });
}

}  // namespace lp
