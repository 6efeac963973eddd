#!/usr/bin/env bash
# The one prepared script for a GPU machine (the device tool runs it in the repository root, with
# build/GpuCheck carried): the op cases on the GPU on a non-default stream against the float64
# reference, the same under compute-sanitizer (memcheck, racecheck, synccheck, initcheck), then the benchmarks. Build the
# library here first (scripts/gpu/build-gpu-check.sh: nvcc, no GPU needed). Results go to $OUT when
# it is set.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-build/gpu-results}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
python3 scripts/gpu/gpu-check.py --sanitize --bench --runs "${RUNS:-20}" 2>&1 | tee "$out/gpu-check.txt"
exit "${PIPESTATUS[0]}"
