// The onnxruntime side shared by every native kernel, CPU or CUDA: one custom-op class per kernel,
// exceptions turned into statuses, and reading inputs (shapes, optional inputs, constants).
#pragma once

#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "half_value.h"
#include "plans.h"

namespace lp {

constexpr const char* kDomain = "com.lponnx";

// One op class for every kernel: tensors of element type T (X, W, B, Y) and TP (P, the input
// Kernel::kExponentInput, -1 for none), kernel-declared input counts, errors as statuses. A kernel
// that takes float16 is registered once per (T, TP) it takes: onnxruntime picks by the node's types.
template <typename Kernel, ONNXTensorElementDataType T = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, ONNXTensorElementDataType TP = T>
struct Op : Ort::CustomOpBase<Op<Kernel, T, TP>, Kernel, true> {
  OrtStatusPtr CreateKernelV2(const OrtApi& api, const OrtKernelInfo* info, void** kernel) const {
    try {
      *kernel = new Kernel(info);
      return nullptr;
    } catch (const Ort::Exception& e) {
      return api.CreateStatus(e.GetOrtErrorCode(), e.what());
    } catch (const std::exception& e) {
      return api.CreateStatus(ORT_FAIL, e.what());
    }
  }
  const char* GetName() const { return Kernel::kName; }
  // nullptr: the CPU execution provider
  const char* GetExecutionProviderType() const { return Kernel::kProvider; }
  // inputs the kernel reads on the host (a small P) are copied there by onnxruntime
  OrtMemType GetInputMemoryType(size_t i) const { return (Kernel::kHostInputs >> i) & 1u ? OrtMemTypeCPUInput : OrtMemTypeDefault; }
  size_t GetInputTypeCount() const { return Kernel::kInputs; }
  ONNXTensorElementDataType GetInputType(size_t i) const { return static_cast<int>(i) == Kernel::kExponentInput ? TP : T; }
  OrtCustomOpInputOutputCharacteristic GetInputCharacteristic(size_t i) const {
    return i < Kernel::kRequired ? INPUT_OUTPUT_REQUIRED : INPUT_OUTPUT_OPTIONAL;
  }
  size_t GetOutputTypeCount() const { return 1; }
  ONNXTensorElementDataType GetOutputType(size_t) const { return T; }
};

// Adds Kernel's op to DOMAIN once per element types it takes (ops.md): T float and float16, and
// where the op has P (Kernel::kExponentInput), P of either type whatever T is. onnxruntime picks
// the registration by the node's types.
template <typename Kernel>
void AddTypedOps(Ort::CustomOpDomain& domain) {
  constexpr auto F = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, H = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
  static Op<Kernel, F, F> ff;
  static Op<Kernel, H, H> hh;
  domain.Add(&ff);
  domain.Add(&hh);
  if constexpr (Kernel::kExponentInput >= 0) {
    static Op<Kernel, F, H> fh;
    static Op<Kernel, H, F> hf;
    domain.Add(&fh);
    domain.Add(&hf);
  }
}

// Runs a kernel's Compute and turns exceptions into an onnxruntime status.
template <typename F>
OrtStatusPtr Guard(F&& f) {
  try {
    f();
    return nullptr;
  } catch (const Ort::Exception& e) {
    return Ort::GetApi().CreateStatus(e.GetOrtErrorCode(), e.what());
  } catch (const std::exception& e) {
    return Ort::GetApi().CreateStatus(ORT_FAIL, e.what());
  }
}

// Reads an optional input: nullptr when absent.
inline const OrtValue* OptionalInput(OrtKernelContext* ctx, size_t i) {
  size_t n = 0;
  Ort::ThrowOnError(Ort::GetApi().KernelContext_GetInputCount(ctx, &n));
  if (i >= n) return nullptr;
  const OrtValue* v = nullptr;
  Ort::ThrowOnError(Ort::GetApi().KernelContext_GetInput(ctx, i, &v));
  return v;
}

inline std::vector<int64_t> ShapeOf(const OrtValue* v) { return Ort::ConstValue(v).GetTensorTypeAndShapeInfo().GetShape(); }

inline const float* DataOf(const OrtValue* v) { return Ort::ConstValue(v).GetTensorData<float>(); }

// The rank of an input as the model declares it (0 when unknown or a scalar).
inline size_t KnownRank(const Ort::ConstKernelInfo& info, size_t i) {
  try {
    return info.GetInputTypeInfo(i).GetTensorTypeAndShapeInfo().GetDimensionsCount();
  } catch (const Ort::Exception&) {
    return 0;
  }
}

// The length rules of the per-axis lists, checked when the kernel is created wherever the model
// declares the rank of X (N-C-spatial inputs; otherwise on each run).
template <typename A>
void CheckDeclaredLengths(const Ort::ConstKernelInfo& info, const A& attrs, const std::string& node) {
  if (const size_t rank = KnownRank(info, 0); rank >= 3 && rank <= 5) attrs.CheckLengths(node, rank - 2);
}

// A constant input's values as float32 (a float16 one converted), for the checks at creation.
inline std::vector<float> FloatsOf(Ort::ConstValue v) {
  auto info = v.GetTensorTypeAndShapeInfo();
  std::vector<float> out(info.GetElementCount());
  RawToFloats(v.GetTensorRawData(), out.size(), info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16, out.data());
  return out;
}

// A P that is a constant initializer: its rank and values checked once, when the kernel is created.
// False when P is absent or fed at run time.
inline bool CheckConstantExponents(const Ort::ConstKernelInfo& info, size_t index, const char* op, const std::string& node,
                                   const char* unit) {
  if (info.GetInputCount() <= index) return false;
  int is_const = 0;
  auto p = info.GetTensorConstantInput(index, &is_const);
  if (!is_const) return false;
  const auto ps = p.GetTensorTypeAndShapeInfo().GetShape();
  if (ps.size() > 1) Fail(op, node, Str("P must be [", unit, "], [1] or a scalar, got rank ", ps.size()));
  CheckExponents(FloatsOf(p).data(), Product(ps), op, node);
  return true;
}

}  // namespace lp
