// One float16 value to float32 and back, exactly as ops.md's "float16" says: every float16 value is
// a float32 value; a float32 result rounds to the nearest float16 (ties to even), beyond the range
// to +-inf, NaN stays NaN. Shared by the CPU kernels' conversions (kernels/cpu/half.cc) and the
// checks of constant inputs when a kernel is created.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace lp {

inline uint32_t F32Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float F32FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Exact: every float16 value is a float32 value (subnormals included).
inline float HalfValue(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0x1f) return F32FromBits(sign | 0x7f800000u | (man << 13));                                // inf, NaN
  if (exp != 0) return F32FromBits(sign | ((exp + 112u) << 23) | (man << 13));                          // normal
  return F32FromBits(sign) + (sign ? -1.0f : 1.0f) * static_cast<float>(man) * 5.9604644775390625e-8f;  // subnormal: man 2^-24
}

// Round to nearest even; beyond float16's range +-inf; NaN stays NaN (quiet).
inline uint16_t HalfBits(float f) {
  const uint32_t u = F32Bits(f), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u | ((a >> 13) & 0x3ffu) : 0u));
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504: inf
  if (a < 0x38800000u) {
    // subnormal or zero: the value in units of 2^-24, rounded to nearest even by float addition
    const float scaled = F32FromBits(a) * 16777216.0f;         // exact (a power of two)
    const float rounded = (scaled + 8388608.0f) - 8388608.0f;  // 2^23: rounds to an integer, ties to even
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(rounded));
  }
  // normal: drop 13 mantissa bits, rounding to nearest even (a carry into the exponent is right)
  const uint32_t rebased = a - (112u << 23);
  const uint32_t half = rebased >> 13, rest = rebased & 0x1fffu;
  return static_cast<uint16_t>(sign | (half + (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))));
}

// N values at RAW, float16 or float (as their bytes lie, aligned or not), as floats into OUT.
inline void RawToFloats(const void* raw, size_t n, bool half, float* out) {
  const auto* bytes = static_cast<const unsigned char*>(raw);
  for (size_t i = 0; i < n; ++i) {
    if (half) {
      uint16_t h;
      std::memcpy(&h, bytes + 2 * i, 2);
      out[i] = HalfValue(h);
    } else {
      std::memcpy(&out[i], bytes + 4 * i, 4);
    }
  }
}

}  // namespace lp
