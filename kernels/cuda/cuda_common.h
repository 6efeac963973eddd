// Host pieces shared by the CUDA kernels (g++ code, never device code): the EP's stream, device
// scratch memory from the session's allocator, and launch errors as onnxruntime errors naming the
// op and node. Under LP_CUDA_EMULATION the same code runs on the CPU execution provider (device
// memory is host memory), so the tests can drive it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "../common/custom_op.h"
#include "cuda_compat.h"
#include "half_impl.cuh"

namespace lp {
namespace Cuda {

#if defined(LP_CUDA_EMULATION)
constexpr const char* kProvider = nullptr;
#else
constexpr const char* kProvider = "CUDAExecutionProvider";
#endif

// The stream onnxruntime runs this node on: every launch goes there, nothing synchronises.
inline cudaStream_t StreamOf(OrtKernelContext* ctx) {
  void* s = nullptr;
  Ort::ThrowOnError(Ort::GetApi().KernelContext_GetGPUComputeStream(ctx, &s));
  return static_cast<cudaStream_t>(s);
}

// A launcher's error as an onnxruntime error naming the op and the node.
inline void Check(cudaError_t e, const char* op, const std::string& node) {
  if (e != cudaSuccess) Fail(op, node, std::string("CUDA error: ") + cudaGetErrorString(e));
}

// Runs a CUDA kernel's Compute. On CUDA its work stays queued on the stream. On the emulation, whose
// streams are per host thread, the queued work runs after Compute returns (a failure of it is the
// node's error, as a GPU reports it at the next synchronisation), or is dropped when Compute threw.
template <typename F>
void RunOnStream(const char* op, const std::string& node, F&& compute) {
#if defined(LP_CUDA_EMULATION)
  try {
    compute();
  } catch (...) {
    lp_emu::Discard();
    throw;
  }
  Check(lp_emu::Drain(), op, node);
#else
  (void)op;
  (void)node;
  compute();
#endif
}

// Device memory for the work one Compute queues on its stream. On CUDA it comes from
// KernelContext_GetScratchBuffer, which ties the chunk to the node's compute stream: freed when
// Compute returns (before that work ran), it goes back to the arena marked with that stream, so
// another stream is handed it only after waiting for this one. (A chunk taken from the allocator
// without the stream could be handed to another stream at once and overwritten before the kernel
// read it.) The emulation runs every launch at the call, on the CPU provider, which has no stream.
class Scratch {
 public:
  Scratch(OrtKernelContext* ctx, size_t bytes, const char* op, const std::string& node) {
#if defined(LP_CUDA_EMULATION)
    Ort::MemoryInfo info = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    Ort::ThrowOnError(Ort::GetApi().KernelContext_GetAllocator(ctx, info, &allocator_));
    if (bytes > 0) Ort::ThrowOnError(Ort::GetApi().AllocatorAlloc(allocator_, bytes, &data_));
    (void)op;
    (void)node;
#else
    int device = 0;
    Check(cudaGetDevice(&device), op, node);
    Ort::MemoryInfo info("Cuda", OrtArenaAllocator, device, OrtMemTypeDefault);
    Ort::ThrowOnError(Ort::GetApi().KernelContext_GetAllocator(ctx, info, &allocator_));
    if (bytes > 0) Ort::ThrowOnError(Ort::GetApi().KernelContext_GetScratchBuffer(ctx, info, bytes, &data_));
#endif
  }
  ~Scratch() {
    OrtAllocator* allocator = allocator_;
    void* data = data_;
    const auto release = [allocator, data] {
      if (data) {
        OrtStatus* st = Ort::GetApi().AllocatorFree(allocator, data);
        if (st) Ort::GetApi().ReleaseStatus(st);
      }
      if (allocator) Ort::GetApi().ReleaseAllocator(allocator);
    };
#if defined(LP_CUDA_EMULATION)
    lp_emu::Enqueue(release, true);  // stream-ordered, as the arena's stream-tied chunk is on CUDA
#else
    release();
#endif
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <typename T>
  T* As() const {
    return static_cast<T*>(data_);
  }

 private:
  OrtAllocator* allocator_ = nullptr;
  void* data_ = nullptr;
};

inline bool IsHalf(const OrtValue* v) {
  return v != nullptr && Ort::ConstValue(v).GetTensorTypeAndShapeInfo().GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
}

// A float or float16 device input as float32 device memory: its own data, or (float16) its values
// converted on the stream into scratch (ops.md, "float16": inputs exactly to float32).
class DeviceFloats {
 public:
  DeviceFloats(OrtKernelContext* ctx, const OrtValue* v, cudaStream_t stream, const char* op, const std::string& node) {
    if (v == nullptr) return;
    if (!IsHalf(v)) {
      data_ = DataOf(v);
      return;
    }
    Ort::ConstValue cv(v);
    const int64_t n = static_cast<int64_t>(cv.GetTensorTypeAndShapeInfo().GetElementCount());
    scratch_ = std::make_unique<Scratch>(ctx, sizeof(float) * static_cast<size_t>(n), op, node);
    Check(LaunchHalfToFloat(cv.GetTensorRawData(), n, scratch_->As<float>(), stream), op, node);
    data_ = scratch_->As<float>();
  }
  const float* data() const { return data_; }

 private:
  std::unique_ptr<Scratch> scratch_;
  const float* data_ = nullptr;
};

// The output Y as float32 device memory for the kernel: Y's own data, or (float16) scratch that
// Finish, after the kernel's launch, rounds into Y on the stream.
class DeviceFloatOutput {
 public:
  DeviceFloatOutput(OrtKernelContext* ctx, Ort::UnownedValue y, cudaStream_t stream, const char* op, const std::string& node)
      : y_(y), stream_(stream), op_(op), node_(node) {
    auto info = y.GetTensorTypeAndShapeInfo();
    count_ = static_cast<int64_t>(info.GetElementCount());
    if (info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16) {
      scratch_ = std::make_unique<Scratch>(ctx, sizeof(float) * static_cast<size_t>(count_), op, node);
      data_ = scratch_->As<float>();
    } else {
      data_ = y.GetTensorMutableData<float>();
    }
  }
  float* data() { return data_; }
  void Finish() {
    if (scratch_) Check(LaunchFloatToHalf(scratch_->As<float>(), count_, y_.GetTensorMutableRawData(), stream_), op_, node_);
  }

 private:
  Ort::UnownedValue y_;
  cudaStream_t stream_;
  const char* op_;
  std::string node_;
  int64_t count_ = 0;
  std::unique_ptr<Scratch> scratch_;
  float* data_ = nullptr;
};

// A float or float16 value's numbers on the host as float32: P (a CPU input) or a constant
// initializer, which may sit on the host or on the device (cudaMemcpyDefault).
inline std::vector<float> HostFloats(Ort::ConstValue v, const char* op, const std::string& node) {
  auto info = v.GetTensorTypeAndShapeInfo();
  const size_t n = info.GetElementCount();
  const bool half = info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
  std::vector<unsigned char> raw(n * (half ? 2 : 4));
  if (n > 0) Check(cudaMemcpy(raw.data(), v.GetTensorRawData(), raw.size(), cudaMemcpyDefault), op, node);
  std::vector<float> out(n);
  RawToFloats(raw.data(), n, half, out.data());
  return out;
}

// A constant input (an initializer: W, P) uploaded once, when the kernel is created, so that a run
// copies nothing and stays capturable in a CUDA graph. Created on the thread that makes the session,
// where onnxruntime's CUDA provider has set the device; the source may be host or device memory.
class DeviceConstant {
 public:
  DeviceConstant(const float* src, int64_t count, const char* op, const std::string& node) : count_(count) {
    const size_t bytes = sizeof(float) * static_cast<size_t>(count > 0 ? count : 1);
    Check(cudaMalloc(reinterpret_cast<void**>(&data_), bytes), op, node);
    if (count > 0) Check(cudaMemcpy(data_, src, sizeof(float) * static_cast<size_t>(count), cudaMemcpyDefault), op, node);
  }
  ~DeviceConstant() { cudaFree(data_); }
  DeviceConstant(const DeviceConstant&) = delete;
  DeviceConstant& operator=(const DeviceConstant&) = delete;
  const float* data() const { return data_; }
  int64_t count() const { return count_; }

 private:
  float* data_ = nullptr;
  int64_t count_ = 0;
};

// Input INDEX uploaded once when it is a constant initializer, else null.
inline std::unique_ptr<DeviceConstant> UploadConstant(const Ort::ConstKernelInfo& info, size_t index, const char* op,
                                                      const std::string& node) {
  if (info.GetInputCount() <= index) return nullptr;
  int is_const = 0;
  auto v = info.GetTensorConstantInput(index, &is_const);
  if (!is_const) return nullptr;
  const std::vector<float> host = HostFloats(v, op, node);  // a float16 P converted
  return std::make_unique<DeviceConstant>(host.data(), static_cast<int64_t>(host.size()), op, node);
}

}  // namespace Cuda
}  // namespace lp
