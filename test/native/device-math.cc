// The device arithmetic of kernels/cuda/device_common.cuh on the CPU (the emulation build compiles the
// same source): the worst relative error of Exp2Fma, 2^x on the FMA pipe, over its whole domain
// [-126, 0] against exp2 in double, on 2^25 evenly spaced points and on every float in the
// fraction range [-1/2, 1/2] at one exponent; and the values it must give exactly. Read by
// test/emulation.test.ts.
#include <cmath>
#include <cstdio>

#include "../../kernels/cuda/device_common.cuh"

namespace {
double RelativeError(float x) {
  const double ref = std::exp2(static_cast<double>(x));
  return std::fabs(static_cast<double>(lp::Cuda::Exp2Fma(x)) / ref - 1.0);
}
}  // namespace

int main() {
  double worst = 0.0;
  float at = 0.0f;
  const long n = 1L << 25;
  for (long i = 0; i <= n; ++i) {
    const float x = static_cast<float>(-126.0 * static_cast<double>(i) / static_cast<double>(n));
    const double e = RelativeError(x);
    if (e > worst) worst = e, at = x;
  }
  // every float of [-10.5, -9.5]: the fractions f of one j, all of them
  for (float x = -10.5f; x <= -9.5f; x = std::nextafter(x, 0.0f)) {
    const double e = RelativeError(x);
    if (e > worst) worst = e, at = x;
  }
  std::printf("exp2fma worst relative error: %.3g at %.9g\n", worst, static_cast<double>(at));
  std::printf("exp2fma below -126, -inf, NaN: %g %g %g\n", static_cast<double>(lp::Cuda::Exp2Fma(-126.5f)),
              static_cast<double>(lp::Cuda::Exp2Fma(-INFINITY)), static_cast<double>(lp::Cuda::Exp2Fma(NAN)));
  std::printf("exp2fma at 0 and -126: %.9g %.9g\n", static_cast<double>(lp::Cuda::Exp2Fma(0.0f)),
              static_cast<double>(lp::Cuda::Exp2Fma(-126.0f)) / std::exp2(-126.0));
  return 0;
}
