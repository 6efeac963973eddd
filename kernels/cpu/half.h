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
// The same over onnxruntime's intra-op threads (ctx null: on this thread), for whole tensors.
void HalfToFloat(OrtKernelContext* ctx, Isa isa, const uint16_t* in, int64_t n, float* out);
void FloatToHalf(OrtKernelContext* ctx, Isa isa, const float* in, int64_t n, uint16_t* out);

// A float or float16 tensor's data as it is stored, for kernels that convert a tile at a time
// inside their own loops (so that a float16 input is read from memory as 2 bytes per value).
struct StoredFloats {
  const float* f32 = nullptr;
  const uint16_t* f16 = nullptr;
  explicit StoredFloats(const OrtValue* value) {
    if (value == nullptr) return;
    Ort::ConstValue v(value);
    if (v.GetTensorTypeAndShapeInfo().GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16)
      f16 = reinterpret_cast<const uint16_t*>(v.GetTensorRawData());
    else
      f32 = v.GetTensorData<float>();
  }
  // values [begin, begin + n) as float32: the tensor's own memory, or converted into `buffer`
  const float* Range(Isa isa, int64_t begin, int64_t n, std::vector<float>& buffer) const {
    if (f32 != nullptr) return f32 + begin;
    if (buffer.size() < static_cast<size_t>(n)) buffer.resize(static_cast<size_t>(n));
    HalfToFloat(isa, f16 + begin, n, buffer.data());
    return buffer.data();
  }
};

// A float or float16 output written a tile at a time: Tile gives float32 memory for values
// [begin, begin + n) (Y's own, or `buffer`), Done rounds a float16 tile into Y.
struct StoredOutput {
  float* f32 = nullptr;
  uint16_t* f16 = nullptr;
  explicit StoredOutput(Ort::UnownedValue y) {
    if (y.GetTensorTypeAndShapeInfo().GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16)
      f16 = reinterpret_cast<uint16_t*>(y.GetTensorMutableRawData());
    else
      f32 = y.GetTensorMutableData<float>();
  }
  float* Tile(int64_t begin, int64_t n, std::vector<float>& buffer) const {
    if (f32 != nullptr) return f32 + begin;
    if (buffer.size() < static_cast<size_t>(n)) buffer.resize(static_cast<size_t>(n));
    return buffer.data();
  }
  void Done(Isa isa, int64_t begin, int64_t n, const std::vector<float>& buffer) const {
    if (f16 != nullptr) FloatToHalf(isa, buffer.data(), n, f16 + begin);
  }
};

// The buffers a kernel converts whole float16 tensors into, one per role (X, W, B, P, Y), kept by
// the thread that runs the kernel: a run after the first finds them allocated and paged in (a fresh
// buffer per run would cost a page fault per 4 KiB). A kernel's Compute runs on one thread at a
// time and is not re-entered there, so a role's buffer has one user at a time.
enum class Role { kX, kW, kB, kP, kY, kTerms, kLogs };
std::vector<float>& RoleBuffer(Role role, size_t n);

// A float or float16 tensor's values as float32: its own data, or its values converted once
// (data() is null for an absent input).
class FloatValues {
 public:
  FloatValues(Isa isa, const OrtValue* value, Role role, OrtKernelContext* ctx = nullptr) {
    if (value == nullptr) return;
    Ort::ConstValue v(value);
    auto info = v.GetTensorTypeAndShapeInfo();
    if (info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16) {
      const int64_t n = static_cast<int64_t>(info.GetElementCount());
      std::vector<float>& buffer = RoleBuffer(role, static_cast<size_t>(n));
      HalfToFloat(ctx, isa, reinterpret_cast<const uint16_t*>(v.GetTensorRawData()), n, buffer.data());
      data_ = buffer.data();
    } else {
      data_ = v.GetTensorData<float>();
    }
  }
  FloatValues(const FloatValues&) = delete;
  FloatValues& operator=(const FloatValues&) = delete;
  const float* data() const { return data_; }

 private:
  const float* data_ = nullptr;
};

// The output Y as float32 for the kernel to write: Y's own data, or a buffer rounded into Y's
// float16 data when the kernel is done with it (at the end of the scope, whichever way it ends).
class FloatOutput {
 public:
  FloatOutput(Isa isa, Ort::UnownedValue y, OrtKernelContext* ctx = nullptr) : isa_(isa), y_(y), ctx_(ctx) {
    auto info = y.GetTensorTypeAndShapeInfo();
    half_ = info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
    count_ = static_cast<int64_t>(info.GetElementCount());
    if (half_) {
      data_ = RoleBuffer(Role::kY, static_cast<size_t>(count_)).data();
    } else {
      data_ = y.GetTensorMutableData<float>();
    }
  }
  ~FloatOutput() {
    if (half_) FloatToHalf(ctx_, isa_, data_, count_, reinterpret_cast<uint16_t*>(y_.GetTensorMutableRawData()));
  }
  FloatOutput(const FloatOutput&) = delete;
  FloatOutput& operator=(const FloatOutput&) = delete;
  float* data() { return data_; }

 private:
  Isa isa_;
  Ort::UnownedValue y_;
  OrtKernelContext* ctx_;
  bool half_ = false;
  int64_t count_ = 0;
  float* data_ = nullptr;
};

}  // namespace lp
