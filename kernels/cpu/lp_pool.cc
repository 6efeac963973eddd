// LpPool on the CPU (ops.md). Per (n, c) plane: each input element is powered once (u = a^p,
// vectorised) into a zero-padded copy of the plane; each output row combines the rows of its windows
// column by column, then sums along the row, and finishes as y = (sum / Z)^(1/p). A plane whose sums
// or roots leave float's comfortable range is redone with its terms relative to the plane maximum M
// (u = (a / M)^p, y = M (sum / Z)^(1/p)); a window whose sum is then still so small that its terms
// may have underflowed (its maximum far below M) is recomputed exactly, scaled by its own maximum.
// p = +inf takes the same steps with max.
#include "lp_pool.h"

#include "half.h"
#include "lp_avx512.h"

namespace lp {

namespace {
// GeM planes up to this many terms take the one pass of GemPlanes (a vector lane of its partial sums
// then holds at most 4096 / (2 lanes) terms); larger ones global_plane's, whose sum per plane costs
// less than the plane itself
constexpr int64_t kOnePassPlane = 4096;
// a GeM task's planes: about this many elements, a multiple of 16 planes, at most kGroupPlanes
constexpr int64_t kGroupElements = 16384, kGroupPlanes = 4096;
// GeM's one pass (GemPlanes, global_plane) keeps an unscaled sum s in [kOnePassMin, kOnePassMax] and a
// root exponent log2 y within +-kOnePassExp (2^e a normal float; p < 1 can take a representable
// mean beyond it); other planes take the scaled passes
constexpr float kOnePassMin = 1e-30f, kOnePassMax = 3e38f, kOnePassExp = 120.0f;
// a window sum below this may have lost terms to underflow: recomputed, scaled by its own maximum
constexpr float kTinySum = 1e-25f;

// The resolved geometry of a windowed LpPool, as three axes (a 1D / 2D input has unit leading
// axes): the input, its pads, the padded extent (pads plus the ceil_mode overhang, so that every tap
// exists), the columns the windows read along the last axis, the outputs and their taps.
struct Windows {
  int64_t in[3], pad[3], padded[3], read[3], out[3], kernel[3], stride[3], dilation[3];
  // Z for each output of a plane (1s when mean = 0)
  const float* z;
  bool abs_mode;
  float eps;
};

// A window over the whole plane (global = 1, GeM): planes of up to kOnePassPlane terms in one pass,
// a vector's lanes at a time (GemPlanes: unscaled sums, reduced together, roots together); a plane
// whose unscaled sum or root leaves float's range, and larger planes, take global_plane: the scaled
// two passes (the largest magnitude m and whether a NaN is there, then the sum of (a / m)^p, whose
// largest term is 1 and cannot underflow). Other windows: the plane's terms (a / m)^p once each,
// into a zero-padded copy, then the window sums row by row. Written with GCC vector types
// (lp_vec.h, lp_pool_vec.h: one lane width per instruction set, lp_lanes.h): the scalar FastLog /
// FastExp2 do not vectorise here.
#define LP_VEC_LOOPS "lp_pool_vec.h"
#include "lp_lanes.h"

LP_LANES_VARIANTS(float, PlaneMax, (const float* x, int64_t n, bool abs_mode, float eps, bool* nan), (x, n, abs_mode, eps, nan))
LP_LANES_VARIANTS(float, SumPowScaled, (const float* x, int64_t n, bool abs_mode, float eps, float inv_m, float p),
                  (x, n, abs_mode, eps, inv_m, p))
LP_LANES_VARIANTS(int64_t, GemPlanes,
                  (const float* x, int64_t q0, int64_t count, int64_t plane, bool abs_mode, float eps, const float* p, int64_t np,
                   int64_t c, float z, int kind, float* y, uint8_t* redo),
                  (x, q0, count, plane, abs_mode, eps, p, np, c, z, kind, y, redo))
LP_LANES_VARIANTS(bool, WindowPlane,
                  (const Windows& w, const float* x, const float* next, float p, float m, float* padded, const float* zeros, float* acc,
                   float* sums, float* y),
                  (w, x, next, p, m, padded, zeros, acc, sums, y))

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

// Windows whose sum is tiny may have lost terms to underflow: recompute them exactly, each scaled by
// its own maximum.
void RecomputeTiny(const Windows& w, const float* x, float p, const float* sums, float* y) {
  const int64_t out_plane = w.out[0] * w.out[1] * w.out[2];
  for (int64_t o = 0; o < out_plane; ++o) {
    if (!(sums[o] < kTinySum)) continue;
    const int64_t o0 = o / (w.out[1] * w.out[2]), o1 = (o / w.out[2]) % w.out[1], o2 = o % w.out[2];
    std::vector<float> window;
    for (int64_t k0 = 0; k0 < w.kernel[0]; ++k0) {
      const int64_t i0 = o0 * w.stride[0] - w.pad[0] + k0 * w.dilation[0];
      if (i0 < 0 || i0 >= w.in[0]) continue;
      for (int64_t k1 = 0; k1 < w.kernel[1]; ++k1) {
        const int64_t i1 = o1 * w.stride[1] - w.pad[1] + k1 * w.dilation[1];
        if (i1 < 0 || i1 >= w.in[1]) continue;
        for (int64_t k2 = 0; k2 < w.kernel[2]; ++k2) {
          const int64_t i2 = o2 * w.stride[2] - w.pad[2] + k2 * w.dilation[2];
          if (i2 >= 0 && i2 < w.in[2]) window.push_back(Magnitude(x[(i0 * w.in[1] + i1) * w.in[2] + i2], w.abs_mode, w.eps));
        }
      }
    }
    float mx = 0.0f;
    for (float v : window) mx = v > mx ? v : mx;
    double se = 0.0;
    if (mx > 0.0f)
      for (float v : window)
        if (v > 0) se += std::exp(p * std::log(static_cast<double>(v) / mx));
    y[o] = mx > 0.0f ? static_cast<float>(mx * std::pow(se / w.z[o], 1.0 / p)) : 0.0f;
  }
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
  // X and Y float16: converted a group of planes at a time inside the tasks (2 bytes a value from
  // memory); P converted once
  const StoredFloats xs16(xv);
  const FloatValues pf(isa_, pv, Role::kP);
  const float* p = pf.data();
  if (p && !p_constant_) CheckExponents(p, np, kName, node_);
  std::vector<Axis>& axes = plan.axes;
  const std::vector<int64_t> spatial(xs.begin() + 2, xs.end());
  Ort::KernelContext kc(ctx);
  auto yv = kc.GetOutput(0, plan.ys);
  if (count == 0) return;
  const StoredOutput yo(yv);
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
    // one plane; `tried`: GemPlanes has tried its one pass already
    const auto global_plane = [&](int64_t q, const float* xp, float* yq, bool tried) {
      const int64_t ch = q % c;
      const float pc = p ? p[np == 1 ? 0 : ch] : attrs_.p;
      if (pc != inf && !tried) {
        // one pass where the plane needs no scaling: the unscaled sum is finite and far from
        // underflow (a NaN, an inf, an all-zero or a tiny plane takes the scaled passes below, as
        // ops.md's "no overflow or underflow" asks); the terms it loses to underflow are then as
        // negligible as the scaled sum's
        const float s1 = LP_ISA_CALL(isa_, SumPowScaled)(xp, plane, abs_, attrs_.eps, 1.0f, pc);
        // log2 y, kept where 2^e is a normal float (p < 1 can take a representable mean beyond it)
        const float e = s1 >= kOnePassMin && s1 <= kOnePassMax ? FastLog(s1 / z[0]) * (1.44269504f / pc) : 1e30f;
        if (e > -kOnePassExp && e < kOnePassExp) {
          *yq = FastExp2(e);
          return;
        }
      }
      bool nan = false;
      const float m = LP_ISA_CALL(isa_, PlaneMax)(xp, plane, abs_, attrs_.eps, &nan);
      if (nan) {
        *yq = std::numeric_limits<float>::quiet_NaN();
      } else if (pc == inf || m == 0.0f) {
        *yq = m;  // the maximum (p = +inf), or an all-zero plane
      } else {
        const double s = LP_ISA_CALL(isa_, SumPowScaled)(xp, plane, abs_, attrs_.eps, 1.0f / m, pc);
        // the root by the fast log / exp (relative error about 3e-7; std::pow per plane cost more than
        // the plane's sum for GeM's 14 x 14 planes)
        *yq = Root(static_cast<float>(s / z[0]), 1.0f / pc, m);
      }
    };
    // GemPlanes' one pass: every exponent finite, of one pow kind (the general power's where they
    // differ)
    const float* pe = p ? p : &attrs_.p;
    const int64_t npe = p ? np : 1;
    const int kind = PowKindOf(pe, npe);
    const bool one_pass = plane <= kOnePassPlane && kind != 0;
    // planes in groups of some thousand elements per task: a GeM head has many small planes (512 of
    // 14 x 14 per image), and one task per plane would cost more in scheduling than in arithmetic
    const int64_t planes = n * c;
    const int64_t group = std::min(kGroupPlanes, std::max<int64_t>(16, kGroupElements / std::max<int64_t>(plane, 1) / 16 * 16));
    ParallelFor(ctx, static_cast<size_t>((planes + group - 1) / group), [&](size_t t) {
      const int64_t q0 = static_cast<int64_t>(t) * group, q1 = std::min(planes, q0 + group);
      std::vector<float> xbuf, ybuf;
      const float* xg = xs16.Range(isa_, q0 * plane, (q1 - q0) * plane, xbuf);
      float* yg = yo.Tile(q0, q1 - q0, ybuf);
      if (one_pass) {
        uint8_t redo[kGroupPlanes];
        if (LP_ISA_CALL(isa_, GemPlanes)(xg, q0, q1 - q0, plane, abs_, attrs_.eps, pe, npe, c, z[0], kind, yg, redo) > 0)
          for (int64_t q = q0; q < q1; ++q)
            if (redo[q - q0]) global_plane(q, xg + (q - q0) * plane, yg + (q - q0), true);
      } else {
        for (int64_t q = q0; q < q1; ++q) global_plane(q, xg + (q - q0) * plane, yg + (q - q0), false);
      }
      yo.Done(isa_, q0, q1 - q0, ybuf);
    });
    return;
  }

  Windows w{};
  for (int i = 0; i < 3; ++i) {
    const Axis& a = axes[i];
    w.in[i] = a.input;
    w.pad[i] = a.pad_begin;
    w.padded[i] = P[i];
    w.read[i] = (a.output - 1) * a.stride + a.dilation * (a.kernel - 1) + 1;
    w.out[i] = a.output;
    w.kernel[i] = a.kernel;
    w.stride[i] = a.stride;
    w.dilation[i] = a.dilation;
  }
  w.z = z.data();
  w.abs_mode = abs_;
  w.eps = attrs_.eps;
  // planes in groups of about 10^5 elements per task, each group with its own padded plane
  const int64_t planes = n * c, group = std::max<int64_t>(1, 131072 / std::max<int64_t>(plane, 1));
  ParallelFor(ctx, static_cast<size_t>((planes + group - 1) / group), [&](size_t t) {
    std::vector<float> padded(P[0] * P[1] * P[2], 0.0f), zeros(w.read[2], 0.0f), acc(w.read[2]), sums(out_plane), xbuf, ybuf;
    const int64_t q0 = static_cast<int64_t>(t) * group;
    for (int64_t q = q0; q < std::min(planes, q0 + group); ++q) {
      const float pc = p ? p[np == 1 ? 0 : q % c] : attrs_.p;
      // a float16 plane converted here, while it is in cache for the two passes below
      const float* xp = xs16.Range(isa_, q * plane, plane, xbuf);
      float* yp = yo.Tile(q * out_plane, out_plane, ybuf);
      const float* next = q + 1 < planes && xs16.f32 ? xp + plane : nullptr;
      // one pass, unscaled; a plane whose sums or roots leave its range is redone scaled by its
      // largest magnitude, and then only windows too small for that are recomputed one by one
      if (LP_ISA_CALL(isa_, WindowPlane)(w, xp, next, pc, 0.0f, padded.data(), zeros.data(), acc.data(), sums.data(), yp)) {
        bool nan = false;
        const float m = LP_ISA_CALL(isa_, PlaneMax)(xp, plane, abs_, attrs_.eps, &nan);
        if (!(m > 0.0f) || LP_ISA_CALL(isa_, WindowPlane)(w, xp, nullptr, pc, m, padded.data(), zeros.data(), acc.data(), sums.data(), yp))
          RecomputeTiny(w, xp, pc, sums.data(), yp);
      }
      yo.Done(isa_, q * out_plane, out_plane, ybuf);
    }
  });
}

}  // namespace lp
