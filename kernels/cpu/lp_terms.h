// The polynomials of the terms' exp2 and log2, written once for lp_vec.h's GCC-vector sequences and
// lp_avx512.h's: coefficients highest degree first, for Horner's rule. Their worst errors over every
// float of their domains: lp_vec.h (npm run error-bounds measures both sequences).
#pragma once

namespace lp {

// 2^f for f in [-1/2, 1/2]: degree 4, and degree 3 (taken for p >= 2 only)
constexpr float kExp2Degree4[] = {0.00956051021f, 0.0559170392f, 0.240249811f, 0.693121968f, 0.999999191f};
constexpr float kExp2Degree3[] = {0.0551716708f, 0.242611125f, 0.693260968f, 0.999928057f};
// log2(m) = u P(u) for m in [0.75, 1.5), u = m - 1: P's coefficients
constexpr float kLog2Term[] = {-0.138730899f, 0.288162719f, -0.371157287f, 0.482102965f, -0.72110953f, 1.44267063f};

// exponents from this one on take exp2 of degree 3: its root error is then within half the kernels'
// rtol (lp_vec.h)
constexpr float kExp2Degree3From = 2.0f;

// the exp2 polynomial of degree kDegree (3 or 4)
template <int kDegree>
constexpr const float* Exp2Coefficients() {
  static_assert(kDegree == 3 || kDegree == 4, "exp2 of degree 3 or 4");
  return kDegree == 3 ? kExp2Degree3 : kExp2Degree4;
}

// the degree of the exp2 polynomial for an LpPool pow kind (PowKind: 6, any other p >= 2, takes 3)
constexpr int Exp2DegreeOf(int kind) { return kind == 6 ? 3 : 4; }

}  // namespace lp
