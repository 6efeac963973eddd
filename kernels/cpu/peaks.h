// Measured peaks of the instructions the CPU kernels use, for `npm run bench`'s fraction of bound:
// each an instruction sequence of the kernels (lp_vec.h) run on operands in registers, or a stream
// through memory, on `threads` threads at once, compiled for one instruction set (cpu_isa.h).
#pragma once

#include <cstdint>

#include "cpu_isa.h"

namespace lp {

// Rates over all threads together, per second; "per element": one vector counts its lanes.
struct Peaks {
  int lanes = 0;
  double fma = 0;       // fused multiply-adds (MatMul's, Conv's and LpNorm shared p's GEMM), per element
  double min_add = 0;   // acc += min(x, w), L1Conv's step, per element
  double exp2_dot = 0;  // acc += w 2^(p l), per-unit LpNorm's step (lp_avx512.h's exp2 on AVX-512), per element
  double pow_term = 0;  // r^p as 2^(p log2 r), LpPool's term for a general p (lp_avx512.h's on AVX-512), per element
  double add = 0;       // acc += x, the window sums' step, per element
  double read = 0;      // bytes read streaming through memory far larger than the caches
  double write = 0;     // bytes written so (ordinary stores)
};

Peaks MeasurePeaks(Isa isa, int threads);

}  // namespace lp
