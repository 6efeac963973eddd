// Shared pieces of the lp-onnx CPU kernels: the onnxruntime thread pool, input checks, window
// geometry (the same rules as ops/geometry.ts), and vectorisable exp / log for the inner loops.
// Attributes are read through kernels/schema (the schemas of ops/).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "../schema/lp_schema.h"

namespace lp {

constexpr const char* kDomain = "com.lponnx";

// Runs fn(i) for i in [0, n) on onnxruntime's intra-op threads (the session's thread settings).
inline void ParallelFor(OrtKernelContext* ctx, size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  if (n == 1) {
    fn(0);
    return;
  }
  struct Job {
    const std::function<void(size_t)>* fn;
  } job{&fn};
  Ort::ThrowOnError(Ort::GetApi().KernelContext_ParallelFor(
      ctx, [](void* p, size_t i) { (*static_cast<Job*>(p)->fn)(i); }, n, 0, &job));
}

// a(x) of ops.md.
inline float Magnitude(float x, bool abs_mode, float eps) {
  float v = abs_mode ? std::fabs(x) : x;
  return std::isnan(v) ? v : (v > eps ? v : eps);
}

// --- window geometry (ops/geometry.ts resolveWindow) ---------------------------------------------

struct Axis {
  int64_t input, kernel, stride, dilation, pad_begin, pad_end, output;
};

enum class WindowKind { kPool, kConv };

// The window attributes of a node for one spatial rank, per-axis lists filled (ops/geometry.ts).
struct WindowAttrs {
  std::vector<int64_t> kernel, strides, pads, dilations;
  std::string auto_pad = "NOTSET";
  bool ceil_mode = false;
  bool pads_given = false;
};

// LpPool's and L1Conv's window attributes (the schema's per-axis lists) for a kernel and a rank.
template <typename A>
WindowAttrs WindowOf(const A& a, const std::vector<int64_t>& kernel, size_t rank, bool ceil_mode) {
  WindowAttrs w;
  w.kernel = kernel;
  w.strides = PerAxis(A::kStrides, a.strides, rank);
  w.pads = PerAxis(A::kPads, a.pads, rank);
  w.dilations = PerAxis(A::kDilations, a.dilations, rank);
  w.auto_pad = a.auto_pad;
  w.ceil_mode = ceil_mode;
  w.pads_given = a.pads.has_value();
  return w;
}

// Spatial sizes beyond this are refused before any window arithmetic (which then cannot overflow:
// attribute values are at most 2^31 - 1).
constexpr int64_t kMaxSpatial = int64_t{1} << 52;

inline std::vector<Axis> ResolveWindow(WindowKind kind, const std::vector<int64_t>& spatial, const WindowAttrs& a, const std::string& op,
                                       const std::string& node) {
  const size_t r = spatial.size();
  if (a.kernel.size() != r || a.strides.size() != r || a.dilations.size() != r || a.pads.size() != 2 * r) {
    Fail(op, node, Str("window attributes do not match ", r, " spatial dims"));  // CheckLengths refuses these first
  }
  if (a.auto_pad != "NOTSET" && a.pads_given && std::any_of(a.pads.begin(), a.pads.end(), [](int64_t p) { return p != 0; })) {
    Fail(op, node, "pads cannot be given with auto_pad '" + a.auto_pad + "'");
  }
  std::vector<Axis> axes(r);
  for (size_t i = 0; i < r; ++i) {
    Axis& x = axes[i];
    x.input = spatial[i];
    if (x.input > kMaxSpatial) Fail(op, node, Str("spatial dim ", i, " = ", x.input, " is too large"));
    x.kernel = a.kernel[i];
    x.stride = a.strides[i];
    x.dilation = a.dilations[i];
    if (x.kernel < 1) Fail(op, node, Str("kernel_shape[", i, "] = ", x.kernel, "; must be >= 1"));
    if (x.stride < 1) Fail(op, node, Str("strides[", i, "] = ", x.stride, "; must be >= 1"));
    if (x.dilation < 1) Fail(op, node, Str("dilations[", i, "] = ", x.dilation, "; must be >= 1"));
    x.pad_begin = a.pads[i];
    x.pad_end = a.pads[i + r];
    if (x.pad_begin < 0 || x.pad_end < 0) Fail(op, node, Str("pads of axis ", i, " are negative"));
    if (a.auto_pad == "VALID") {
      x.pad_begin = x.pad_end = 0;
    } else if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
      const int64_t span = kind == WindowKind::kPool ? x.kernel : x.dilation * (x.kernel - 1) + 1;
      const int64_t total = std::max<int64_t>(0, ((x.input + x.stride - 1) / x.stride - 1) * x.stride + span - x.input);
      const int64_t small = total / 2;
      x.pad_begin = a.auto_pad == "SAME_UPPER" ? small : total - small;
      x.pad_end = total - x.pad_begin;
    } else if (a.auto_pad != "NOTSET") {
      Fail(op, node, "auto_pad '" + a.auto_pad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
    }
    const int64_t span = x.dilation * (x.kernel - 1) + 1;
    const int64_t room = x.input + x.pad_begin + x.pad_end - span;
    if (room < 0) {
      x.output = 0;
    } else if (kind == WindowKind::kConv || !a.ceil_mode) {
      x.output = room / x.stride + 1;
    } else {
      x.output = (room + x.stride - 1) / x.stride + 1;
      if ((x.output - 1) * x.stride >= x.input + x.pad_begin) x.output -= 1;
    }
    if (x.output < 1) {
      Fail(op, node,
           Str("output dim ", i, " would be ", x.output, " (< 1): input ", x.input, ", kernel ", x.kernel, ", stride ", x.stride,
               ", dilation ", x.dilation, ", pads ", x.pad_begin, "+", x.pad_end));
    }
  }
  return axes;
}

// Pads the axes to three (unit axes in front, so one loop nest serves 1D, 2D and 3D) and returns
// the output shape [n, channels, outputs of the real axes].
inline std::vector<int64_t> ThreeAxes(std::vector<Axis>& axes, int64_t n, int64_t channels) {
  const size_t rank = axes.size();
  while (axes.size() < 3) axes.insert(axes.begin(), Axis{1, 1, 1, 1, 0, 0, 1});
  std::vector<int64_t> shape = {n, channels};
  for (size_t i = 3 - rank; i < 3; ++i) shape.push_back(axes[i].output);
  return shape;
}

// --- fast exp / log for vectorised loops ---------------------------------------------------------
// Plain arithmetic and bit casts only, so the compiler vectorises the loops that call them.
// exp: range reduction by ln 2 and a degree-6 polynomial (|rel err| < 2e-7); exact 0 below -87.
inline float FastExp(float x) {
  const float kLog2e = 1.44269504088896341f;
  const float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  float xc = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  float n = std::nearbyint(xc * kLog2e);
  float f = xc - n * kLn2Hi - n * kLn2Lo;
  float p = 1.0f + f * (1.0f + f * (0.5f + f * (0.166666672f + f * (0.0416666418f + f * (0.00833336823f + f * 0.00138889323f)))));
  // the exponent field of 2^n, as unsigned arithmetic (n stays in [-126, 127]; NaN maps to 0)
  const int32_t ni = n == n ? static_cast<int32_t>(n) : 0;
  const uint32_t bits = static_cast<uint32_t>(ni + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  float r = p * scale;
  return x < -87.0f ? 0.0f : r;
}

// 2^x: x = n + f, |f| <= 1/2, 2^f by its degree-6 series (|rel err| < 2e-7); exact 0 below -126.
inline float FastExp2(float x) {
  float xc = x < -126.0f ? -126.0f : (x > 127.0f ? 127.0f : x);
  float n = std::nearbyint(xc);
  float f = xc - n;
  float p = 1.0f + f * (0.693147181f +
                        f * (0.240226507f + f * (0.0555041087f + f * (0.00961812911f + f * (0.00133335581f + f * 0.000154035304f)))));
  // the exponent field of 2^n, as unsigned arithmetic (n stays in [-126, 127]; NaN maps to 0)
  const int32_t ni = n == n ? static_cast<int32_t>(n) : 0;
  const uint32_t bits = static_cast<uint32_t>(ni + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return x < -126.0f ? 0.0f : p * scale;
}

// log for x > 0 (normal floats): x = 2^e * m, m in [sqrt(1/2), sqrt(2)), atanh series in
// t = (m - 1) / (m + 1) (|abs err| < 1e-7). x = 0 gives -inf, NaN stays NaN.
inline float FastLog(float x) {
  int32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  int32_t e = ((bits >> 23) & 0xff) - 127;
  int32_t mbits = (bits & 0x007fffff) | 0x3f800000;
  float m;
  std::memcpy(&m, &mbits, sizeof(m));
  if (m > 1.41421356f) {
    m *= 0.5f;
    e += 1;
  }
  float t = (m - 1.0f) / (m + 1.0f);
  float t2 = t * t;
  float lm = 2.0f * t * (1.0f + t2 * (0.333333333f + t2 * (0.2f + t2 * (0.142857143f + t2 * 0.111111111f))));
  float r = lm + static_cast<float>(e) * 0.693147181f;
  return x > 0.0f ? r : (x == 0.0f ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::quiet_NaN());
}

// One op class for every kernel: float tensors, kernel-declared input counts, errors as statuses.
template <typename Kernel>
struct Op : Ort::CustomOpBase<Op<Kernel>, Kernel, true> {
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
  size_t GetInputTypeCount() const { return Kernel::kInputs; }
  ONNXTensorElementDataType GetInputType(size_t) const { return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; }
  OrtCustomOpInputOutputCharacteristic GetInputCharacteristic(size_t i) const {
    return i < Kernel::kRequired ? INPUT_OUTPUT_REQUIRED : INPUT_OUTPUT_OPTIONAL;
  }
  size_t GetOutputTypeCount() const { return 1; }
  ONNXTensorElementDataType GetOutputType(size_t) const { return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; }
};

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

// The element count of an input's dims (a tensor that exists: it cannot overflow).
inline int64_t Product(const std::vector<int64_t>& d, size_t from = 0) {
  int64_t n = 1;
  for (size_t i = from; i < d.size(); ++i) n *= d[i];
  return n;
}

// The element count of output dims the kernel computed; refused when it does not fit in int64.
inline int64_t OutputElements(const std::vector<int64_t>& d, const std::string& op, const std::string& node) {
  int64_t n = 1;
  for (int64_t v : d)
    if (v == 0) return 0;
  for (int64_t v : d) {
    if (__builtin_mul_overflow(n, v, &n)) {
      std::string dims;
      for (int64_t x : d) dims += (dims.empty() ? "" : ",") + std::to_string(x);
      Fail(op, node, "the output dims [" + dims + "] are too large");
    }
  }
  return n;
}

// A float of a message, as the TypeScript reference prints it.
inline std::string Num(float v) { return JsNumber(static_cast<double>(v)); }

// P of LpNorm / LpPool: > 0 or +inf, never NaN.
inline void CheckExponents(const float* p, int64_t n, const std::string& op, const std::string& node) {
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(p[i])) Fail(op, node, Str("P[", i, "] is NaN; exponents must be > 0 or +inf"));
    if (!(p[i] > 0)) Fail(op, node, Str("P[", i, "] = ", JsNumber(p[i]), "; exponents must be > 0 or +inf"));
  }
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
  CheckExponents(p.GetTensorData<float>(), Product(ps), op, node);
  return true;
}

}  // namespace lp
