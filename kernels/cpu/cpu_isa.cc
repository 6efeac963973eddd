// Which instruction set the CPU kernels use (cpu_isa.h).
#include "cpu_isa.h"

#include <cstdlib>
#include <cstring>

#include "../schema/attributes.h"

namespace lp {

namespace {
Isa Best() {
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
    return Isa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kAvx2;
  return Isa::kPlain;
}

std::string& Override() {
  static std::string name;
  return name;
}
}  // namespace

void SetIsaOverride(const std::string& name) { Override() = name; }

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAvx2:
      return "avx2";
    default:
      return "plain";
  }
}

Isa SelectIsa(const char* op, const std::string& node) {
  static const Isa best = Best();
  const bool given = !Override().empty();
  const char* asked = given ? Override().c_str() : std::getenv("LP_ONNX_CPU_ISA");
  if (asked == nullptr || *asked == '\0' || std::strcmp(asked, "auto") == 0) return best;
  const std::string what = std::string(given ? "cpuIsa " : "LP_ONNX_CPU_ISA=") + asked;
  for (Isa isa : {Isa::kPlain, Isa::kAvx2, Isa::kAvx512}) {
    if (std::strcmp(asked, IsaName(isa)) != 0) continue;
    if (static_cast<int>(isa) > static_cast<int>(best))
      Fail(op, node, what + " asks for an instruction set this CPU lacks (it has " + IsaName(best) + ")");
    return isa;
  }
  Fail(op, node, what + " is not one of avx512, avx2, plain, auto");
}

}  // namespace lp
