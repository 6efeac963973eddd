// The lane widths of lp_vec.h, one namespace each: lanes16 (AVX-512), lanes8 (AVX2), lanes4 (plain
// x86-64), each with lp_vec.h and the kernel's own loops, the file LP_VEC_LOOPS names. A kernel
// defines LP_VEC_LOOPS, includes this file inside its anonymous namespace, and makes its variants
// with LP_LANES_VARIANTS (cpu_isa.h). No include guard: one inclusion per kernel file.
#ifndef LP_VEC_LOOPS
#error "define LP_VEC_LOOPS (the kernel's *_vec.h) before including lp_lanes.h"
#endif
// vector types only cross always-inline functions here, so GCC's note that their ABI without AVX
// differs does not apply (it is reported at the end of the file, so it is off for all of it)
#pragma GCC diagnostic ignored "-Wpsabi"
// lanes16 is compiled for AVX-512 throughout (it is only called from the AVX-512 variants), so that
// lp_vec.h may use AVX-512 instructions there (LP_VEC_AVX512)
#include <immintrin.h>
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")
#define LP_VEC_AVX512 1
namespace lanes16 {
constexpr int kLanes = 16;
#include "lp_vec.h"
// the kernel's loops, after lp_vec.h, which they use
#include LP_VEC_LOOPS
}  // namespace lanes16
#undef LP_VEC_AVX512
#pragma GCC pop_options
#define LP_VEC_AVX512 0
namespace lanes8 {
constexpr int kLanes = 8;
#include "lp_vec.h"
// the kernel's loops, after lp_vec.h, which they use
#include LP_VEC_LOOPS
}  // namespace lanes8
namespace lanes4 {
constexpr int kLanes = 4;
#include "lp_vec.h"
// the kernel's loops, after lp_vec.h, which they use
#include LP_VEC_LOOPS
}  // namespace lanes4
#undef LP_VEC_AVX512
#undef LP_VEC_LOOPS
