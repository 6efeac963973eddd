// The loops peaks.cc times, on lp_vec.h's vectors; lp_lanes.h includes it per lane width. Operands
// kept in registers pass through Opaque each round: the compiler must then take them as changed (as
// the kernels' loads make them), so nothing is hoisted, and no instruction is added.
// No include guard: it is meant to be included more than once.
LP_VEC_INLINE void Opaque(VF& v) { asm volatile("" : "+v"(v)); }

// 12 independent chains of a = a m + c (one FMA each where the instruction set has FMA; a multiply
// and an add on plain x86-64)
LP_VEC_INLINE float FmaLoopImpl(int64_t rounds) {
  VF a[12];
  for (int i = 0; i < 12; ++i) a[i] = Splat(1.0f + 1e-3f * static_cast<float>(i));
  VF m = Splat(0.9999999f), c = Splat(1e-7f);
  for (int64_t r = 0; r < rounds; ++r) {
    Opaque(m);
    Opaque(c);
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = a[i] * m + c;
  }
  VF s = a[0];
  for (int i = 1; i < 12; ++i) s += a[i];
  return s[0];
}

// 8 accumulators of acc += min(x, w), as L1Conv's tile (two x vectors against four filters)
LP_VEC_INLINE float MinAddLoopImpl(int64_t rounds) {
  VF acc[8];
  for (int i = 0; i < 8; ++i) acc[i] = Splat(0.0f);
  VF x0 = Splat(0.25f), x1 = Splat(0.75f);
  const VF w[4] = {Splat(0.1f), Splat(0.3f), Splat(0.5f), Splat(0.7f)};
  for (int64_t r = 0; r < rounds; ++r) {
    Opaque(x0);
    Opaque(x1);
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      acc[2 * c] += x0 < w[c] ? x0 : w[c];
      acc[2 * c + 1] += x1 < w[c] ? x1 : w[c];
    }
  }
  VF s = acc[0];
  for (int i = 1; i < 8; ++i) s += acc[i];
  return s[0];
}

// 4 chains of acc += w 2^(p l), as LpNorm's per-unit loop (four rows against one weight vector)
LP_VEC_INLINE float Exp2DotLoopImpl(int64_t rounds) {
  VF acc[4], l[4];
  for (int i = 0; i < 4; ++i) {
    acc[i] = Splat(0.0f);
    l[i] = Splat(-0.5f - 0.25f * static_cast<float>(i));
  }
  VF w = Splat(0.5f);
  const float p = 2.7f;
  for (int64_t r = 0; r < rounds; ++r) {
    Opaque(w);
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      Opaque(l[i]);
#if LP_VEC_AVX512
      acc[i] += w * avx512::Exp2Term<false>(p * l[i]);  // the AVX-512 path's own (lp_norm.cc)
#else
      acc[i] += w * Exp2Term(p * l[i]);
#endif
    }
  }
  return (acc[0] + acc[1] + acc[2] + acc[3])[0];
}

// 4 chains of acc += r^p = 2^(p log2 r), as LpPool's term for a p that is no small integer
LP_VEC_INLINE float PowTermLoopImpl(int64_t rounds) {
  VF acc[4], x[4];
  for (int i = 0; i < 4; ++i) {
    acc[i] = Splat(0.0f);
    x[i] = Splat(0.2f + 0.2f * static_cast<float>(i));
  }
  const float p = 2.7f;
  for (int64_t r = 0; r < rounds; ++r)
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      Opaque(x[i]);
#if LP_VEC_AVX512
      acc[i] += avx512::Exp2Term(p * avx512::Log2Term(x[i]));  // the AVX-512 path's own (lp_pool_vec.h)
#else
      acc[i] += Exp2Term(p * Log2Term(x[i]));
#endif
    }
  return (acc[0] + acc[1] + acc[2] + acc[3])[0];
}

// 8 accumulators of acc += x, x changing each round
LP_VEC_INLINE float AddLoopImpl(int64_t rounds) {
  VF acc[8];
  for (int i = 0; i < 8; ++i) acc[i] = Splat(0.0f);
  VF x = Splat(1e-7f);
  for (int64_t r = 0; r < rounds; ++r) {
    Opaque(x);
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) acc[i] += x;
  }
  VF s = acc[0];
  for (int i = 1; i < 8; ++i) s += acc[i];
  return s[0];
}

// the sum of n floats (n a multiple of 4 kLanes), four vector accumulators
LP_VEC_INLINE float ReadLoopImpl(const float* x, int64_t n) {
  VF a0 = Splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = 0; i < n; i += 4 * kLanes) {
    a0 += Load(x + i);
    a1 += Load(x + i + kLanes);
    a2 += Load(x + i + 2 * kLanes);
    a3 += Load(x + i + 3 * kLanes);
  }
  return (a0 + a1 + a2 + a3)[0];
}

// n floats stored (n a multiple of kLanes), a value that changes with each store (not a memset)
LP_VEC_INLINE void WriteLoopImpl(float* y, int64_t n) {
  VF v = Splat(0.0f);
  const VF one = Splat(1.0f);
  for (int64_t i = 0; i < n; i += kLanes) {
    Store(y + i, v);
    v += one;
  }
}
