// LpPool's global-window loops (GeM) on lp_vec.h's vectors; lp_lanes.h includes it per lane width.
// No include guard: it is meant to be included more than once.
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

// (a(x) / m)^p; small integer p (GeM's usual 3) by products: exact and a fraction of the exp / log
// cost. A function, not a lambda: a lambda's call is not always inlined, and a vector crossing a
// call between instruction sets changes its ABI.
__attribute__((always_inline)) inline VF PowTerm(VF v, bool abs_mode, float eps, float inv_m, float p) {
  const VF r = MagnitudeV(v, abs_mode, eps) * inv_m;
  return p == 2.0f ? r * r : p == 1.0f ? r : p == 3.0f ? r * r * r : p == 4.0f ? (r * r) * (r * r) : Exp2V(p * Log2V(r));
}

__attribute__((always_inline)) inline float SumPowScaledImpl(const float* x, int64_t n, bool abs_mode, float eps, float inv_m, float p) {
  VF acc = Splat(0.0f);
  const int64_t body = n - n % kLanes;
  for (int64_t i = 0; i < body; i += kLanes) acc += PowTerm(Load(x + i), abs_mode, eps, inv_m, p);
  double s = 0.0;
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  if (body < n) {
    // the tail in one more vector; its lanes past n (a(0) = eps there) are left out of the sum
    float part[kLanes] = {};
    std::memcpy(part, x + body, sizeof(float) * (n - body));
    const VF t = PowTerm(Load(part), abs_mode, eps, inv_m, p);
    for (int64_t l = 0; l < n - body; ++l) s += t[l];
  }
  return static_cast<float>(s);
}
