// The instruction sets the CPU kernels are compiled for, and the one a kernel uses: the best this
// CPU has, or the one LP_ONNX_CPU_ISA names (avx512, avx2, plain), so that every path is tested and
// benchmarked on any x86-64 machine. A vectorised helper is written once, as an always-inline
// body `NameImpl`, and LP_ISA_VARIANTS compiles it for each instruction set.
#pragma once

#include <string>

namespace lp {

enum class Isa : int { kPlain = 0, kAvx2 = 1, kAvx512 = 2 };

const char* IsaName(Isa isa);

// The instruction set for a kernel of `op` at `node`, read when the kernel is made. An unknown
// LP_ONNX_CPU_ISA, or one naming an instruction set this CPU lacks, is an error naming the node.
Isa SelectIsa(const char* op, const std::string& node);

// The lp-onnx/node addon's choice for the sessions it creates next, in place of LP_ONNX_CPU_ISA
// (empty: none). Sessions are created one at a time there.
void SetIsaOverride(const std::string& name);

}  // namespace lp

// AVX-512: F, DQ, BW and VL (Skylake-SP, Ice Lake, Sapphire Rapids, Zen 4 and later); AVX2 with FMA
// (Haswell, Zen 1 and later).
#define LP_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
#define LP_TARGET_AVX2 __attribute__((target("avx2,fma")))

// ret NamePlain / NameAvx2 / NameAvx512 params, each `return impl args;`, and NameVariants, a
// table indexed by Isa. LP_ISA_CALL(isa, Name)(...) calls the one for isa.
#define LP_ISA_VARIANTS_OF(ret, name, impl, params, args)        \
  LP_TARGET_AVX512 ret name##Avx512 params { return impl args; } \
  LP_TARGET_AVX2 ret name##Avx2 params { return impl args; }     \
  ret name##Plain params { return impl args; }                   \
  constexpr ret(*name##Variants[]) params = {name##Plain, name##Avx2, name##Avx512};
#define LP_ISA_VARIANTS(ret, name, params, args) LP_ISA_VARIANTS_OF(ret, name, name##Impl, params, args)
#define LP_ISA_CALL(isa, name) name##Variants[static_cast<int>(isa)]

// The same for bodies written on lp_vec.h's vectors, in the namespaces lanes16, lanes8 and lanes4
// of lp_lanes.h: AVX-512 takes 16 lanes, AVX2 8, plain x86-64 4.
#define LP_LANES_VARIANTS(ret, name, params, args)                              \
  LP_TARGET_AVX512 ret name##Avx512 params { return lanes16::name##Impl args; } \
  LP_TARGET_AVX2 ret name##Avx2 params { return lanes8::name##Impl args; }      \
  ret name##Plain params { return lanes4::name##Impl args; }                    \
  constexpr ret(*name##Variants[]) params = {name##Plain, name##Avx2, name##Avx512};
