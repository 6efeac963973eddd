// float16 <-> float32 conversions on the device, grid-stride, coalesced.
#include "device_common.cuh"
#include "half_impl.cuh"

namespace lp {
namespace Cuda {

namespace {
__global__ void HalfToFloatKernel(const __half* in, int64_t n, float* out) {
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    out[i] = __half2float(in[i]);
}

__global__ void FloatToHalfKernel(const float* in, int64_t n, __half* out) {
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    out[i] = __float2half_rn(in[i]);
}

dim3 Grid(int64_t n) {
  const int64_t blocks = (n + 255) / 256;
  return dim3(static_cast<unsigned>(blocks < 4096 ? blocks : 4096));
}
}  // namespace

cudaError_t LaunchHalfToFloat(const void* in, int64_t n, float* out, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return LP_LAUNCH(HalfToFloatKernel, Grid(n), dim3(256), 0, stream, static_cast<const __half*>(in), n, out);
}

cudaError_t LaunchFloatToHalf(const float* in, int64_t n, void* out, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return LP_LAUNCH(FloatToHalfKernel, Grid(n), dim3(256), 0, stream, in, n, static_cast<__half*>(out));
}

}  // namespace Cuda
}  // namespace lp
