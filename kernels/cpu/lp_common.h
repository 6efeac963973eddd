// Shared pieces of the lp-onnx CPU kernels: attribute reading, errors that name the op and the
// node, the onnxruntime thread pool, window geometry (the same rules as ops/geometry.ts), and
// vectorisable exp / log for the inner loops.
#pragma once

#define ORT_API_MANUAL_INIT
#include <onnxruntime_cxx_api.h>
#undef ORT_API_MANUAL_INIT

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace lp {

constexpr const char* kDomain = "com.lponnx";

// Build the message and throw it as an onnxruntime error ("LpNorm node 'n': ...").
[[noreturn]] inline void Fail(const std::string& op, const std::string& node, const std::string& what) {
  throw Ort::Exception(op + " node '" + node + "': " + what, ORT_INVALID_ARGUMENT);
}

template <typename... A>
std::string Str(const A&... a) {
  std::ostringstream s;
  s.precision(9);
  (s << ... << a);
  return s.str();
}

// Attributes: absent ones give the contract's default.
struct Attrs {
  explicit Attrs(const OrtKernelInfo* info) : info_(info) {}
  float F(const char* name, float fallback) const {
    float v;
    return Ok(Ort::GetApi().KernelInfoGetAttribute_float(info_, name, &v)) ? v : fallback;
  }
  int64_t I(const char* name, int64_t fallback) const {
    int64_t v;
    return Ok(Ort::GetApi().KernelInfoGetAttribute_int64(info_, name, &v)) ? v : fallback;
  }
  std::string S(const char* name, const std::string& fallback) const {
    size_t size = 0;
    if (!Ok(Ort::GetApi().KernelInfoGetAttribute_string(info_, name, nullptr, &size)) && size == 0) return fallback;
    std::string v(size, '\0');
    if (!Ok(Ort::GetApi().KernelInfoGetAttribute_string(info_, name, v.data(), &size))) return fallback;
    v.resize(size > 0 ? size - 1 : 0);
    return v;
  }
  std::vector<int64_t> Ints(const char* name) const {
    size_t size = 0;
    OrtStatus* st = Ort::GetApi().KernelInfoGetAttributeArray_int64(info_, name, nullptr, &size);
    if (st != nullptr) {
      Ort::GetApi().ReleaseStatus(st);
      if (size == 0) return {};
    }
    std::vector<int64_t> v(size);
    if (size > 0) Ort::ThrowOnError(Ort::GetApi().KernelInfoGetAttributeArray_int64(info_, name, v.data(), &size));
    return v;
  }
  std::string NodeName() const {
    size_t size = 0;
    Ok(Ort::GetApi().KernelInfo_GetNodeName(info_, nullptr, &size));
    std::string v(size, '\0');
    if (size > 0) Ort::ThrowOnError(Ort::GetApi().KernelInfo_GetNodeName(info_, v.data(), &size));
    v.resize(size > 0 ? size - 1 : 0);
    return v;
  }

 private:
  // true for success; a failure status (absent attribute, size query) is released
  static bool Ok(OrtStatus* st) {
    if (st == nullptr) return true;
    Ort::GetApi().ReleaseStatus(st);
    return false;
  }
  const OrtKernelInfo* info_;
};

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

struct WindowAttrs {
  std::vector<int64_t> kernel, strides, pads, dilations;
  std::string auto_pad = "NOTSET";
  bool ceil_mode = false;
};

// The ONNX window attributes of a node (kernel_shape, strides, pads, dilations, auto_pad, ceil_mode).
inline WindowAttrs ReadWindow(const Attrs& a) {
  WindowAttrs w;
  w.kernel = a.Ints("kernel_shape");
  w.strides = a.Ints("strides");
  w.pads = a.Ints("pads");
  w.dilations = a.Ints("dilations");
  w.auto_pad = a.S("auto_pad", "NOTSET");
  w.ceil_mode = a.I("ceil_mode", 0) != 0;
  return w;
}

inline std::vector<Axis> ResolveWindow(WindowKind kind, const std::vector<int64_t>& spatial, const WindowAttrs& a, const std::string& op,
                                       const std::string& node) {
  const size_t r = spatial.size();
  if (a.kernel.size() != r) Fail(op, node, Str("kernel_shape has ", a.kernel.size(), " dims but the input has ", r, " spatial dims"));
  std::vector<Axis> axes(r);
  for (size_t i = 0; i < r; ++i) {
    Axis& x = axes[i];
    x.input = spatial[i];
    x.kernel = a.kernel[i];
    x.stride = a.strides.empty() ? 1 : a.strides[i];
    x.dilation = a.dilations.empty() ? 1 : a.dilations[i];
    if (x.kernel < 1) Fail(op, node, Str("kernel_shape[", i, "] = ", x.kernel, "; must be >= 1"));
    if (x.stride < 1) Fail(op, node, Str("strides[", i, "] = ", x.stride, "; must be >= 1"));
    if (x.dilation < 1) Fail(op, node, Str("dilations[", i, "] = ", x.dilation, "; must be >= 1"));
    x.pad_begin = a.pads.empty() ? 0 : a.pads[i];
    x.pad_end = a.pads.empty() ? 0 : a.pads[i + r];
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

inline int64_t Product(const std::vector<int64_t>& d, size_t from = 0) {
  int64_t n = 1;
  for (size_t i = from; i < d.size(); ++i) n *= d[i];
  return n;
}

// P of LpNorm / LpPool: > 0 or +inf, never NaN.
inline void CheckExponents(const float* p, int64_t n, const std::string& op, const std::string& node) {
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(p[i])) Fail(op, node, Str("P[", i, "] is NaN; exponents must be > 0 or +inf"));
    if (!(p[i] > 0)) Fail(op, node, Str("P[", i, "] = ", p[i], "; exponents must be > 0 or +inf"));
  }
}

}  // namespace lp
