// float16 storage for the CUDA kernels (ops.md, "float16"): conversions between float16 and float32
// device arrays, on a stream (kernels/cuda/half_impl.cu holds the device code).
#pragma once

#include <cstdint>

#include "cuda_compat.h"

namespace lp {
namespace Cuda {

// in: n float16 values (exact in float32); out: n floats
cudaError_t LaunchHalfToFloat(const void* in, int64_t n, float* out, cudaStream_t stream);
// out: n float16 values, each rounded once to nearest even (beyond the range +-inf, NaN stays NaN)
cudaError_t LaunchFloatToHalf(const float* in, int64_t n, void* out, cudaStream_t stream);

}  // namespace Cuda
}  // namespace lp
