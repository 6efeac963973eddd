#!/usr/bin/env bash
# Builds the library scripts/gpu/gpu-check.py loads: the CUDA launchers of kernels/cuda and their C
# interface (kernels/cuda/gpu_check). Built on a machine with nvcc (a GPU is not needed) and carried
# to the GPU machine: build/GpuCheck/liblp_gpu_check.so (CUDA runtime linked statically).
# --emulation builds the same sources on the CPU emulation of the CUDA execution model instead
# (build/GpuCheckEmulation), to try the check script where there is no GPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
ort=build/ort-headers/usr/include/onnxruntime
[ -f "$ort/onnxruntime_cxx_api.h" ] || { echo "onnxruntime's headers are missing ($ort): run npm install first" >&2; exit 1; }
flags=(-std=c++17 -O3 -fPIC -fvisibility=hidden -Wall -Wextra -Werror "-I$ort")
cu=(kernels/cuda/lp_norm_impl.cu kernels/cuda/lp_pool_impl.cu kernels/cuda/l1_conv_impl.cu kernels/cuda/half_impl.cu)
if [ "${1:-}" = "--emulation" ]; then
  out=build/GpuCheckEmulation
  mkdir -p "$out"
  g++ "${flags[@]}" -DLP_CUDA_EMULATION -pthread -shared -x c++ "${cu[@]}" -x c++ kernels/cuda/gpu_check/gpu_check.cc -o "$out/liblp_gpu_check.so"
else
  out=build/GpuCheck
  mkdir -p "$out"
  cuda=${CUDA_HOME:-/usr/local/cuda}
  objs=()
  for f in "${cu[@]}"; do
    o="$out/$(basename "$f").o"
    nvcc -std=c++17 -O3 -c "$f" -o "$o" -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
      -gencode arch=compute_90,code=compute_90 -lineinfo -Werror all-warnings -Werror default-stream-launch -Xcompiler -fPIC,-fvisibility=hidden
    objs+=("$o")
  done
  g++ "${flags[@]}" "-I$cuda/include" -c kernels/cuda/gpu_check/gpu_check.cc -o "$out/gpu_check.o"
  g++ -shared -o "$out/liblp_gpu_check.so" "${objs[@]}" "$out/gpu_check.o" "-L$cuda/lib64" -lcudart_static -ldl -lrt -lpthread
fi
echo "built $out/liblp_gpu_check.so"
