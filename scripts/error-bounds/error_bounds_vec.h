// The worst errors of lp_vec.h's term functions (and lp_avx512.h's), per lane width: lp_lanes.h
// includes this file after lp_vec.h. No include guard: it is meant to be included more than once.

// The floats whose bits are b, b + step, ... (at most b1 - 1), into x and a vector
LP_VEC_INLINE VF FloatsOfBits(uint64_t b, uint32_t b1, uint32_t step, float* x) {
  for (int l = 0; l < kLanes; ++l) {
    const uint32_t u = static_cast<uint32_t>(std::min<uint64_t>(b + uint64_t{step} * l, b1 - 1));
    std::memcpy(&x[l], &u, sizeof(float));
  }
  return Load(x);
}

// The worst err(x, f(x)) over the floats x whose bits are b0, b0 + step, ... below b1
template <typename F, typename E>
LP_VEC_INLINE Worst Scan(uint32_t b0, uint32_t b1, uint32_t step, F f, E err) {
  Worst w;
  for (uint64_t b = b0; b < b1; b += uint64_t{step} * kLanes) {
    float x[kLanes], y[kLanes];
    Store(y, f(FloatsOfBits(b, b1, step, x)));
    for (int l = 0; l < kLanes; ++l) w.Add(err(x[l], y[l]), x[l]);
  }
  return w;
}

#if LP_VEC_AVX512
// a vector through one of lp_avx512.h's sequences
template <typename G>
LP_VEC_INLINE VF Via512(VF v, G g) {
  __m512 m;
  std::memcpy(&m, &v, sizeof m);
  m = g(m);
  std::memcpy(&v, &m, sizeof v);
  return v;
}
#endif

// The worst relative error of 2^x against exp2 in double; kAvx512: lp_avx512.h's sequence
// (vrndscaleps, vscalefps) instead of lp_vec.h's.
template <int kDegree, bool kAvx512>
LP_VEC_INLINE Worst Exp2Worst(uint32_t b0, uint32_t b1, uint32_t step) {
  return Scan(
      b0, b1, step,
      [](VF v) LP_VEC_INLINE_LAMBDA {
#if LP_VEC_AVX512
        if (kAvx512) return Via512(v, [](__m512 m) LP_VEC_INLINE_LAMBDA { return avx512::Exp2Term<false, kDegree>(m); });
#endif
        return Exp2Term<kDegree>(v);
      },
      [](float x, float y) { return std::fabs(y / std::exp2(static_cast<double>(x)) - 1.0); });
}

// The worst absolute error of log2(r) against log2 in double
template <bool kAvx512>
LP_VEC_INLINE Worst Log2Worst(uint32_t b0, uint32_t b1, uint32_t step) {
  return Scan(
      b0, b1, step,
      [](VF v) LP_VEC_INLINE_LAMBDA {
#if LP_VEC_AVX512
        if (kAvx512) return Via512(v, [](__m512 m) LP_VEC_INLINE_LAMBDA { return avx512::Log2Term(m); });
#endif
        return Log2Term(v);
      },
      [](float x, float y) { return std::fabs(y - std::log2(static_cast<double>(x))); });
}
