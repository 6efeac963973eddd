// Shared pieces of the lp-onnx CPU kernels: the onnxruntime thread pool, input checks, window
// geometry (the same rules as ops/geometry.ts), and vectorisable exp / log for the inner loops.
// Attributes are read through kernels/schema (the schemas of ops/).
#pragma once

#include <immintrin.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../common/custom_op.h"
#include "cpu_isa.h"
#include "lp_terms.h"

namespace lp {

// Runs fn(i) for i in [0, n) on onnxruntime's intra-op threads (the session's thread settings).
inline void ParallelFor(OrtKernelContext* ctx, size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  if (n == 1) {
    fn(0);
    return;
  }
  struct Job {
    const std::function<void(size_t)>* fn;
  } job{&fn};
  Ort::ThrowOnError(Ort::GetApi().KernelContext_ParallelFor(
      ctx, [](void* p, size_t i) { (*static_cast<Job*>(p)->fn)(i); }, n, 0, &job));
}

// a(x) of ops.md.
// p's kind for LpPool's terms: 0 for +inf, p itself for 1..4 (products), 6 for any other p >= 2
// (exp2 of degree 3, lp_vec.h), 5 for any other p
inline int PowKind(float p) {
  if (p == std::numeric_limits<float>::infinity()) return 0;
  if (p == 1.0f || p == 2.0f || p == 3.0f || p == 4.0f) return static_cast<int>(p);
  return p >= kExp2Degree3From ? 6 : 5;
}
// the kind of a set of exponents: 0 where one is +inf, theirs where they share one, else the general
// power's (6 where each is >= 2, 5 otherwise)
inline int PowKindOf(const float* p, int64_t n) {
  int kind = PowKind(p[0]);
  if (kind == 0) return 0;
  bool from2 = p[0] >= kExp2Degree3From;
  for (int64_t i = 1; i < n; ++i) {
    const int k = PowKind(p[i]);
    if (k == 0) return 0;
    from2 = from2 && p[i] >= kExp2Degree3From;
    if (k != kind) kind = -1;
  }
  return kind >= 0 ? kind : from2 ? 6 : 5;
}

inline float Magnitude(float x, bool abs_mode, float eps) {
  float v = abs_mode ? std::fabs(x) : x;
  return std::isnan(v) ? v : (v > eps ? v : eps);
}

// --- fast exp / log for vectorised loops ---------------------------------------------------------
// Plain arithmetic and bit casts only, so the compiler vectorises the loops that call them.
// exp: range reduction by ln 2 and a degree-6 polynomial (|rel err| < 2e-7); exact 0 below -87.
inline float FastExp(float x) {
  const float kLog2e = 1.44269504088896341f;
  const float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  float xc = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  float n = std::nearbyint(xc * kLog2e);
  float f = xc - n * kLn2Hi - n * kLn2Lo;
  float p = 1.0f + f * (1.0f + f * (0.5f + f * (0.166666672f + f * (0.0416666418f + f * (0.00833336823f + f * 0.00138889323f)))));
  // the exponent field of 2^n, as unsigned arithmetic (n stays in [-126, 127]; NaN maps to 0)
  const int32_t ni = n == n ? static_cast<int32_t>(n) : 0;
  const uint32_t bits = static_cast<uint32_t>(ni + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  float r = p * scale;
  return x < -87.0f ? 0.0f : r;
}

// 2^x: x = n + f, |f| <= 1/2, 2^f by its degree-6 series (|rel err| < 2e-7); exact 0 below -126.
inline float FastExp2(float x) {
  float xc = x < -126.0f ? -126.0f : (x > 127.0f ? 127.0f : x);
  float n = std::nearbyint(xc);
  float f = xc - n;
  float p = 1.0f + f * (0.693147181f +
                        f * (0.240226507f + f * (0.0555041087f + f * (0.00961812911f + f * (0.00133335581f + f * 0.000154035304f)))));
  // the exponent field of 2^n, as unsigned arithmetic (n stays in [-126, 127]; NaN maps to 0)
  const int32_t ni = n == n ? static_cast<int32_t>(n) : 0;
  const uint32_t bits = static_cast<uint32_t>(ni + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return x < -126.0f ? 0.0f : p * scale;
}

// log for x > 0 (normal floats): x = 2^e * m, m in [sqrt(1/2), sqrt(2)), atanh series in
// t = (m - 1) / (m + 1) (|abs err| < 1e-7). x = 0 gives -inf, NaN stays NaN.
inline float FastLog(float x) {
  int32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  int32_t e = ((bits >> 23) & 0xff) - 127;
  int32_t mbits = (bits & 0x007fffff) | 0x3f800000;
  float m;
  std::memcpy(&m, &mbits, sizeof(m));
  if (m > 1.41421356f) {
    m *= 0.5f;
    e += 1;
  }
  float t = (m - 1.0f) / (m + 1.0f);
  float t2 = t * t;
  float lm = 2.0f * t * (1.0f + t2 * (0.333333333f + t2 * (0.2f + t2 * (0.142857143f + t2 * 0.111111111f))));
  float r = lm + static_cast<float>(e) * 0.693147181f;
  return x > 0.0f ? r : (x == 0.0f ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::quiet_NaN());
}

// scale q^(1/p) for q >= 0, scale > 0 (q = 0 gives 0, NaN stays NaN, q = +inf gives +inf), over the
// whole float range: where log2 of the root leaves +-120 its power of two is applied by ldexp, so a
// result beyond float is +inf and one below it a subnormal or 0, whatever the scale (the vector
// roots hand such lanes here).
inline float Root(float q, float inv_p, float scale) {
  if (q != q) return q;
  if (q == 0.0f || scale == 0.0f) return 0.0f;
  const float l = FastLog(q) * 1.44269504f * inv_p;  // log2 of the root
  if (l > -120.0f && l < 120.0f) return scale * FastExp2(l);
  if (!(l < 400.0f)) return std::numeric_limits<float>::infinity();
  if (!(l > -400.0f)) return 0.0f;
  const float n = std::floor(l);
  return std::ldexp(scale * FastExp2(l - n), static_cast<int>(n));
}

}  // namespace lp
