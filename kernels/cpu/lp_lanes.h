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
// Each namespace's functions carry its instruction set's target (cpu_isa.h), as the variants that
// call them do: AVX-512's own instructions (lp_avx512.h) may then appear in lanes16's loops, under
// `#if LP_VEC_AVX512`.
#define LP_VEC_INLINE LP_TARGET_AVX512 __attribute__((always_inline)) inline
#define LP_VEC_INLINE_LAMBDA LP_TARGET_AVX512 __attribute__((always_inline))
#define LP_VEC_AVX512 1
namespace lanes16 {
constexpr int kLanes = 16;
#include "lp_vec.h"
// the kernel's loops, after lp_vec.h, which they use
#include LP_VEC_LOOPS
}  // namespace lanes16
#undef LP_VEC_INLINE
#undef LP_VEC_INLINE_LAMBDA
#undef LP_VEC_AVX512
#define LP_VEC_INLINE LP_TARGET_AVX2 __attribute__((always_inline)) inline
#define LP_VEC_INLINE_LAMBDA LP_TARGET_AVX2 __attribute__((always_inline))
#define LP_VEC_AVX512 0
namespace lanes8 {
constexpr int kLanes = 8;
#include "lp_vec.h"
// the kernel's loops, after lp_vec.h, which they use
#include LP_VEC_LOOPS
}  // namespace lanes8
#undef LP_VEC_INLINE
#undef LP_VEC_INLINE_LAMBDA
#define LP_VEC_INLINE __attribute__((always_inline)) inline
#define LP_VEC_INLINE_LAMBDA __attribute__((always_inline))
namespace lanes4 {
constexpr int kLanes = 4;
#include "lp_vec.h"
// the kernel's loops, after lp_vec.h, which they use
#include LP_VEC_LOOPS
}  // namespace lanes4
#undef LP_VEC_INLINE
#undef LP_VEC_INLINE_LAMBDA
#undef LP_VEC_LOOPS
#undef LP_VEC_AVX512
