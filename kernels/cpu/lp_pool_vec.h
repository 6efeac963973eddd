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
  return p == 2.0f ? r * r : p == 1.0f ? r : p == 3.0f ? r * r * r : p == 4.0f ? (r * r) * (r * r) : Exp2Term(p * Log2Term(r));
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

// --- windowed pooling, one (n, c) plane at a time (Windows: lp_pool.cc) ---------------------------

// The term of an element: a(x) for p = +inf (kKind 0), else (a(x) / m)^p, small integer p by
// products (kKind = p for 1..4; 5: any p). A NaN stays NaN, so that it reaches every window holding it.
template <int kKind>
__attribute__((always_inline)) inline VF WindowTerm(VF v, bool abs_mode, float eps, float inv_m, float p) {
  const VF a = MagnitudeV(v, abs_mode, eps);
  VF t = a;
  if (kKind > 0) {
    const VF r = a * inv_m;
    t = kKind == 1 ? r : kKind == 2 ? r * r : kKind == 3 ? r * r * r : kKind == 4 ? (r * r) * (r * r) : Exp2Term(p * Log2Term(r));
  }
  return v != v ? v : t;
}

// The terms of every input row, written into the interior of the padded plane (its pads stay 0).
template <int kKind>
__attribute__((always_inline)) inline void WindowTerms(const Windows& w, const float* x, float inv_m, float p, float* padded) {
  const int64_t n = w.in[2], body = n - n % kLanes;
  for (int64_t i0 = 0; i0 < w.in[0]; ++i0)
    for (int64_t i1 = 0; i1 < w.in[1]; ++i1) {
      const float* src = x + (i0 * w.in[1] + i1) * n;
      float* dst = padded + ((i0 + w.pad[0]) * w.padded[1] + i1 + w.pad[1]) * w.padded[2] + w.pad[2];
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
template <bool kMax, int kStride>
__attribute__((always_inline)) inline void WindowSums(const Windows& w, const float* padded, float* acc, float* sums) {
  const int64_t width = w.read[2], st = kStride > 0 ? kStride : w.stride[2], d2 = w.dilation[2], n_out = w.out[2];
  for (int64_t o0 = 0; o0 < w.out[0]; ++o0)
    for (int64_t o1 = 0; o1 < w.out[1]; ++o1) {
      bool first = true;
      for (int64_t k0 = 0; k0 < w.kernel[0]; ++k0)
        for (int64_t k1 = 0; k1 < w.kernel[1]; ++k1) {
          const float* row =
              padded + ((o0 * w.stride[0] + k0 * w.dilation[0]) * w.padded[1] + o1 * w.stride[1] + k1 * w.dilation[1]) * w.padded[2];
          if (first) {
            std::memcpy(acc, row, sizeof(float) * width);
            first = false;
          } else {
            for (int64_t j = 0; j < width; ++j) acc[j] = kMax ? ((row[j] > acc[j] || row[j] != row[j]) ? row[j] : acc[j]) : acc[j] + row[j];
          }
        }
      float* s = sums + (o0 * w.out[1] + o1) * n_out;
      for (int64_t o = 0; o < n_out; ++o) s[o] = acc[o * st];
      for (int64_t k = 1; k < w.kernel[2]; ++k) {
        const float* a = acc + k * d2;
        for (int64_t o = 0; o < n_out; ++o) {
          const float v = a[o * st];
          s[o] = kMax ? ((v > s[o] || v != v) ? v : s[o]) : s[o] + v;
        }
      }
    }
}

// y = scale * q^(1/p) with q = s / z (s = 0 gives 0; NaN stays NaN).
__attribute__((always_inline)) inline VF WindowRoot(VF q, float inv_p, float scale) { return q != q ? q : scale * Exp2V(inv_p * Log2V(q)); }

__attribute__((always_inline)) inline void WindowRoots(const float* s, const float* z, int64_t n, float inv_p, float scale, float* y) {
  const int64_t body = n - n % kLanes;
  for (int64_t i = 0; i < body; i += kLanes) Store(y + i, WindowRoot(Load(s + i) / Load(z + i), inv_p, scale));
  if (body < n) {
    float ps[kLanes] = {}, pz[kLanes];
    for (int l = 0; l < kLanes; ++l) pz[l] = 1.0f;
    std::memcpy(ps, s + body, sizeof(float) * (n - body));
    std::memcpy(pz, z + body, sizeof(float) * (n - body));
    Store(ps, WindowRoot(Load(ps) / Load(pz), inv_p, scale));
    std::memcpy(y + body, ps, sizeof(float) * (n - body));
  }
}

// One plane: terms, window sums into `sums` (the caller checks them for underflow) and y. `padded`
// has the padded plane's size with its pads 0; `acc` holds one row of it.
__attribute__((always_inline)) inline void WindowPlaneImpl(const Windows& w, const float* x, float p, float m, float* padded, float* acc,
                                                           float* sums, float* y) {
  const bool finite = p != std::numeric_limits<float>::infinity();
  const float inv_m = 1.0f / (m > 0.0f ? m : 1.0f);
  const int kind = !finite ? 0 : p == 1.0f ? 1 : p == 2.0f ? 2 : p == 3.0f ? 3 : p == 4.0f ? 4 : 5;
  switch (kind) {
    case 0:
      WindowTerms<0>(w, x, inv_m, p, padded);
      break;
    case 1:
      WindowTerms<1>(w, x, inv_m, p, padded);
      break;
    case 2:
      WindowTerms<2>(w, x, inv_m, p, padded);
      break;
    case 3:
      WindowTerms<3>(w, x, inv_m, p, padded);
      break;
    case 4:
      WindowTerms<4>(w, x, inv_m, p, padded);
      break;
    default:
      WindowTerms<5>(w, x, inv_m, p, padded);
      break;
  }
  const int64_t st = w.stride[2];
  if (!finite) {
    // the maxima are the outputs
    st == 1   ? WindowSums<true, 1>(w, padded, acc, y)
    : st == 2 ? WindowSums<true, 2>(w, padded, acc, y)
              : WindowSums<true, 0>(w, padded, acc, y);
    return;
  }
  st == 1   ? WindowSums<false, 1>(w, padded, acc, sums)
  : st == 2 ? WindowSums<false, 2>(w, padded, acc, sums)
            : WindowSums<false, 0>(w, padded, acc, sums);
  WindowRoots(sums, w.z, w.out[0] * w.out[1] * w.out[2], 1.0f / p, m > 0.0f ? m : 1.0f, y);
}
