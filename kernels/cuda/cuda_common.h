// Host pieces shared by the CUDA kernels (g++ code, never device code): the EP's stream, device
// scratch memory from the session's allocator, and launch errors as onnxruntime errors naming the
// op and node. Under LP_CUDA_EMULATION the same code runs on the CPU execution provider (device
// memory is host memory), so the tests can drive it.
#pragma once

#include <string>

#include "../common/custom_op.h"
#include "cuda_compat.h"

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

// Device memory for the length of one Compute, from the EP's allocator. onnxruntime's CUDA
// allocator reuses memory in stream order, so it may go back before the kernels on that stream ran.
class Scratch {
 public:
  Scratch(OrtKernelContext* ctx, size_t bytes) {
#if defined(LP_CUDA_EMULATION)
    Ort::MemoryInfo info = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
#else
    int device = 0;
    cudaGetDevice(&device);
    Ort::MemoryInfo info("Cuda", OrtArenaAllocator, device, OrtMemTypeDefault);
#endif
    Ort::ThrowOnError(Ort::GetApi().KernelContext_GetAllocator(ctx, info, &allocator_));
    if (bytes > 0) Ort::ThrowOnError(Ort::GetApi().AllocatorAlloc(allocator_, bytes, &data_));
  }
  ~Scratch() {
    if (data_) {
      OrtStatus* st = Ort::GetApi().AllocatorFree(allocator_, data_);
      if (st) Ort::GetApi().ReleaseStatus(st);
    }
    if (allocator_) Ort::GetApi().ReleaseAllocator(allocator_);
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

// A launcher's error as an onnxruntime error naming the op and the node.
inline void Check(cudaError_t e, const char* op, const std::string& node) {
  if (e != cudaSuccess) Fail(op, node, std::string("CUDA error: ") + cudaGetErrorString(e));
}

}  // namespace Cuda
}  // namespace lp
