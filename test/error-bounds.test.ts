// The CPU kernels' exp2 and log2 for a sum's terms (kernels/cpu/lp_vec.h, lp_avx512.h) against exp2
// and log2 in double on every 1009-th float of their domains: the worst errors lp_vec.h states, and
// the degree-3 exp2 (taken for p >= 2) inside the kernels' rtol of 1e-4 with room for the rest.
// `npm run error-bounds` measures every float.
import { errorBounds, ortInclude, rootError, type Worst } from '../scripts/error-bounds';

const reason = ortInclude() ? undefined : 'no onnxruntime C API headers (npm run build:native fetches them)';
if (reason) console.warn(`skipping the error-bounds test: ${reason}`);

(reason ? describe.skip : describe)('exp2 and log2 of the CPU terms against double', () => {
  const b = reason ? undefined : errorBounds(1009);
  const worst = (k: string) => (b?.[k] as Worst).error;
  const names = (k: string) => Object.keys(b ?? {}).filter((n) => n.startsWith(k));

  test('measures every sequence of this CPU (lp_vec.h, and lp_avx512.h where it has AVX-512)', () => {
    expect(names('exp2_degree4')).toHaveLength(b?.avx512 ? 4 : 2);
    expect(names('log2')).toHaveLength(b?.avx512 ? 4 : 2);
  });
  test('exp2 of degree 4: relative error below 2.8e-6 (lp_vec.h: 2.75e-6 over every float)', () => {
    for (const n of names('exp2_degree4')) expect([n, worst(n) < 2.8e-6]).toEqual([n, true]);
  });
  test('exp2 of degree 3: relative error below 7.6e-5 (lp_vec.h: 7.5e-5)', () => {
    for (const n of names('exp2_degree3')) expect([n, worst(n) < 7.6e-5]).toEqual([n, true]);
  });
  test('log2: absolute error below 6.6e-6 (lp_vec.h: 6.5e-6, the float rounding of the exponent added last)', () => {
    for (const n of names('log2')) expect([n, worst(n) < 6.6e-6]).toEqual([n, true]);
  });
  test('the root of degree p >= 2 of degree-3 terms stays within half of the kernels rtol of 1e-4', () => {
    if (!b) return;
    expect(rootError(b, 3, 2).root).toBeLessThan(0.5e-4);
    // degree 3 at p = 1 would not leave that room: why it is taken for p >= 2 only
    expect(rootError(b, 3, 1).root).toBeGreaterThan(0.5e-4);
  });
});
