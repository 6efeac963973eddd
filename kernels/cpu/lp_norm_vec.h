// LpNorm's per-unit exponent loop on lp_vec.h's vectors; lp_lanes.h includes it per lane width.
// No include guard: it is meant to be included more than once.

// s[r] = sum_i w[i] 2^(p l[r][i]) for a block of rows against one weight row (l: log2 of the
// magnitudes over their row's maximum, so <= 0; the largest term is its weight). Four rows at a
// time share each load of w.
template <int kDegree>
LP_VEC_INLINE void ExpDotRowsDeg(const float* w, const float* l, int64_t k, int64_t rows, float p, float* s) {
  const int64_t body = k - k % kLanes;
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* l0 = l + r * k;
    VF a0 = Splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t i = 0; i < body; i += kLanes) {
      const VF wv = Load(w + i);
      a0 += wv * Exp2Term<kDegree>(p * Load(l0 + i));
      a1 += wv * Exp2Term<kDegree>(p * Load(l0 + k + i));
      a2 += wv * Exp2Term<kDegree>(p * Load(l0 + 2 * k + i));
      a3 += wv * Exp2Term<kDegree>(p * Load(l0 + 3 * k + i));
    }
    const VF* acc[4] = {&a0, &a1, &a2, &a3};
    for (int q = 0; q < 4; ++q) {
      float total = 0.0f;
      for (int j = 0; j < kLanes; ++j) total += (*acc[q])[j];
      for (int64_t i = body; i < k; ++i) total += w[i] * FastExp2(p * l0[q * k + i]);
      s[r + q] = total;
    }
  }
  for (; r < rows; ++r) {
    const float* lr = l + r * k;
    VF acc = Splat(0.0f);
    for (int64_t i = 0; i < body; i += kLanes) acc += Load(w + i) * Exp2Term<kDegree>(p * Load(lr + i));
    float total = 0.0f;
    for (int j = 0; j < kLanes; ++j) total += acc[j];
    for (int64_t i = body; i < k; ++i) total += w[i] * FastExp2(p * lr[i]);
    s[r] = total;
  }
}

// exp2 of degree 3 for p >= 2 (lp_vec.h)
LP_VEC_INLINE void ExpDotRowsImpl(const float* w, const float* l, int64_t k, int64_t rows, float p, float* s) {
  if (p >= kExp2Degree3From)
    ExpDotRowsDeg<3>(w, l, k, rows, p, s);
  else
    ExpDotRowsDeg<4>(w, l, k, rows, p, s);
}

// a = a(x) along a row (NaN kept); returns the row's largest magnitude, *nan whether the row holds a NaN
LP_VEC_INLINE float MagnitudeRowImpl(const float* x, int64_t k, bool abs_mode, float eps, float* a, bool* nan) {
  return MaxMagnitude<true>(x, k, abs_mode, eps, a, nan);
}

// y = s (y / z + e)^(1/p) along a row (RootV)
LP_VEC_INLINE VF RootOf(VF y, VF z, float e, float inv_p, float s) { return RootV(y / z + e, inv_p, s); }

LP_VEC_INLINE void RootRowImpl(float* y, const float* z, int64_t m, float e, float inv_p, float s) {
  const int64_t body = m - m % kLanes;
  for (int64_t i = 0; i < body; i += kLanes) Store(y + i, RootOf(Load(y + i), Load(z + i), e, inv_p, s));
  if (body < m) {
    float py[kLanes] = {}, pz[kLanes];
    for (int l = 0; l < kLanes; ++l) pz[l] = 1.0f;
    std::memcpy(py, y + body, sizeof(float) * (m - body));
    std::memcpy(pz, z + body, sizeof(float) * (m - body));
    Store(py, RootOf(Load(py), Load(pz), e, inv_p, s));
    std::memcpy(y + body, py, sizeof(float) * (m - body));
  }
}
