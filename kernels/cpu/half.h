// float16 storage for the CPU kernels (ops.md, "float16"): inputs converted exactly to float32, the
// float32 kernel, the result rounded once to float16 (to nearest even; beyond the range +-inf, NaN
// stays NaN). With F16C (every AVX2 and AVX-512 CPU here) 8 values per instruction; the plain
// x86-64 path converts in portable code.
#pragma once

#include <cstdint>
#include <vector>

#include "cpu_isa.h"
#include "lp_common.h"

namespace lp {

void HalfToFloat(Isa isa, const uint16_t* in, int64_t n, float* out);
void FloatToHalf(Isa isa, const float* in, int64_t n, uint16_t* out);

// A float or float16 tensor's values as float32: its own data, or its values converted once
// (data() is null for an absent input).
class FloatValues {
 public:
  FloatValues(Isa isa, const OrtValue* value) {
    if (value == nullptr) return;
    Ort::ConstValue v(value);
    auto info = v.GetTensorTypeAndShapeInfo();
    if (info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16) {
      const int64_t n = static_cast<int64_t>(info.GetElementCount());
      buffer_.resize(static_cast<size_t>(n));
      HalfToFloat(isa, reinterpret_cast<const uint16_t*>(v.GetTensorRawData()), n, buffer_.data());
      data_ = buffer_.data();
    } else {
      data_ = v.GetTensorData<float>();
    }
  }
  FloatValues(const FloatValues&) = delete;
  FloatValues& operator=(const FloatValues&) = delete;
  const float* data() const { return data_; }

 private:
  std::vector<float> buffer_;
  const float* data_ = nullptr;
};

// The output Y as float32 for the kernel to write: Y's own data, or a buffer rounded into Y's
// float16 data when the kernel is done with it (at the end of the scope, whichever way it ends).
class FloatOutput {
 public:
  FloatOutput(Isa isa, Ort::UnownedValue y) : isa_(isa), y_(y) {
    auto info = y.GetTensorTypeAndShapeInfo();
    half_ = info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
    count_ = static_cast<int64_t>(info.GetElementCount());
    if (half_) {
      buffer_.resize(static_cast<size_t>(count_));
      data_ = buffer_.data();
    } else {
      data_ = y.GetTensorMutableData<float>();
    }
  }
  ~FloatOutput() {
    if (half_) FloatToHalf(isa_, buffer_.data(), count_, reinterpret_cast<uint16_t*>(y_.GetTensorMutableRawData()));
  }
  FloatOutput(const FloatOutput&) = delete;
  FloatOutput& operator=(const FloatOutput&) = delete;
  float* data() { return data_; }

 private:
  Isa isa_;
  Ort::UnownedValue y_;
  bool half_ = false;
  int64_t count_ = 0;
  std::vector<float> buffer_;
  float* data_ = nullptr;
};

}  // namespace lp
