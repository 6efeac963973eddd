// The worst errors of lp_vec.h's term functions (and lp_avx512.h's), per lane width: lp_lanes.h
// includes this file after lp_vec.h. No include guard: it is meant to be included more than once.

// The worst relative error of 2^x over the floats whose bits are b0, b0 + step, ... below b1, against
// exp2 in double; kAvx512: lp_avx512.h's sequence (vrndscaleps, vscalefps) instead of lp_vec.h's.
template <int kDegree, bool kAvx512>
LP_VEC_INLINE Worst Exp2Worst(uint32_t b0, uint32_t b1, uint32_t step) {
  Worst w;
  for (uint64_t b = b0; b < b1; b += uint64_t{step} * kLanes) {
    float x[kLanes], y[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      const uint64_t bits = std::min<uint64_t>(b + uint64_t{step} * l, b1 - 1);
      const uint32_t u = static_cast<uint32_t>(bits);
      std::memcpy(&x[l], &u, sizeof(float));
    }
    VF v = Load(x), r;
#if LP_VEC_AVX512
    if (kAvx512) {
      __m512 m;
      std::memcpy(&m, &v, sizeof m);
      m = avx512::Exp2Term<false, kDegree>(m);
      std::memcpy(&r, &m, sizeof r);
    } else {
      r = Exp2Term<kDegree>(v);
    }
#else
    r = Exp2Term<kDegree>(v);
#endif
    Store(y, r);
    for (int l = 0; l < kLanes; ++l) {
      const double want = std::exp2(static_cast<double>(x[l]));
      w.Add(std::fabs(y[l] / want - 1.0), x[l]);
    }
  }
  return w;
}

// The worst absolute error of log2(r) over the floats whose bits are b0, b0 + step, ... below b1
template <bool kAvx512>
LP_VEC_INLINE Worst Log2Worst(uint32_t b0, uint32_t b1, uint32_t step) {
  Worst w;
  for (uint64_t b = b0; b < b1; b += uint64_t{step} * kLanes) {
    float x[kLanes], y[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      const uint64_t bits = std::min<uint64_t>(b + uint64_t{step} * l, b1 - 1);
      const uint32_t u = static_cast<uint32_t>(bits);
      std::memcpy(&x[l], &u, sizeof(float));
    }
    VF v = Load(x), r;
#if LP_VEC_AVX512
    if (kAvx512) {
      __m512 m;
      std::memcpy(&m, &v, sizeof m);
      m = avx512::Log2Term(m);
      std::memcpy(&r, &m, sizeof r);
    } else {
      r = Log2Term(v);
    }
#else
    r = Log2Term(v);
#endif
    Store(y, r);
    for (int l = 0; l < kLanes; ++l) w.Add(std::fabs(y[l] - std::log2(static_cast<double>(x[l]))), x[l]);
  }
  return w;
}
