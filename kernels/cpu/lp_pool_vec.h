// LpPool's global-window loops (GeM) on lp_vec.h's vectors; lp_lanes.h includes it per lane width.
// No include guard: it is meant to be included more than once.
LP_VEC_INLINE float PlaneMaxImpl(const float* x, int64_t n, bool abs_mode, float eps, bool* nan) {
  return MaxMagnitude<false>(x, n, abs_mode, eps, nullptr, nan);
}

// r^p for r in [0, 1], p's kind (PowKind) fixed: small integer p (GeM's usual 3) by products (exact,
// a fraction of the exp / log cost), any other by Exp2Term / Log2Term. Functions, not lambdas: a
// lambda's call is not always inlined, and a vector crossing a call between instruction sets
// changes its ABI.
// On AVX-512 the general power takes lp_avx512.h's exp2 and log2 (19 vector steps against 29).
template <int kKind>
LP_VEC_INLINE VF PowOf(VF r, float p) {
#if LP_VEC_AVX512
  if (kKind >= 5) return avx512::Exp2Term<true, Exp2DegreeOf(kKind)>(_mm512_mul_ps(_mm512_set1_ps(p), avx512::Log2Term(r)));
#endif
  constexpr int kDegree = Exp2DegreeOf(kKind);
  return kKind == 1 ? r : kKind == 2 ? r * r : kKind == 3 ? r * r * r : kKind == 4 ? (r * r) * (r * r) : Exp2Term<kDegree>(p * Log2Term(r));
}

// r^p for the unscaled terms of GeM's one pass: r may exceed 1, and a term beyond float's range must
// be +inf (a sum the caller then hands to the scaled passes), never wrapped exponent bits: the
// general power's argument is capped at 128 (2^128 is +inf; AVX-512's vscalefps goes to +inf itself)
template <int kKind>
LP_VEC_INLINE VF PowUnscaled(VF r, float p) {
#if !LP_VEC_AVX512
  if (kKind >= 5) {
    const VF l = p * Log2Term(r);
    return Exp2Term<Exp2DegreeOf(kKind)>(l < 128.0f ? l : Splat(128.0f));
  }
#endif
  return PowOf<kKind>(r, p);
}

template <int kKind>
LP_VEC_INLINE float SumPowScaled(const float* x, int64_t n, bool abs_mode, float eps, float inv_m, float p) {
  VF acc = Splat(0.0f);
  const int64_t body = n - n % kLanes;
  // a NaN element makes the sum NaN (the one-pass GeM relies on it; a(NaN) alone would be eps)
  for (int64_t i = 0; i < body; i += kLanes) {
    const VF v = Load(x + i);
    const VF t = PowUnscaled<kKind>(MagnitudeV(v, abs_mode, eps) * inv_m, p);
    acc += v != v ? v : t;
  }
  double s = 0.0;
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  if (body < n) {
    // the tail in one more vector; its lanes past n (a(0) = eps there) are left out of the sum
    float part[kLanes] = {};
    std::memcpy(part, x + body, sizeof(float) * (n - body));
    const VF v = Load(part);
    const VF t = PowUnscaled<kKind>(MagnitudeV(v, abs_mode, eps) * inv_m, p);
    const VF u = v != v ? v : t;
    for (int64_t l = 0; l < n - body; ++l) s += u[l];
  }
  return static_cast<float>(s);
}

// Calls f with p's kind (PowKind) as a constant, std::integral_constant<int, kind>: the kernels'
// loops are instantiated per kind. f is an always-inline lambda, so that its loop is compiled for
// the caller's instruction set.
template <typename F>
LP_VEC_INLINE auto ByPowKind(int kind, F f) {
  switch (kind) {
    case 0:
      return f(std::integral_constant<int, 0>{});
    case 1:
      return f(std::integral_constant<int, 1>{});
    case 2:
      return f(std::integral_constant<int, 2>{});
    case 3:
      return f(std::integral_constant<int, 3>{});
    case 4:
      return f(std::integral_constant<int, 4>{});
    case 6:
      return f(std::integral_constant<int, 6>{});
    default:
      return f(std::integral_constant<int, 5>{});
  }
}

// sum over x of (a(x) / m)^p, finite p
LP_VEC_INLINE float SumPowScaledImpl(const float* x, int64_t n, bool abs_mode, float eps, float inv_m, float p) {
  return ByPowKind(PowKind(p), [&](auto kind) LP_VEC_INLINE_LAMBDA {
    return SumPowScaled < kind() == 0 ? 5 : kind() > (x, n, abs_mode, eps, inv_m, p);
  });
}

// --- GeM: global windows, kLanes planes at a time in one pass -----------------------------------

// The step of SumRows from m partial sums per row to m / 2: lane t of the result takes from the two
// vectors' concatenation the first (hi = 0) or the second half of its row's sums. Each vector holds
// kLanes / m rows, row i in lanes [i m, i m + m); the result holds the first vector's rows, then
// the second's.
constexpr int32_t RowLane(int m, int hi, int t) {
  const int h = m / 2, k = kLanes / m, r = t / h, j = t % h;
  return (r < k ? r * m : kLanes + (r - k) * m) + j + hi * h;
}
template <int kM, int kHi, size_t... I>
LP_VEC_INLINE VI RowMask(std::index_sequence<I...>) {
  return VI{RowLane(kM, kHi, static_cast<int>(I))...};
}

// v[0..kLanes): one vector, lane l the sum of the lanes of v[l] (called with kM = kLanes; v is
// overwritten). A transposing tree: kLanes - 1 pairs of shuffles for kLanes sums, where a sum of
// lanes each would take log2(kLanes) shuffles per vector.
template <int kM>
LP_VEC_INLINE VF SumRows(VF* v) {
  if constexpr (kM == 1) {
    return v[0];
  } else {
    const VI lo = RowMask<kM, 0>(std::make_index_sequence<kLanes>{}), hi = RowMask<kM, 1>(std::make_index_sequence<kLanes>{});
    for (int j = 0; j < kM / 2; ++j) v[j] = __builtin_shuffle(v[2 * j], v[2 * j + 1], lo) + __builtin_shuffle(v[2 * j], v[2 * j + 1], hi);
    return SumRows<kM / 2>(v);
  }
}

// The unscaled sum of a(x)^p over one plane, as a vector of partial sums (a NaN element makes it
// NaN). The tail is read by a load that ends at the plane's end, its lanes already counted masked
// off, so nothing outside the plane is read; a plane shorter than a vector is copied out.
template <int kKind>
LP_VEC_INLINE VF PlaneSum(const float* x, int64_t plane, bool abs_mode, float eps, float p) {
  const auto term = [&](VF v) LP_VEC_INLINE_LAMBDA {
    const VF t = PowUnscaled<kKind>(MagnitudeV(v, abs_mode, eps), p);
    return v != v ? v : t;
  };
  VF a0 = Splat(0.0f), a1 = Splat(0.0f);
  const int64_t body = plane - plane % kLanes;
  int64_t i = 0;
  for (; i + 2 * kLanes <= body; i += 2 * kLanes) {
    a0 += term(Load(x + i));
    a1 += term(Load(x + i + kLanes));
  }
  if (i < body) a0 += term(Load(x + i));
  if (body < plane) {
    VI lane;
    for (int l = 0; l < kLanes; ++l) lane[l] = l;
    const int32_t rem = static_cast<int32_t>(plane - body);
    if (plane >= kLanes) {
      // lanes [kLanes - rem, kLanes) of the last vector of the plane are the tail
      a1 += lane >= kLanes - rem ? term(Load(x + plane - kLanes)) : Splat(0.0f);
    } else {
      float part[kLanes] = {};
      std::memcpy(part, x, sizeof(float) * plane);
      a1 += lane < rem ? term(Load(part)) : Splat(0.0f);
    }
  }
  return a0 + a1;
}

// GeM's planes q0 .. q0 + count (a global window, finite p: one exponent, or per channel (np = c),
// of one pow kind, kind 0 not allowed), kLanes at a time in one pass: each plane's unscaled sum
// s = sum a(x)^p (PlaneSum), the kLanes sums reduced into one vector, and the roots
// y = (s / z)^(1/p) taken together. A plane whose sum or root is out of float's range (a NaN, an
// inf, an all-zero, a tiny or a huge plane) is left to the caller's scaled passes: redo[q - q0] is
// set, and the count of those returned. The unscaled sum loses only terms below 2^-126 of a sum
// of at least 1e-30, as negligible as the scaled sum's own losses.
template <int kKind>
LP_VEC_INLINE int64_t GemPlanes(const float* x, int64_t q0, int64_t count, int64_t plane, bool abs_mode, float eps, const float* p,
                                int64_t np, int64_t c, float z, float* y, uint8_t* redo) {
  int64_t redone = 0;
  for (int64_t b = 0; b < count; b += kLanes) {
    const int rows = static_cast<int>(std::min<int64_t>(kLanes, count - b));
    VF s[kLanes];
    VF pv = Splat(1.0f);
    for (int l = 0; l < kLanes; ++l) {
      if (l >= rows) {
        s[l] = Splat(1.0f);
        continue;
      }
      const float pl = p[np == 1 ? 0 : (q0 + b + l) % c];
      pv[l] = pl;
      s[l] = PlaneSum<kKind>(x + (b + l) * plane, plane, abs_mode, eps, pl);
    }
    const VF sum = SumRows<kLanes>(s);
    const VF e = Log2V(sum * (1.0f / z)) / pv;
    const VI ok = (sum >= kOnePassMin) & (sum <= kOnePassMax) & (e > -kOnePassExp) & (e < kOnePassExp);
    const VF r = Exp2V(ok ? e : Splat(0.0f));
    for (int l = 0; l < rows; ++l) {
      y[b + l] = r[l];
      redo[b + l] = ok[l] == 0;
      redone += ok[l] == 0;
    }
  }
  return redone;
}

LP_VEC_INLINE int64_t GemPlanesImpl(const float* x, int64_t q0, int64_t count, int64_t plane, bool abs_mode, float eps, const float* p,
                                    int64_t np, int64_t c, float z, int kind, float* y, uint8_t* redo) {
  return ByPowKind(kind, [&](auto k) LP_VEC_INLINE_LAMBDA {
    return GemPlanes < k() == 0 ? 5 : k() > (x, q0, count, plane, abs_mode, eps, p, np, c, z, y, redo);
  });
}

// --- windowed pooling, one (n, c) plane at a time (Windows: lp_pool.cc) ---------------------------

// The term of an element: a(x) for p = +inf (kKind 0), else (a(x) / m)^p (PowUnscaled: the
// unscaled pass, inv_m = 1, can meet terms beyond float's range). A NaN stays NaN, so that it reaches
// every window holding it.
template <int kKind>
LP_VEC_INLINE VF WindowTerm(VF v, bool abs_mode, float eps, float inv_m, float p) {
  const VF a = MagnitudeV(v, abs_mode, eps);
  const VF t = kKind == 0 ? a : PowUnscaled<kKind>(a * inv_m, p);
  return v != v ? v : t;
}

// The terms of every input row, written into the interior of the padded plane (its pads stay 0).
// `next` (or null) is the next plane, fetched into the cache meanwhile: reading it then costs no wait
// for memory.
template <int kKind>
LP_VEC_INLINE void WindowTerms(const Windows& w, const float* x, float inv_m, float p, float* padded, const float* next) {
  const int64_t n = w.in[2], body = n - n % kLanes;
  for (int64_t i0 = 0; i0 < w.in[0]; ++i0)
    for (int64_t i1 = 0; i1 < w.in[1]; ++i1) {
      const int64_t at = (i0 * w.in[1] + i1) * n;
      const float* src = x + at;
      float* dst = padded + ((i0 + w.pad[0]) * w.padded[1] + i1 + w.pad[1]) * w.padded[2] + w.pad[2];
      if (next)
        for (int64_t i = 0; i < n; i += 16) __builtin_prefetch(next + at + i, 0, 2);
      for (int64_t i = 0; i < body; i += kLanes) Store(dst + i, WindowTerm<kKind>(Load(src + i), w.abs_mode, w.eps, inv_m, p));
      if (body < n) {
        float part[kLanes] = {};
        std::memcpy(part, src + body, sizeof(float) * (n - body));
        Store(part, WindowTerm<kKind>(Load(part), w.abs_mode, w.eps, inv_m, p));
        std::memcpy(dst + body, part, sizeof(float) * (n - body));
      }
    }
}

// The window sums (or NaN-propagating maxima) of the padded plane: for each output row, the rows of
// its window combined column by column (contiguous, vectorised), then the windows along the row
// (kStride: the row stride when it is 1 or 2, so that the strided loads vectorise; 0: any).
template <bool kMax>
LP_VEC_INLINE float Combine(float s, float v) {
  return kMax ? ((v > s || v != v) ? v : s) : s + v;
}

template <bool kMax, int kStride>
LP_VEC_INLINE void WindowSums(const Windows& w, const float* padded, const float* zeros, float* acc, float* sums) {
  const int64_t width = w.read[2], st = kStride > 0 ? kStride : w.stride[2], d2 = w.dilation[2], n_out = w.out[2];
  for (int64_t o0 = 0; o0 < w.out[0]; ++o0)
    for (int64_t o1 = 0; o1 < w.out[1]; ++o1) {
      // the window's rows, three at a time (`zeros` fills a last group: 0 changes neither a sum nor a
      // maximum of magnitudes)
      const float* rows[3] = {zeros, zeros, zeros};
      int held = 0;
      bool first = true;
      for (int64_t k0 = 0; k0 < w.kernel[0]; ++k0)
        for (int64_t k1 = 0; k1 < w.kernel[1]; ++k1) {
          rows[held++] =
              padded + ((o0 * w.stride[0] + k0 * w.dilation[0]) * w.padded[1] + o1 * w.stride[1] + k1 * w.dilation[1]) * w.padded[2];
          const bool last = k0 == w.kernel[0] - 1 && k1 == w.kernel[1] - 1;
          if (held < 3 && !last) continue;
          const float *r0 = rows[0], *r1 = rows[1], *r2 = rows[2];
          for (int64_t j = 0; j < width; ++j) {
            const float a = first ? r0[j] : Combine<kMax>(acc[j], r0[j]);
            acc[j] = Combine<kMax>(Combine<kMax>(a, r1[j]), r2[j]);
          }
          first = false;
          held = 0;
          rows[0] = rows[1] = rows[2] = zeros;
        }
      float* s = sums + (o0 * w.out[1] + o1) * n_out;
      for (int64_t o = 0; o < n_out; ++o) s[o] = acc[o * st];
      for (int64_t k = 1; k < w.kernel[2]; ++k) {
        const float* a = acc + k * d2;
        for (int64_t o = 0; o < n_out; ++o) {
          s[o] = Combine<kMax>(s[o], a[o * st]);
        }
      }
    }
}

// y = scale * q^(1/p) with q = s / z (RootV). Returns whether a window needs more: a sum so small
// (below kTinySum) that its terms may have underflowed, and, for the unscaled pass (`unscaled`), a
// sum or root outside GeM's one-pass range (kOnePassMax, kOnePassExp), which the scaled pass redoes.
LP_VEC_INLINE bool WindowRoots(const float* s, const float* z, int64_t n, float inv_p, float scale, bool unscaled, float* y) {
  const float hi = unscaled ? kOnePassMax : std::numeric_limits<float>::infinity();
  const float y_lo = unscaled ? std::exp2(-kOnePassExp) : 0.0f, y_hi = unscaled ? std::exp2(kOnePassExp) : hi;
  const auto flag = [&](VF v, VF r) LP_VEC_INLINE_LAMBDA { return (v < kTinySum) | (v > hi) | (r < y_lo) | (r > y_hi); };
  const int64_t body = n - n % kLanes;
  VI bad = VI{};
  for (int64_t i = 0; i < body; i += kLanes) {
    const VF v = Load(s + i), r = RootV(v / Load(z + i), inv_p, scale);
    bad |= flag(v, r);
    Store(y + i, r);
  }
  if (body < n) {
    float ps[kLanes] = {}, pz[kLanes];
    for (int l = 0; l < kLanes; ++l) pz[l] = 1.0f;
    std::memcpy(ps, s + body, sizeof(float) * (n - body));
    std::memcpy(pz, z + body, sizeof(float) * (n - body));
    const VF v = Load(ps), r = RootV(v / Load(pz), inv_p, scale);
    const VI f = flag(v, r);
    for (int64_t l = 0; l < n - body; ++l) bad[l] |= f[l];
    Store(ps, r);
    std::memcpy(y + body, ps, sizeof(float) * (n - body));
  }
  return AnyLane(bad);
}

// One plane: terms, window sums into `sums` and y. m > 0: the terms are scaled by the plane's largest
// magnitude m; m = 0: unscaled, one pass over X (an all-zero plane is the same either way). `padded`
// has the padded plane's size with its pads 0; `acc` holds one row of it and `zeros` as many zeros.
// Returns whether a window needs more (WindowRoots): after the unscaled pass the caller redoes the
// plane scaled, after the scaled pass it recomputes the tiny windows.
LP_VEC_INLINE bool WindowPlaneImpl(const Windows& w, const float* x, const float* next, float p, float m, float* padded, const float* zeros,
                                   float* acc, float* sums, float* y) {
  const bool finite = p != std::numeric_limits<float>::infinity();
  const float inv_m = 1.0f / (m > 0.0f ? m : 1.0f);
  ByPowKind(PowKind(p), [&](auto kind) LP_VEC_INLINE_LAMBDA { WindowTerms<kind()>(w, x, inv_m, p, padded, next); });
  const int64_t st = w.stride[2];
  if (!finite) {
    // the maxima are the outputs
    st == 1   ? WindowSums<true, 1>(w, padded, zeros, acc, y)
    : st == 2 ? WindowSums<true, 2>(w, padded, zeros, acc, y)
              : WindowSums<true, 0>(w, padded, zeros, acc, y);
    return false;
  }
  st == 1   ? WindowSums<false, 1>(w, padded, zeros, acc, sums)
  : st == 2 ? WindowSums<false, 2>(w, padded, zeros, acc, sums)
            : WindowSums<false, 0>(w, padded, zeros, acc, sums);
  return WindowRoots(sums, w.z, w.out[0] * w.out[1] * w.out[2], 1.0f / p, m > 0.0f ? m : 1.0f, !(m > 0.0f), y);
}
