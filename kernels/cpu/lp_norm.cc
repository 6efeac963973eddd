// LpNorm on the CPU (ops.md). Shared p: each input element is powered once, then onnxruntime's own
// Gemm (MLAS) does the multiply-accumulate. Per-unit p: log once per input element, then a
// vectorised exp per (unit, element) over blocks of rows, never a [rows, M, K] intermediate.
#include "lp_norm.h"

#include "half.h"

#include "lp_avx512.h"

namespace lp {

namespace {
constexpr int64_t kRowBlock = 8;
// elements per task of the passes along rows
constexpr int64_t kTaskElements = 16384;

constexpr int64_t kLanes = 16;

// A scaled sum below this may have lost its terms to float underflow: the unit is recomputed exactly.
constexpr float kUnderflow = 1e-30f;

#define LP_VEC_LOOPS "lp_norm_vec.h"
#include "lp_lanes.h"

// The AVX-512 path's log2 of a zero magnitude: finite, so that p l is finite (no clamp: vscalefps
// takes 2^(p l) to 0 below -150) for p in [kClampFreeP0, kClampFreeP1]; other p take the clamp and
// test for it. The other paths keep -inf (their exp2 clamps).
constexpr float kLogZero = -1e19f;
constexpr float kClampFreeP0 = 1.5e-17f, kClampFreeP1 = 3e19f;

// log2(a / scale), the exponent form ExpDotRows takes; `zero` for a = 0 (a NaN row's values do not matter)
__attribute__((always_inline)) inline void Log2ScaledImpl(const float* a, int64_t k, float inv_scale, float zero, float* out) {
  for (int64_t i = 0; i < k; ++i) {
    const float l = FastLog(a[i] * inv_scale) * 1.44269504f;
    out[i] = l > zero ? l : zero;
  }
}

// a = (a inv)^p, a inv in [0, 1]: exact for small integer p, exp(p log) otherwise.
__attribute__((always_inline)) inline void PowRowImpl(float* a, int64_t k, float inv, float p) {
  if (p == 1.0f) {
    for (int64_t i = 0; i < k; ++i) a[i] *= inv;
  } else if (p == 2.0f) {
    for (int64_t i = 0; i < k; ++i) {
      const float v = a[i] * inv;
      a[i] = v * v;
    }
  } else if (p == 3.0f) {
    for (int64_t i = 0; i < k; ++i) {
      const float v = a[i] * inv;
      a[i] = v * v * v;
    }
  } else if (p == 4.0f) {
    for (int64_t i = 0; i < k; ++i) {
      const float v = a[i] * inv, q = v * v;
      a[i] = q * q;
    }
  } else {
    for (int64_t i = 0; i < k; ++i) a[i] = FastExp(p * FastLog(a[i] * inv));
  }
}
// y = scale (s / z)^(1/p) for a row's units (Root), inv_p = 1 / p per unit (s = 0 gives 0)
__attribute__((always_inline)) inline void RootUnitsImpl(const float* s, const float* z, const float* inv_p, int64_t n, float scale,
                                                         float* y) {
  for (int64_t j = 0; j < n; ++j) y[j] = Root(s[j] / z[j], inv_p[j], scale);
}
LP_ISA_VARIANTS(void, RootUnits, (const float* s, const float* z, const float* inv_p, int64_t n, float scale, float* y),
                (s, z, inv_p, n, scale, y))
LP_LANES_VARIANTS(float, MagnitudeRow, (const float* x, int64_t k, bool abs_mode, float eps, float* a, bool* nan),
                  (x, k, abs_mode, eps, a, nan))
// ExpDotRows (lp_norm_vec.h) on AVX-512's own exp2 (lp_avx512.h). kClamp: p is outside [kClampFreeP0, kClampFreeP1], so p l is
// clamped (it may be -inf) and a zero magnitude's term is set to 0 by a test.
template <bool kClamp, int kDegree>
LP_TARGET_AVX512 __attribute__((always_inline)) inline void ExpDotRows512(const float* w, const float* l, int64_t k, int64_t rows, float p,
                                                                          float* s) {
  const int64_t body = k - k % 16;
  const __m512 pv = _mm512_set1_ps(p);
  // the last k % 16 terms of a row, scalar with the longer FastExp2 (as the other paths: a row of a
  // few elements keeps their accuracy)
  const auto tail = [&](const float* lr) {
    float t = 0.0f;
    for (int64_t i = body; i < k; ++i) t += lr[i] > kLogZero ? w[i] * FastExp2(p * lr[i]) : 0.0f;
    return t;
  };
  // w 2^(p l) of 16 elements
  const auto term = [&](const float* lr, int64_t i, __m512 wv) LP_TARGET_AVX512 __attribute__((always_inline)) {
    const __m512 lv = _mm512_loadu_ps(lr + i);
    const __m512 t = _mm512_mul_ps(wv, avx512::Exp2Term<kClamp, kDegree>(_mm512_mul_ps(pv, lv)));
    return kClamp ? _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(lv, _mm512_set1_ps(kLogZero), _CMP_GT_OQ), t) : t;
  };
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* l0 = l + r * k;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t i = 0; i < body; i += 16) {
      const __m512 wv = _mm512_loadu_ps(w + i);
      if (kClamp) {
        a0 = _mm512_add_ps(a0, term(l0, i, wv));
        a1 = _mm512_add_ps(a1, term(l0 + k, i, wv));
        a2 = _mm512_add_ps(a2, term(l0 + 2 * k, i, wv));
        a3 = _mm512_add_ps(a3, term(l0 + 3 * k, i, wv));
        continue;
      }
      a0 = _mm512_fmadd_ps(wv, avx512::Exp2Term<false, kDegree>(_mm512_mul_ps(pv, _mm512_loadu_ps(l0 + i))), a0);
      a1 = _mm512_fmadd_ps(wv, avx512::Exp2Term<false, kDegree>(_mm512_mul_ps(pv, _mm512_loadu_ps(l0 + k + i))), a1);
      a2 = _mm512_fmadd_ps(wv, avx512::Exp2Term<false, kDegree>(_mm512_mul_ps(pv, _mm512_loadu_ps(l0 + 2 * k + i))), a2);
      a3 = _mm512_fmadd_ps(wv, avx512::Exp2Term<false, kDegree>(_mm512_mul_ps(pv, _mm512_loadu_ps(l0 + 3 * k + i))), a3);
    }
    s[r] = avx512::SumLanes(a0) + tail(l0);
    s[r + 1] = avx512::SumLanes(a1) + tail(l0 + k);
    s[r + 2] = avx512::SumLanes(a2) + tail(l0 + 2 * k);
    s[r + 3] = avx512::SumLanes(a3) + tail(l0 + 3 * k);
  }
  for (; r < rows; ++r) {
    const float* lr = l + r * k;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t i = 0; i < body; i += 16) acc = _mm512_add_ps(acc, term(lr, i, _mm512_loadu_ps(w + i)));
    s[r] = avx512::SumLanes(acc) + tail(lr);
  }
}
LP_TARGET_AVX512 void ExpDotRowsAvx512(const float* w, const float* l, int64_t k, int64_t rows, float p, float* s) {
  // exp2 of degree 3 for p >= 2 (lp_vec.h)
  const bool clamp_free = p >= kClampFreeP0 && p <= kClampFreeP1;
  if (p >= kExp2Degree3From)
    clamp_free ? ExpDotRows512<false, 3>(w, l, k, rows, p, s) : ExpDotRows512<true, 3>(w, l, k, rows, p, s);
  else
    clamp_free ? ExpDotRows512<false, 4>(w, l, k, rows, p, s) : ExpDotRows512<true, 4>(w, l, k, rows, p, s);
}
LP_TARGET_AVX2 void ExpDotRowsAvx2(const float* w, const float* l, int64_t k, int64_t rows, float p, float* s) {
  lanes8::ExpDotRowsImpl(w, l, k, rows, p, s);
}
void ExpDotRowsPlain(const float* w, const float* l, int64_t k, int64_t rows, float p, float* s) {
  lanes4::ExpDotRowsImpl(w, l, k, rows, p, s);
}
constexpr void (*ExpDotRowsVariants[])(const float*, const float*, int64_t, int64_t, float, float*) = {ExpDotRowsPlain, ExpDotRowsAvx2,
                                                                                                       ExpDotRowsAvx512};
LP_ISA_VARIANTS(void, Log2Scaled, (const float* a, int64_t k, float inv_scale, float zero, float* out), (a, k, inv_scale, zero, out))
LP_ISA_VARIANTS(void, PowRow, (float* a, int64_t k, float inv, float p), (a, k, inv, p))
LP_LANES_VARIANTS(void, RootRow, (float* y, const float* z, int64_t m, float e, float inv_p, float s), (y, z, m, e, inv_p, s))

// --- the shared-exponent multiply on AVX-512: Y[r, j] = sum_k A[r, k] W[j, k] ---------------------
constexpr int64_t kVecs = 2;            // 16-lane vectors per panel row
constexpr int64_t kPanel = 16 * kVecs;  // units per packed panel
constexpr int64_t kRows = 14;           // rows per register tile: 28 accumulators of the 32 registers
// (14 x 32 reached 80 G multiply-adds a second on one Xeon core where 8 x 48 reached 65: each
// panel load serves more rows)

// W [M, K] -> panels [ceil(M / kPanel)][K][kPanel], zero beyond M.
std::vector<float> PackPanels(const float* w, int64_t m, int64_t k) {
  const int64_t panels = (m + kPanel - 1) / kPanel;
  std::vector<float> out(panels * k * kPanel, 0.0f);
  for (int64_t j = 0; j < m; ++j)
    for (int64_t i = 0; i < k; ++i) out[((j / kPanel) * k + i) * kPanel + j % kPanel] = w[j * k + i];
  return out;
}

// One tile: kR rows of A against one panel; the kR x kVecs accumulators stay in registers over all
// of K. Columns past M are not stored.
template <int kR>
LP_TARGET_AVX512 __attribute__((always_inline)) inline void GemmRows(const float* a, int64_t k, const float* panel, float* y, int64_t m,
                                                                     const __mmask16* mask) {
  __m512 acc[kR][kVecs];
  for (int i = 0; i < kR; ++i)
    for (int64_t v = 0; v < kVecs; ++v) acc[i][v] = _mm512_setzero_ps();
  for (int64_t q = 0; q < k; ++q) {
    __m512 wv[kVecs];
    for (int64_t v = 0; v < kVecs; ++v) wv[v] = _mm512_loadu_ps(panel + q * kPanel + 16 * v);
    for (int i = 0; i < kR; ++i) {
      const __m512 x = _mm512_set1_ps(a[i * k + q]);
      for (int64_t v = 0; v < kVecs; ++v) acc[i][v] = _mm512_fmadd_ps(x, wv[v], acc[i][v]);
    }
  }
  for (int64_t v = 0; v < kVecs; ++v)
    for (int i = 0; i < kR; ++i) _mm512_mask_storeu_ps(y + i * m + 16 * v, mask[v], acc[i][v]);
}

template <int... kR>
LP_TARGET_AVX512 void GemmTileOf(std::integer_sequence<int, kR...>, int rows, const float* a, int64_t k, const float* panel, float* y,
                                 int64_t m, const __mmask16* mask) {
  ((rows == kR + 1 ? GemmRows<kR + 1>(a, k, panel, y, m, mask) : void()), ...);
}

// The tile of `rows` (1 to kRows) rows of A from row a and the panel of units [j0, j0 + kPanel).
LP_TARGET_AVX512 void GemmTile(const float* a, int64_t k, const float* panel, int64_t rows, float* y, int64_t m, int64_t j0) {
  const int64_t cols = std::min(kPanel, m - j0);
  __mmask16 mask[kVecs];
  for (int64_t v = 0; v < kVecs; ++v) {
    const int64_t c = std::min<int64_t>(16, std::max<int64_t>(0, cols - 16 * v));
    mask[v] = c == 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << c) - 1);
  }
  GemmTileOf(std::make_integer_sequence<int, kRows>{}, static_cast<int>(rows), a, k, panel, y + j0, m, mask);
}

}  // namespace

LpNormKernel::LpNormKernel(const OrtKernelInfo* info) : gemm_(nullptr) {
  const AttrReader r(info, kName);
  node_ = r.node();
  attrs_ = schema::LpNormAttrs::Read(r);
  isa_ = SelectIsa(kName, node_);
  abs_ = attrs_.mode == "abs";
  // onnxruntime's Gemm for the shared-exponent multiply: Y = A W^T.
  const char* names[] = {"T"};
  ONNXTensorElementDataType types[] = {ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT};
  // an invoked op gets no attribute defaults: all four are given
  const int64_t zero = 0, one = 1;
  const float unit = 1.0f;
  Ort::OpAttr attrs[] = {
      Ort::OpAttr("transA", &zero, 1, OrtOpAttrType::ORT_OP_ATTR_INT), Ort::OpAttr("transB", &one, 1, OrtOpAttrType::ORT_OP_ATTR_INT),
      Ort::OpAttr("alpha", &unit, 1, OrtOpAttrType::ORT_OP_ATTR_FLOAT), Ort::OpAttr("beta", &unit, 1, OrtOpAttrType::ORT_OP_ATTR_FLOAT)};
  gemm_ = Ort::Op::Create(info, "Gemm", "", 13, names, types, 1, attrs, 4, 2, 1);
  // Constant weights and exponents are checked here, once.
  Ort::ConstKernelInfo ki(info);
  int is_const = 0;
  auto w = ki.GetTensorConstantInput(1, &is_const);
  if (is_const) {
    const auto ws = w.GetTensorTypeAndShapeInfo().GetShape();
    CheckLpNormWeightRank(node_, ws);
    std::vector<float> wf = FloatsOf(w);  // float16 weights converted
    z_constant_ = CheckWeights(wf.data(), ws[0], ws[1]);
    w_constant_ = true;
    if (isa_ == Isa::kAvx512) w_packed_ = PackPanels(wf.data(), ws[0], ws[1]);
    // constant float16 weights: converted here once, not in every run
    if (w.GetTensorTypeAndShapeInfo().GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16) w_float_ = std::move(wf);
  }
  p_constant_ = CheckConstantExponents(ki, 2, kName, node_, "M");
}

float LpNormKernel::ExactUnit(const float* x, const float* w, int64_t k, float p, float z) const {
  const double pd = p, sum_eps = attrs_.sum_eps;
  double mx = 0;
  for (int64_t i = 0; i < k; ++i)
    if (w[i] > 0) mx = std::max<double>(mx, Magnitude(x[i], abs_, attrs_.eps));
  if (sum_eps > 0) mx = std::max(mx, std::pow(sum_eps, 1.0 / pd));
  if (mx == 0) return 0.0f;
  double s = 0;
  for (int64_t i = 0; i < k; ++i)
    if (w[i] > 0) s += w[i] * std::pow(Magnitude(x[i], abs_, attrs_.eps) / mx, pd);
  // sum_eps / mx^p as exp(log(sum_eps) - p log(mx)): mx^p alone may underflow even in double
  const double eps_term = sum_eps > 0 ? std::exp(std::log(sum_eps) - pd * std::log(mx)) : 0.0;
  return static_cast<float>(mx * std::pow(s / z + eps_term, 1.0 / pd));
}

std::vector<float> LpNormKernel::CheckWeights(const float* w, int64_t m, int64_t k) const {
  return CheckLpNormWeights(node_, w, m, k, attrs_.mean != 0);
}

void LpNormKernel::Compute(OrtKernelContext* ctx) {
  const OrtValue* xv = OptionalInput(ctx, 0);
  const OrtValue* wv = OptionalInput(ctx, 1);
  const OrtValue* pv = OptionalInput(ctx, 2);
  if (xv == nullptr || wv == nullptr) Fail(kName, node_, "inputs X and W are required");
  const auto xs = ShapeOf(xv);
  const std::vector<int64_t> ps = pv ? ShapeOf(pv) : std::vector<int64_t>{};
  const LpNormPlan plan = PlanLpNorm(node_, xs, ShapeOf(wv), pv ? &ps : nullptr);
  const int64_t k = plan.k, m = plan.m, np = plan.np, rows = plan.rows;
  // float16 inputs converted (constant float16 W once, at creation)
  const FloatValues xf(isa_, xv, Role::kX, ctx), wf(isa_, w_float_.empty() ? wv : nullptr, Role::kW), pf(isa_, pv, Role::kP);
  const float* x = xf.data();
  const float* w = w_float_.empty() ? wf.data() : w_float_.data();
  const float* p = pf.data();
  if (p && !p_constant_) CheckExponents(p, np, kName, node_);
  const std::vector<float> z = w_constant_ ? z_constant_ : CheckWeights(w, m, k);
  Ort::KernelContext kc(ctx);
  auto yv = kc.GetOutput(0, plan.ys);
  if (plan.count == 0) return;
  FloatOutput yo(isa_, yv, ctx);
  float* y = yo.data();

  const bool shared = p == nullptr || np == 1;
  const float p0 = p ? p[0] : attrs_.p;
  const float inf = std::numeric_limits<float>::infinity();

  // Magnitudes, their row maxima and NaN rows; for a shared finite p, in the same task, the row's
  // scale s = max(row max, sum_eps^(1/p)) and its terms A = (a / s)^p.
  const bool powered = shared && p0 != inf;
  const float eps_root = powered && attrs_.sum_eps > 0 ? std::pow(attrs_.sum_eps, 1.0f / p0) : 0.0f;
  // the terms, in a buffer kept between runs (no page faults per run)
  float* a = RoleBuffer(Role::kTerms, static_cast<size_t>(rows * k)).data();
  std::vector<float> rmax(rows), scale(rows);
  std::vector<char> rnan(rows);
  const auto magnitudes = LP_ISA_CALL(isa_, MagnitudeRow);
  const auto pow_row = LP_ISA_CALL(isa_, PowRow);
  // rows in tasks of some ten thousand elements
  const int64_t task_rows = std::max<int64_t>(1, kTaskElements / std::max<int64_t>(k, 1));
  const auto by_rows = [&](const std::function<void(int64_t)>& f) {
    ParallelFor(ctx, static_cast<size_t>((rows + task_rows - 1) / task_rows), [&](size_t t) {
      for (int64_t r = static_cast<int64_t>(t) * task_rows; r < std::min(rows, (static_cast<int64_t>(t) + 1) * task_rows); ++r) f(r);
    });
  };
  by_rows([&](int64_t r) {
    bool nan = false;
    float* ar = a + r * k;
    rmax[r] = magnitudes(x + r * k, k, abs_, attrs_.eps, ar, &nan);
    rnan[r] = nan;
    if (!powered) return;
    const float s = std::max(rmax[r], eps_root);
    scale[r] = s > 0 ? s : 1.0f;
    pow_row(ar, k, 1.0f / scale[r], p0);
  });

  // p = +inf units: max over weighted inputs (a NaN reaches a unit only through a weight > 0).
  auto max_unit = [&](int64_t r, int64_t j) {
    float mx = 0.0f;
    for (int64_t i = 0; i < k; ++i) {
      if (w[j * k + i] > 0) {
        const float v = a[r * k + i];
        if (std::isnan(v)) return v;
        mx = v > mx ? v : mx;
      }
    }
    return mx;
  };

  if (shared && p0 == inf) {
    ParallelFor(ctx, static_cast<size_t>(rows), [&](size_t r) {
      for (int64_t j = 0; j < m; ++j) y[r * m + j] = max_unit(static_cast<int64_t>(r), j);
    });
    return;
  }

  if (shared) {
    // Y = A W^T, then the root: y = s (y / z + sum_eps / s^p)^(1/p) for row r's units [j0, j0 + n)
    const float inv_p = 1.0f / p0;
    const auto root = LP_ISA_CALL(isa_, RootRow);
    const auto finish = [&](int64_t r, int64_t j0, int64_t n) {
      float* yr = y + r * m;
      if (rnan[r]) {
        std::fill(yr + j0, yr + j0 + n, std::numeric_limits<float>::quiet_NaN());
        return;
      }
      // sums that may have underflowed (weighted inputs far below the row's largest magnitude)
      int64_t redo[kPanel], redone = 0;
      const bool any = rmax[r] > 0;
      const float s = scale[r];
      const float eps_term = attrs_.sum_eps > 0 ? attrs_.sum_eps / std::pow(s, p0) : 0.0f;
      for (int64_t c0 = j0; c0 < j0 + n; c0 += kPanel) {
        const int64_t c1 = std::min(j0 + n, c0 + kPanel);
        redone = 0;
        if (any)
          for (int64_t j = c0; j < c1; ++j)
            if (yr[j] < kUnderflow) redo[redone++] = j;
        root(yr + c0, z.data() + c0, c1 - c0, eps_term, inv_p, s);
        for (int64_t i = 0; i < redone; ++i) yr[redo[i]] = ExactUnit(x + r * k, w + redo[i] * k, k, p0, z[redo[i]]);
      }
    };
    if (isa_ == Isa::kAvx512) {
      // own GEMM over W packed in panels (once, when W is constant); each tile finished (the root) by
      // the thread that made it, while it is in that core's cache
      std::vector<float> fed;
      if (w_packed_.empty()) fed = PackPanels(w, m, k);
      const float* panels = w_packed_.empty() ? fed.data() : w_packed_.data();
      const int64_t row_tiles = (rows + kRows - 1) / kRows, col_panels = (m + kPanel - 1) / kPanel;
      // consecutive tasks share a panel (a thread takes a run of tasks): it is read from memory
      // once and from the cache for the other row tiles
      ParallelFor(ctx, static_cast<size_t>(row_tiles * col_panels), [&](size_t t) {
        const int64_t cp = static_cast<int64_t>(t) / row_tiles, rt = static_cast<int64_t>(t) % row_tiles;
        const int64_t tile_rows = std::min(kRows, rows - rt * kRows), j0 = cp * kPanel;
        GemmTile(a + rt * kRows * k, k, panels + cp * k * kPanel, tile_rows, y + rt * kRows * m, m, j0);
        for (int64_t i = 0; i < tile_rows; ++i) finish(rt * kRows + i, j0, std::min(kPanel, m - j0));
      });
      return;
    }
    Ort::MemoryInfo mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    const int64_t a_dims[] = {rows, k};
    const int64_t y_dims[] = {rows, m};
    auto a_val = Ort::Value::CreateTensor<float>(mem, a, static_cast<size_t>(rows * k), a_dims, 2);
    auto y_val = Ort::Value::CreateTensor<float>(mem, y, static_cast<size_t>(rows * m), y_dims, 2);
    // W as float32 (a float16 W converted: wf)
    const int64_t w_dims[] = {m, k};
    auto w_val = Ort::Value::CreateTensor<float>(mem, const_cast<float*>(w), static_cast<size_t>(m * k), w_dims, 2);
    const OrtValue* ins[] = {a_val, w_val};
    OrtValue* outs[] = {y_val};
    gemm_.Invoke(ctx, ins, 2, outs, 1);
    by_rows([&](int64_t r) { finish(r, 0, m); });
    return;
  }

  // Per-unit exponents: L = log2(a / rowmax) once per element, then 2^(p_j L) per unit.
  float* l = RoleBuffer(Role::kLogs, static_cast<size_t>(rows * k)).data();
  by_rows([&](int64_t r) {
    const float s = rmax[r] > 0 ? rmax[r] : 1.0f;
    LP_ISA_CALL(isa_, Log2Scaled)(a + r * k, k, 1.0f / s, isa_ == Isa::kAvx512 ? kLogZero : -inf, l + r * k);
  });
  const int64_t row_blocks = (rows + kRowBlock - 1) / kRowBlock;
  const int64_t unit_blocks = (m + 63) / 64;
  const auto root_units = LP_ISA_CALL(isa_, RootUnits);
  ParallelFor(ctx, static_cast<size_t>(row_blocks * unit_blocks), [&](size_t t) {
    const int64_t rb = static_cast<int64_t>(t) / unit_blocks;
    const int64_t ub = static_cast<int64_t>(t) % unit_blocks;
    const int64_t r0 = rb * kRowBlock;
    const int64_t nr = std::min(kRowBlock, rows - r0);
    const int64_t j0 = ub * 64, nj = std::min<int64_t>(64, m - j0);
    float sums[kRowBlock];
    if (attrs_.sum_eps == 0) {
      // the block's sums first, then the roots of each row's units in one vectorised pass
      float block[kRowBlock][64], inv_p[64];
      for (int64_t jj = 0; jj < nj; ++jj) {
        const float pj = p[j0 + jj];
        inv_p[jj] = pj == inf ? 0.0f : 1.0f / pj;
        if (pj == inf) {
          for (int64_t q = 0; q < nr; ++q) block[q][jj] = 0.0f;  // its output is the maximum, below
          continue;
        }
        LP_ISA_CALL(isa_, ExpDotRows)(w + (j0 + jj) * k, l + r0 * k, k, nr, pj, sums);
        for (int64_t q = 0; q < nr; ++q) block[q][jj] = sums[q];
      }
      for (int64_t q = 0; q < nr; ++q) {
        const int64_t r = r0 + q;
        float* yr = y + r * m + j0;
        if (rmax[r] > 0) root_units(block[q], z.data() + j0, inv_p, nj, rmax[r], yr);
        for (int64_t jj = 0; jj < nj; ++jj) {
          const int64_t j = j0 + jj;
          if (p[j] == inf)
            yr[jj] = max_unit(r, j);
          else if (rnan[r])
            yr[jj] = std::numeric_limits<float>::quiet_NaN();
          else if (!(rmax[r] > 0))
            yr[jj] = 0.0f;
          else if (block[q][jj] < kUnderflow)
            yr[jj] = ExactUnit(x + r * k, w + j * k, k, p[j], z[j]);
        }
      }
      return;
    }
    for (int64_t j = j0; j < j0 + nj; ++j) {
      const float pj = p[j];
      if (pj == inf) {
        for (int64_t r = r0; r < r0 + nr; ++r) y[r * m + j] = max_unit(r, j);
        continue;
      }
      LP_ISA_CALL(isa_, ExpDotRows)(w + j * k, l + r0 * k, k, nr, pj, sums);
      for (int64_t q = 0; q < nr; ++q) {
        const int64_t r = r0 + q;
        if (rnan[r]) {
          y[r * m + j] = std::numeric_limits<float>::quiet_NaN();
          continue;
        }
        // Y = m' (S (m / m')^p / Z + sum_eps / m'^p)^(1/p), m' = max(m, sum_eps^(1/p)) keeps it finite.
        const float mx = rmax[r] > 0 ? rmax[r] : 1.0f;
        float s = sums[q] / z[j];
        float scale = mx;
        if (attrs_.sum_eps > 0) {
          const float er = std::pow(attrs_.sum_eps, 1.0f / pj);
          if (er > rmax[r]) {
            s = s * std::exp(pj * std::log(rmax[r] / er)) + 1.0f;
            scale = er;
          } else {
            s += attrs_.sum_eps / std::pow(mx, pj);
          }
        }
        y[r * m + j] = rmax[r] > 0 || attrs_.sum_eps > 0 ? Root(s, 1.0f / pj, scale) : 0.0f;
        if (rmax[r] > 0 && sums[q] < kUnderflow) y[r * m + j] = ExactUnit(x + r * k, w + j * k, k, pj, z[j]);
      }
    }
  });
}

}  // namespace lp
