// LpNorm CPU kernel (ops.md).
#pragma once
#include "lp_common.h"

namespace lp {

struct LpNormKernel {
  static constexpr const char* kName = "LpNorm";
  static constexpr size_t kInputs = 3;
  static constexpr size_t kRequired = 2;
  explicit LpNormKernel(const OrtKernelInfo* info);
  OrtStatusPtr ComputeV2(OrtKernelContext* ctx) {
    return Guard([&] { Compute(ctx); });
  }
  void Compute(OrtKernelContext* ctx);

 private:
  std::string node_;
  float p_, eps_, sum_eps_;
  bool mean_, abs_;
  Ort::Op gemm_;
};

}  // namespace lp
