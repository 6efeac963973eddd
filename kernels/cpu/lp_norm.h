// LpNorm CPU kernel (ops.md).
#pragma once
#include "lp_common.h"

namespace lp {

struct LpNormKernel {
  static constexpr const char* kName = "LpNorm";
  static constexpr size_t kInputs = 3;
  static constexpr const char* kProvider = nullptr;
  static constexpr unsigned kHostInputs = 0;
  static constexpr size_t kRequired = 2;
  static constexpr int kExponentInput = 2;  // P (-1: none)
  explicit LpNormKernel(const OrtKernelInfo* info);
  OrtStatusPtr ComputeV2(OrtKernelContext* ctx) {
    return Guard([&] { Compute(ctx); });
  }
  void Compute(OrtKernelContext* ctx);

 private:
  // Checks W (>= 0, no NaN, mean rows) and returns Z per unit.
  std::vector<float> CheckWeights(const float* w, int64_t m, int64_t k) const;
  // One output in double, scaled by its largest weighted magnitude (for sums that underflowed).
  float ExactUnit(const float* x, const float* w, int64_t k, float p, float z) const;

  // the instruction set of its loops (cpu_isa.h)
  Isa isa_ = Isa::kPlain;
  std::string node_;
  schema::LpNormAttrs attrs_;
  bool abs_;
  Ort::Op gemm_;
  // W and P checked once when they are constant initializers (their values cannot change).
  bool w_constant_ = false, p_constant_ = false;
  std::vector<float> z_constant_;
  // a constant float16 W as float32 (empty otherwise)
  std::vector<float> w_float_;
  // constant W packed in 32-unit panels for the AVX-512 GEMM (empty: not packed)
  std::vector<float> w_packed_;
};

}  // namespace lp
