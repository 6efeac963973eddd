// float16 <-> float32 conversions for the CPU kernels (half.h).
#include "half.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "../common/half_value.h"

namespace lp {

namespace {
__attribute__((target("avx2,f16c"))) void HalfToFloatF16c(const uint16_t* in, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  for (; i < n; ++i) out[i] = HalfValue(in[i]);
}

__attribute__((target("avx2,f16c"))) void FloatToHalfF16c(const float* in, int64_t n, uint16_t* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  for (; i < n; ++i) out[i] = HalfBits(in[i]);
}
}  // namespace

std::vector<float>& RoleBuffer(Role role, size_t n) {
  thread_local std::vector<float> buffers[7];
  std::vector<float>& b = buffers[static_cast<int>(role)];
  if (b.size() < n) b.resize(n);
  return b;
}

void HalfToFloat(Isa isa, const uint16_t* in, int64_t n, float* out) {
  if (isa != Isa::kPlain) return HalfToFloatF16c(in, n, out);
  RawToFloats(in, static_cast<size_t>(n), true, out);
}

void FloatToHalf(Isa isa, const float* in, int64_t n, uint16_t* out) {
  if (isa != Isa::kPlain) return FloatToHalfF16c(in, n, out);
  for (int64_t i = 0; i < n; ++i) out[i] = HalfBits(in[i]);
}

namespace {
// chunks of 64 Ki values: a task's conversion costs more than scheduling it
constexpr int64_t kConvertChunk = 65536;
}  // namespace

void HalfToFloat(OrtKernelContext* ctx, Isa isa, const uint16_t* in, int64_t n, float* out) {
  if (ctx == nullptr || n <= kConvertChunk) return HalfToFloat(isa, in, n, out);
  ParallelFor(ctx, static_cast<size_t>((n + kConvertChunk - 1) / kConvertChunk), [&](size_t t) {
    const int64_t i = static_cast<int64_t>(t) * kConvertChunk;
    HalfToFloat(isa, in + i, std::min(kConvertChunk, n - i), out + i);
  });
}

void FloatToHalf(OrtKernelContext* ctx, Isa isa, const float* in, int64_t n, uint16_t* out) {
  if (ctx == nullptr || n <= kConvertChunk) return FloatToHalf(isa, in, n, out);
  ParallelFor(ctx, static_cast<size_t>((n + kConvertChunk - 1) / kConvertChunk), [&](size_t t) {
    const int64_t i = static_cast<int64_t>(t) * kConvertChunk;
    FloatToHalf(isa, in + i, std::min(kConvertChunk, n - i), out + i);
  });
}

}  // namespace lp
