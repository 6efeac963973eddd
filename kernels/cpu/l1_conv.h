// L1Conv CPU kernel (ops.md).
#pragma once
#include "lp_common.h"

namespace lp {

struct L1ConvKernel {
  static constexpr const char* kName = "L1Conv";
  static constexpr size_t kInputs = 3;
  static constexpr const char* kProvider = nullptr;
  static constexpr unsigned kHostInputs = 0;
  static constexpr size_t kRequired = 2;
  static constexpr int kExponentInput = -1;  // P (-1: none)
  explicit L1ConvKernel(const OrtKernelInfo* info);
  OrtStatusPtr ComputeV2(OrtKernelContext* ctx) {
    return Guard([&] { Compute(ctx); });
  }
  void Compute(OrtKernelContext* ctx);

 private:
  // the instruction set of its loops (cpu_isa.h)
  Isa isa_ = Isa::kPlain;
  std::string node_;
  schema::L1ConvAttrs attrs_;
  int64_t group_;
};

}  // namespace lp
