// Vector arithmetic of the CPU kernels, written once for GCC vector types of kLanes lanes: lp_lanes.h
// includes this file (then the kernel's own *_vec.h) in one namespace per lane width (kLanes defined there):
// 16 for AVX-512, 8 for AVX2 (a 16-lane type under AVX2 is kept on the stack), 4 for plain x86-64.
// No include guard: it is meant to be included more than once.
typedef float VF __attribute__((vector_size(kLanes * sizeof(float))));
typedef int32_t VI __attribute__((vector_size(kLanes * sizeof(int32_t))));

LP_VEC_INLINE VF Splat(float v) { return v - VF{}; }  // x - 0 is x for every x
LP_VEC_INLINE VF Load(const float* p) {
  VF v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
LP_VEC_INLINE void Store(float* p, VF v) { std::memcpy(p, &v, sizeof v); }

// a(x) of a vector (NaN stays NaN: NaN > eps is false, so NaN is replaced by eps here; the
// caller has already refused a plane with a NaN)
LP_VEC_INLINE VF MagnitudeV(VF v, bool abs_mode, float eps) {
  if (abs_mode) v = reinterpret_cast<VF>(reinterpret_cast<VI>(v) & 0x7fffffff);
  return v > eps ? v : Splat(eps);
}

// The largest a(x) over x[0, n) and (*nan) whether a NaN is there; kStore: a(x) is also written to
// a, a NaN kept as NaN (LpNorm's p = +inf units test for it)
template <bool kStore>
LP_VEC_INLINE float MaxMagnitude(const float* x, int64_t n, bool abs_mode, float eps, float* a, bool* nan) {
  VF mx = Splat(0.0f);
  VI bad = VI{};
  const int64_t body = n - n % kLanes;
  for (int64_t i = 0; i < body; i += kLanes) {
    const VF v = Load(x + i);
    bad |= v != v;
    const VF m = MagnitudeV(v, abs_mode, eps);
    if (kStore) Store(a + i, v != v ? v : m);
    mx = m > mx ? m : mx;
  }
  float out = 0.0f;
  int any = 0;
  for (int l = 0; l < kLanes; ++l) {
    out = mx[l] > out ? mx[l] : out;
    any |= bad[l];
  }
  for (int64_t i = body; i < n; ++i) {
    const float v = Magnitude(x[i], abs_mode, eps);
    if (kStore) a[i] = v;
    any |= v != v;
    out = v > out ? v : out;
  }
  *nan = any != 0;
  return out;
}

// 2^x as FastExp2 (x <= 0 here; 0 below -126)
LP_VEC_INLINE VF Exp2V(VF x) {
  const VF xc = x < -126.0f ? Splat(-126.0f) : x;
  const VF magic = Splat(12582912.0f);  // 1.5 * 2^23: adding and subtracting it rounds to an integer
  const VF n = (xc + magic) - magic;
  const VF f = xc - n;
  const VF p = 1.0f + f * (0.693147181f +
                           f * (0.240226507f + f * (0.0555041087f + f * (0.00961812911f + f * (0.00133335581f + f * 0.000154035304f)))));
  const VI bits = (__builtin_convertvector(n, VI) + 127) << 23;
  const VF r = p * reinterpret_cast<VF>(bits);
  return x < -126.0f ? Splat(0.0f) : r;
}

// log2(x) for x in [0, 1] (0 gives -inf): x = 2^e m, m in [sqrt(1/2), sqrt(2)), log2(m) = u P(u)
// with u = m - 1 and P a degree-6 least-squares fit on Chebyshev nodes (|abs err| < 1e-7; no division)
LP_VEC_INLINE VF Log2V(VF x) {
  const VI bits = reinterpret_cast<VI>(x);
  VI e = ((bits >> 23) & 0xff) - 127;
  VF m = reinterpret_cast<VF>((bits & 0x007fffff) | 0x3f800000);
  const VI big = m > 1.41421356f;
  m = big ? m * 0.5f : m;
  e = e - big;  // big is -1 where true
  const VF u = m - 1.0f;
  const VF poly =
      1.44269496f +
      u * (-0.721352760f +
           u * (0.480924046f + u * (-0.360241924f + u * (0.287075321f + u * (-0.248822345f + u * (0.234212617f + u * -0.146205297f))))));
  const VF r = u * poly + __builtin_convertvector(e, VF);
  return x > 0.0f ? r : Splat(-std::numeric_limits<float>::infinity());
}

// --- the terms of a sum that a root of degree p finishes ------------------------------------------
// A term's relative error e reaches (sum)^(1/p) as at most e / p, and log2's absolute error d reaches
// it as d ln 2 (whatever p), so these are shorter than Exp2V / Log2V: least-squares fits on Chebyshev
// nodes, refined towards the least maximum relative error (coefficients: lp_terms.h). Worst errors over every float of the
// domain (npm run error-bounds: x in [-126, 127.5), r in [2^-126, 2.5e38]): Exp2Term degree 4 |rel|
// 2.75e-6, degree 3 |rel| 7.5e-5, Log2Term |abs| 6.5e-6 (most of it the float rounding of the
// exponent added last). Degree 3 (3 multiply-adds where degree 4 takes 4; 7 vector steps for
// 2^(p l) on AVX-512 where 8) is for p >= 2 only: its root is then within 4.2e-5, while at p = 1 it
// would be within 8e-5 of the kernels' rtol of 1e-4.
template <int kDegree>
LP_VEC_INLINE VF Exp2Poly(VF f) {
  const float* c = Exp2Coefficients<kDegree>();
  VF q = Splat(c[0]);
#pragma GCC unroll 4
  for (int i = 1; i <= kDegree; ++i) q = q * f + c[i];
  return q;
}

// 2^x for x <= 0 or -inf (2^-126 below -126), by a polynomial of degree kDegree (4 or 3, see above)
template <int kDegree = 4>
LP_VEC_INLINE VF Exp2Term(VF x) {
  const VF xc = x < -126.0f ? Splat(-126.0f) : x;
  const VF magic = Splat(12582912.0f);  // 1.5 * 2^23: adding and subtracting it rounds to an integer
  const VF n = (xc + magic) - magic;
  const VF f = xc - n;
  // below -126 the term stays at 2^-126: callers recompute sums that small exactly
  return Exp2Poly<kDegree>(f) * reinterpret_cast<VF>((__builtin_convertvector(n, VI) + 127) << 23);
}

// log2(r) for r in [0, 1]: r = 2^e m with m in [0.75, 1.5), log2(m) = u P(u), u = m - 1 (0 gives
// -inf, and so does NaN)
LP_VEC_INLINE VF Log2Term(VF r) {
  const VI bits = reinterpret_cast<VI>(r);
  VI ei = ((bits >> 23) & 0xff) - 127;
  VF m = reinterpret_cast<VF>((bits & 0x007fffff) | 0x3f800000);
  const VI big = m >= 1.5f;
  m = big ? m * 0.5f : m;
  ei = ei - big;  // big is -1 where true
  const VF e = __builtin_convertvector(ei, VF);
  const VF u = m - 1.0f;
  VF poly = Splat(kLog2Term[0]);
#pragma GCC unroll 5
  for (int i = 1; i < 6; ++i) poly = poly * u + kLog2Term[i];
  const VF l = u * poly + e;
  return r > 0.0f ? l : Splat(-std::numeric_limits<float>::infinity());
}

// whether any lane of a mask is set
LP_VEC_INLINE bool AnyLane(VI m) {
#if LP_VEC_AVX512
  __m512i v;
  std::memcpy(&v, &m, sizeof v);
  return _mm512_test_epi32_mask(v, v) != 0;
#else
  int32_t any = 0;
  for (int l = 0; l < kLanes; ++l) any |= m[l];
  return any != 0;
#endif
}

// scale q^(1/p) for q >= 0 (0 gives 0, NaN stays NaN): the roots of LpPool's windows and LpNorm's
// units, by Log2V / Exp2V (about 2e-7 each: ops.md's special cases, p = 1 against AveragePool and
// integer p against LpPool, then agree with onnxruntime's own ops to a few float steps; the terms'
// shorter sequences would put 3e-6 there). A lane whose log2 root leaves +-120 (or q = +inf) is
// taken by the scalar Root, which gives +inf beyond float's range and subnormals below it whatever
// the scale.
LP_VEC_INLINE VF RootV(VF q, float inv_p, float scale) {
  const VF l = inv_p * Log2V(q);
  VF y = scale * Exp2V(l < 120.0f ? l : Splat(120.0f));
  const VI wide = ((l < -120.0f) & (q > 0.0f)) | (l > 120.0f) | (q > std::numeric_limits<float>::max());
  if (AnyLane(wide))
    for (int i = 0; i < kLanes; ++i)
      if (wide[i]) y[i] = Root(q[i], inv_p, scale);
  return q != q ? q : q > 0.0f ? y : Splat(0.0f);
}
