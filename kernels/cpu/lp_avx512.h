// The terms' exp2 and log2 on AVX-512's own instructions, where the instruction set has them:
// vrndscaleps rounds, vscalefps multiplies by 2^n (and goes to 0 below the float range, no clamp of
// the exponent bits), vgetexpps / vgetmantps split a float into exponent and mantissa in [0.75, 1.5).
// Same polynomials as lp_vec.h's Exp2Term / Log2Term (lp_terms.h), fewer steps: 2^(p l) is 8 vector
// steps here against 12 there (7 and 11 at degree 3). Intrinsics in LP_TARGET_AVX512 functions
// only: they inline into the AVX-512 variants and nowhere else.
#pragma once

#include <immintrin.h>

#include "cpu_isa.h"
#include "lp_terms.h"

namespace lp {
namespace avx512 {

#define LP_AVX512_INLINE LP_TARGET_AVX512 __attribute__((always_inline)) inline

// The unmasked forms of these intrinsics start from an undefined vector, which GCC 12 reports as
// maybe uninitialised (its bug 105593); the masked forms with every lane set are the same instructions.
constexpr __mmask16 kAll = 0xffff;

// the sum of the lanes (_mm512_reduce_add_ps starts from undefined vectors too)
LP_AVX512_INLINE float SumLanes(__m512 v) {
  float t[16];
  _mm512_storeu_ps(t, v);
  float s = 0.0f;
  for (float x : t) s += x;
  return s;
}

// 2^x for x <= 0 (0 below -150), by the polynomial of degree kDegree (lp_terms.h: 4, or 3 for p >= 2);
// kClamp: x may be -inf, which would make f NaN (vscalefps alone takes any finite x below -150 to 0)
template <bool kClamp = true, int kDegree = 4>
LP_AVX512_INLINE __m512 Exp2Term(__m512 x) {
  if (kClamp) x = _mm512_mask_max_ps(x, kAll, x, _mm512_set1_ps(-150.0f));
  const __m512 n = _mm512_mask_roundscale_ps(x, kAll, x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(x, n);
  const float* c = Exp2Coefficients<kDegree>();
  __m512 q = _mm512_set1_ps(c[0]);
#pragma GCC unroll 4
  for (int i = 1; i <= kDegree; ++i) q = _mm512_fmadd_ps(f, q, _mm512_set1_ps(c[i]));
  return _mm512_mask_scalef_ps(q, kAll, q, n);
}

// log2(r) for r in [0, 1]: r = 2^e m, m in [0.75, 1.5), log2(m) = u P(u), u = m - 1 (0 gives -inf)
LP_AVX512_INLINE __m512 Log2Term(__m512 r) {
  const __m512 s = _mm512_mul_ps(r, _mm512_set1_ps(1.0f / 0.75f));
  const __m512 e = _mm512_mask_getexp_ps(s, kAll, s);  // the exponent of r / 0.75: m's exponent
  const __m512 m = _mm512_mask_getmant_ps(r, kAll, r, _MM_MANT_NORM_p75_1p5, _MM_MANT_SIGN_src);
  const __m512 u = _mm512_sub_ps(m, _mm512_set1_ps(1.0f));
  __m512 l = _mm512_set1_ps(kLog2Term[0]);
#pragma GCC unroll 5
  for (int i = 1; i < 6; ++i) l = _mm512_fmadd_ps(u, l, _mm512_set1_ps(kLog2Term[i]));
  return _mm512_fmadd_ps(u, l, e);
}

}  // namespace avx512
}  // namespace lp
