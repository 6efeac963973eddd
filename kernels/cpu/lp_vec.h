// Vector arithmetic of the CPU kernels, written once for GCC vector types of kLanes lanes: lp_lanes.h
// includes this file (then the kernel's own *_vec.h) in one namespace per lane width (kLanes defined there):
// 16 for AVX-512, 8 for AVX2 (a 16-lane type under AVX2 is kept on the stack), 4 for plain x86-64.
// No include guard: it is meant to be included more than once.
typedef float VF __attribute__((vector_size(kLanes * sizeof(float))));
typedef int32_t VI __attribute__((vector_size(kLanes * sizeof(int32_t))));

__attribute__((always_inline)) inline VF Splat(float v) { return v - VF{}; }  // x - 0 is x for every x
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

// 2^x for x <= 0 (or -inf) where an underflowed term may stay at 2^-126 instead of 0: the
// LpNorm sums, whose largest term is 1 and whose tiny sums are recomputed exactly
__attribute__((always_inline)) inline VF Exp2Low(VF x) {
  const VF xc = x < -126.0f ? Splat(-126.0f) : x;
  const VF magic = Splat(12582912.0f);
  const VF n = (xc + magic) - magic;
  const VF f = xc - n;
  const VF p = 1.0f + f * (0.693147181f +
                           f * (0.240226507f + f * (0.0555041087f + f * (0.00961812911f + f * (0.00133335581f + f * 0.000154035304f)))));
  return p * reinterpret_cast<VF>((__builtin_convertvector(n, VI) + 127) << 23);
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
