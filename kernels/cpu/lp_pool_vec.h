// The global-window helpers of lp_pool.cc, written once for GCC vector types of kLanes lanes:
// lp_pool.cc includes this file in one namespace per lane width (kLanes defined there), 16 for
// AVX-512 and 8 for AVX2 (a 16-lane type under AVX2 is kept on the stack), 4 for plain x86-64.
// No include guard: it is meant to be included more than once.
typedef float VF __attribute__((vector_size(kLanes * sizeof(float))));
typedef int32_t VI __attribute__((vector_size(kLanes * sizeof(int32_t))));

__attribute__((always_inline)) inline VF Splat(float v) { return VF{} + v; }
__attribute__((always_inline)) inline VF Load(const float* p) {
  VF v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// a(x) of a vector (NaN stays NaN: NaN > eps is false, so NaN is replaced by eps here; the
// caller has already refused a plane with a NaN)
__attribute__((always_inline)) inline VF MagnitudeV(VF v, bool abs_mode, float eps) {
  if (abs_mode) v = reinterpret_cast<VF>(reinterpret_cast<VI>(v) & 0x7fffffff);
  return v > eps ? v : Splat(eps);
}

// 2^x as FastExp2 (x <= 0 here; 0 below -126)
__attribute__((always_inline)) inline VF Exp2V(VF x) {
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
__attribute__((always_inline)) inline VF Log2V(VF x) {
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

__attribute__((always_inline)) inline float PlaneMaxImpl(const float* x, int64_t n, bool abs_mode, float eps, bool* nan) {
  VF m8 = Splat(0.0f);
  VI bad = VI{};
  const int64_t body = n - n % kLanes;
  for (int64_t i = 0; i < body; i += kLanes) {
    const VF v = Load(x + i);
    bad |= v != v;
    const VF a = MagnitudeV(v, abs_mode, eps);
    m8 = a > m8 ? a : m8;
  }
  float m = 0.0f;
  int any = 0;
  for (int l = 0; l < kLanes; ++l) {
    m = m8[l] > m ? m8[l] : m;
    any |= bad[l];
  }
  for (int64_t i = body; i < n; ++i) {
    const float v = Magnitude(x[i], abs_mode, eps);
    any |= v != v;
    m = v > m ? v : m;
  }
  *nan = any != 0;
  return m;
}

__attribute__((always_inline)) inline float SumPowScaledImpl(const float* x, int64_t n, bool abs_mode, float eps, float inv_m, float p) {
  VF acc = Splat(0.0f);
  const int64_t body = n - n % kLanes;
  for (int64_t i = 0; i < body; i += kLanes) {
    const VF r = MagnitudeV(Load(x + i), abs_mode, eps) * inv_m;
    // small integer p (GeM's usual 3) by products: exact and a fraction of the exp / log cost
    acc += p == 2.0f ? r * r : p == 1.0f ? r : p == 3.0f ? r * r * r : p == 4.0f ? (r * r) * (r * r) : Exp2V(p * Log2V(r));
  }
  double s = 0.0;
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  for (int64_t i = body; i < n; ++i) s += std::exp(p * std::log(static_cast<double>(Magnitude(x[i], abs_mode, eps) * inv_m)));
  return static_cast<float>(s);
}
