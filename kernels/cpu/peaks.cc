// Measured instruction peaks (peaks.h). Each loop runs on all threads at once, started together;
// a rate is the work of all threads over the wall time of the slowest, the best of a few tries.
#include "peaks.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "lp_avx512.h"
#include "lp_common.h"

namespace lp {

namespace {
#define LP_VEC_LOOPS "peaks_vec.h"
#include "lp_lanes.h"

LP_LANES_VARIANTS(float, FmaLoop, (int64_t rounds), (rounds))
LP_LANES_VARIANTS(float, MinAddLoop, (int64_t rounds), (rounds))
LP_LANES_VARIANTS(float, Exp2DotLoop, (int64_t rounds), (rounds))
LP_LANES_VARIANTS(float, PowTermLoop, (int64_t rounds), (rounds))
LP_LANES_VARIANTS(float, AddLoop, (int64_t rounds), (rounds))
LP_LANES_VARIANTS(float, ReadLoop, (const float* x, int64_t n), (x, n))
LP_LANES_VARIANTS(void, WriteLoop, (float* y, int64_t n), (y, n))

// seconds for `threads` threads to run body(thread) each, started together: the best of `tries`
template <typename F>
double Timed(int threads, int tries, F body) {
  double best = std::numeric_limits<double>::infinity();
  for (int t = 0; t < tries; ++t) {
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i)
      pool.emplace_back([&, i] {
        ready.fetch_add(1);
        while (!go.load(std::memory_order_acquire)) {
        }
        body(i);
      });
    while (ready.load() < threads) {
    }
    const auto t0 = std::chrono::steady_clock::now();
    go.store(true, std::memory_order_release);
    for (auto& th : pool) th.join();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

volatile float g_sink;  // keeps the loops' results alive (written after the threads have joined)
}  // namespace

Peaks MeasurePeaks(Isa isa, int threads) {
  threads = std::max(1, threads);
  Peaks pk;
  pk.lanes = isa == Isa::kAvx512 ? 16 : isa == Isa::kAvx2 ? 8 : 4;
  const double lanes = pk.lanes;
  constexpr int kTries = 9;
  // rounds per thread: some 10 - 30 ms each on a current core
  std::vector<float> sinks(threads);
  const auto keep = [&] {
    for (float v : sinks) g_sink = g_sink + v;
  };
  const auto rate = [&](auto loop, int64_t rounds, double elements_per_round) {
    const double s = Timed(threads, kTries, [&](int i) { sinks[i] = loop(rounds); });
    keep();
    return elements_per_round * lanes * static_cast<double>(rounds) * threads / s;
  };
  pk.fma = rate(LP_ISA_CALL(isa, FmaLoop), 12000000, 12);
  pk.min_add = rate(LP_ISA_CALL(isa, MinAddLoop), 8000000, 8);
  pk.exp2_dot = rate(LP_ISA_CALL(isa, Exp2DotLoop), 2500000, 4);
  pk.pow_term = rate(LP_ISA_CALL(isa, PowTermLoop), 1200000, 4);
  pk.add = rate(LP_ISA_CALL(isa, AddLoop), 16000000, 8);
  // memory: 256 MiB in all, far beyond any last-level cache, one slice per thread
  const int64_t total = int64_t{64} << 20, slice = total / threads / 64 * 64;
  std::vector<float> buf(static_cast<size_t>(total), 1.0f);
  const auto read = LP_ISA_CALL(isa, ReadLoop);
  const auto write = LP_ISA_CALL(isa, WriteLoop);
  const double bytes = static_cast<double>(slice) * threads * sizeof(float);
  pk.read = bytes / Timed(threads, kTries, [&](int i) { sinks[i] = read(buf.data() + i * slice, slice); });
  keep();
  pk.write = bytes / Timed(threads, kTries, [&](int i) { write(buf.data() + i * slice, slice); });
  return pk;
}

}  // namespace lp
