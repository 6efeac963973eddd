// The worst errors of the CPU kernels' exp2 and log2 for the terms of a sum (lp_vec.h's Exp2Term of
// degree 4 and 3, Log2Term; lp_avx512.h's AVX-512 sequences of the same polynomials) over every float
// of their domains, or every step-th one: scripts/error-bounds.ts builds and runs this.
// Usage: error_bounds STEP; prints one JSON object.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "lp_avx512.h"
#include "lp_common.h"

namespace lp {
namespace {

// a worst error and the input where it occurs
struct Worst {
  double err = 0.0;
  float at = 0.0f;
  void Add(double e, float x) {
    if (e > err || e != e) {
      err = e;
      at = x;
    }
  }
  void Add(const Worst& o) { Add(o.err, o.at); }
};

#define LP_VEC_LOOPS "error_bounds_vec.h"
#include "lp_lanes.h"

// the loops compiled for their instruction sets: lp_vec.h's sequences on plain x86-64 (its arithmetic is
// the same at every lane width), lp_avx512.h's on AVX-512
template <int kDegree>
Worst Exp2Plain(uint32_t a, uint32_t b, uint32_t s) {
  return lanes4::Exp2Worst<kDegree, false>(a, b, s);
}
template <int kDegree>
LP_TARGET_AVX512 Worst Exp2Avx512(uint32_t a, uint32_t b, uint32_t s) {
  return lanes16::Exp2Worst<kDegree, true>(a, b, s);
}
Worst Log2Plain(uint32_t a, uint32_t b, uint32_t s) { return lanes4::Log2Worst<false>(a, b, s); }
LP_TARGET_AVX512 Worst Log2Avx512(uint32_t a, uint32_t b, uint32_t s) { return lanes16::Log2Worst<true>(a, b, s); }

uint32_t Bits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return u;
}

// f over [b0, b1) in one slice per thread
Worst Split(uint32_t b0, uint32_t b1, uint32_t step, const std::function<Worst(uint32_t, uint32_t, uint32_t)>& f) {
  const unsigned n = std::max(1u, std::thread::hardware_concurrency());
  std::vector<Worst> part(n);
  std::vector<std::thread> threads;
  const uint64_t span = (uint64_t{b1} - b0 + n - 1) / n;
  for (unsigned t = 0; t < n; ++t) {
    // slices start on a multiple of step from b0, so the strided set is the same for any thread count
    const uint64_t lo = b0 + (t * span + step - 1) / step * step, hi = std::min<uint64_t>(b1, b0 + (t + 1) * span);
    if (lo < hi) threads.emplace_back([&, t, lo, hi] { part[t] = f(static_cast<uint32_t>(lo), static_cast<uint32_t>(hi), step); });
  }
  for (auto& th : threads) th.join();
  Worst w;
  for (const auto& p : part) w.Add(p);
  return w;
}

void Print(const char* name, const Worst& w, bool last) {
  std::printf("  \"%s\": {\"error\": %.4g, \"at\": %.9g}%s\n", name, w.err, w.at, last ? "" : ",");
}

}  // namespace
}  // namespace lp

int main(int argc, char** argv) {
  using namespace lp;
  const uint32_t step = argc > 1 ? static_cast<uint32_t>(std::strtoul(argv[1], nullptr, 10)) : 1;
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
  // exp2's domain: x in [-126, 0] (the scaled terms) and (0, 127.5) (GeM's and LpPool's unscaled
  // terms; from 127.5 on, lp_vec.h's sequence gives +inf, and a sum that large is redone scaled).
  // log2's: r in [2^-126, 1] (scaled terms) and (1, 2.5e38] (unscaled terms; above 2.55e38
  // lp_avx512.h's r / 0.75 is +inf, and so is the log: the sum is redone scaled).
  const uint32_t neg0 = Bits(-0.0f), neg126 = Bits(-126.0f) + 1, pos0 = Bits(0.0f) + 1, pos_top = Bits(127.5f);
  const uint32_t min_normal = Bits(1.17549435e-38f), one = Bits(1.0f) + 1, top = Bits(2.5e38f) + 1;
  const auto exp2 = [&](auto deg, bool use512, bool negative) {
    constexpr int kDeg = decltype(deg)::value;
    const auto f = [&](uint32_t a, uint32_t b, uint32_t s) { return use512 ? Exp2Avx512<kDeg>(a, b, s) : Exp2Plain<kDeg>(a, b, s); };
    return negative ? Split(neg0, neg126, step, f) : Split(pos0, pos_top, step, f);
  };
  const auto log2 = [&](bool use512, bool below1) {
    return Split(below1 ? min_normal : one, below1 ? one : top, step,
                 [&](uint32_t a, uint32_t b, uint32_t s) { return use512 ? Log2Avx512(a, b, s) : Log2Plain(a, b, s); });
  };
  std::printf("{\n  \"step\": %u,\n  \"avx512\": %s,\n", step, avx512 ? "true" : "false");
  const std::integral_constant<int, 4> four;
  const std::integral_constant<int, 3> three;
  for (const bool use512 : {false, true}) {
    if (use512 && !avx512) break;
    const std::string s = use512 ? "_avx512" : "";
    Print(("exp2_degree4_negative" + s).c_str(), exp2(four, use512, true), false);
    Print(("exp2_degree4_positive" + s).c_str(), exp2(four, use512, false), false);
    Print(("exp2_degree3_negative" + s).c_str(), exp2(three, use512, true), false);
    Print(("exp2_degree3_positive" + s).c_str(), exp2(three, use512, false), false);
    Print(("log2_below_1" + s).c_str(), log2(use512, true), false);
    Print(("log2_above_1" + s).c_str(), log2(use512, false), use512 || !avx512);
  }
  std::printf("}\n");
  return 0;
}
