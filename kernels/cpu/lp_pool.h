// LpPool CPU kernel (ops.md).
#pragma once
#include "lp_common.h"

namespace lp {

struct LpPoolKernel {
  static constexpr const char* kName = "LpPool";
  static constexpr size_t kInputs = 2;
  static constexpr const char* kProvider = nullptr;
  static constexpr unsigned kHostInputs = 0;
  static constexpr size_t kRequired = 1;
  static constexpr int kExponentInput = 1;  // P (-1: none)
  explicit LpPoolKernel(const OrtKernelInfo* info);
  OrtStatusPtr ComputeV2(OrtKernelContext* ctx) {
    return Guard([&] { Compute(ctx); });
  }
  void Compute(OrtKernelContext* ctx);

 private:
  // the instruction set of its loops (cpu_isa.h)
  Isa isa_ = Isa::kPlain;
  std::string node_;
  schema::LpPoolAttrs attrs_;
  bool abs_;
  // P checked once when it is a constant initializer
  bool p_constant_ = false;
};

}  // namespace lp
