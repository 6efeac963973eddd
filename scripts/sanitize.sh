#!/usr/bin/env bash
# The sanitizer run (part of .ci/run; ThreadSanitizer on the emulated CUDA kernels at the end): the custom-op library and the addon built with
# AddressSanitizer + UndefinedBehaviorSanitizer (build/Sanitize), a canary proving that an
# out-of-bounds read in a native addon is reported and fails the run, then the native op cases,
# the native error cases, the lp-onnx/node suite and the differential fuzz of raw nodes on that
# build, and the op cases on the CUDA kernels' code under the CPU emulation (so ASan checks every
# device-memory access of the device code, as compute-sanitizer's memcheck would on a GPU). Node itself is not instrumented: libasan is preloaded. Usage: bash scripts/sanitize.sh
set -euo pipefail
cd "$(dirname "$0")/.."

asan=$(g++ -print-file-name=libasan.so 2>/dev/null || true)
if [ ! -f "$asan" ] && [ "${CI:-}" != "true" ]; then
  echo "sanitizer run skipped: g++'s libasan.so is not installed here (CI always runs it)"
  exit 0
fi
LP_ONNX_SANITIZE=1 node scripts/build-native.js
LP_ONNX_SANITIZE=1 LP_ONNX_CUDA_EMULATION=1 node scripts/build-native.js
# node and V8 keep memory for the life of the process (no leak check); V8 handles its own SIGSEGV
# (wasm bounds checks), so ASan leaves that signal alone.
export ASAN_OPTIONS=detect_leaks=0:handle_segv=0:abort_on_error=1:detect_odr_violation=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

log=build/Sanitize/canary.log
if LD_PRELOAD=$asan node -e "require('./build/Sanitize/canary.node').readPastEnd()" 2>"$log"; then
  echo "sanitizer run: the canary's out-of-bounds read was not reported: the sanitizer setup does not work" >&2
  exit 1
fi
if ! grep -q 'heap-buffer-overflow' "$log"; then
  echo "sanitizer run: the canary failed without a heap-buffer-overflow report:" >&2
  tail -5 "$log" >&2
  exit 1
fi
echo "sanitizer run: the canary's out-of-bounds read is reported (heap-buffer-overflow)"

LD_PRELOAD=$asan LP_ONNX_NATIVE_BUILD=$PWD/build/Sanitize LP_ONNX_SANITIZED=1 LP_ONNX_FUZZ_WGSL=0 \
  LP_ONNX_CUDA_EMULATION_BUILD=$PWD/build/CudaEmulationSanitize LP_ONNX_TEST_BACKENDS='^(reference|fused CPU kernels|CUDA kernels)' \
  node --experimental-vm-modules --no-warnings --liftoff-only node_modules/jest/bin/jest.js \
  test/ops.test.ts test/native-errors.test.ts test/node-session.test.ts test/fuzz-nodes.test.ts

# ThreadSanitizer on the emulated CUDA kernels: the emulation runs a launch's blocks at the same
# time on host threads and each block's threads as host threads, so a race between blocks or
# between the threads of a block (one a GPU's racecheck would report) is a race TSan reports.
# A canary proves the setup reports such a race in an addon; then the op cases run on that build.
tsan=$(g++ -print-file-name=libtsan.so)
LP_ONNX_SANITIZE=thread LP_ONNX_CUDA_EMULATION=1 node scripts/build-native.js
# node's own threads are not instrumented: only the addon's accesses are checked
export TSAN_OPTIONS=halt_on_error=1:ignore_noninstrumented_modules=1
log=build/CudaEmulationTsan/canary.log
if LD_PRELOAD=$tsan node -e "require('./build/CudaEmulationTsan/tsan-canary.node').raceBetweenBlocks()" 2>"$log"; then
  echo "sanitizer run: the TSan canary's race between blocks was not reported: the TSan setup does not work" >&2
  exit 1
fi
if ! grep -q 'ThreadSanitizer: data race' "$log" || ! grep -q 'AddWithoutAtomic' "$log"; then
  echo "sanitizer run: the TSan canary failed without a data race report in AddWithoutAtomic:" >&2
  tail -5 "$log" >&2
  exit 1
fi
echo "sanitizer run: the TSan canary's race between blocks is reported (data race in AddWithoutAtomic)"
# (the float16 cases add only conversion kernels to the same device code: left to the other runs)
LD_PRELOAD=$tsan LP_ONNX_CUDA_EMULATION_BUILD=$PWD/build/CudaEmulationTsan LP_ONNX_SANITIZED=1 LP_ONNX_TEST_BACKENDS='^CUDA kernels' \
  node --experimental-vm-modules --no-warnings --liftoff-only node_modules/jest/bin/jest.js test/ops.test.ts --testNamePattern '^(?!.*float16)'
