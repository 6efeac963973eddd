// One suite, every backend: each op case runs on the reference and on the function body in
// onnxruntime-node and onnxruntime-web (wasm), compared with an independent float64 oracle.
import { l1ConvCases, l1ConvFloat16Cases } from './cases/l1-conv';
import { lpNormCases, lpNormFloat16Cases } from './cases/lp-norm';
import { lpPoolCases, lpPoolFloat16Cases } from './cases/lp-pool';
import { fitsFloat16, float16Case, type OpCase, roundHalf } from './cases/types';
import { BACKENDS, caseData } from './helpers/backends';
import { compareArrays, float16Tolerance, TOL } from './helpers/compare';
import { type Arr, l1ConvOracle, lpNormOracle, lpPoolOracle } from './helpers/oracle';

function oracle(c: OpCase, inputs: (Float32Array | undefined)[]): Arr {
  const arr = (i: number): Arr | undefined => {
    const s = c.inputs[i];
    const d = inputs[i];
    return s && d ? { dims: s.dims, data: Float64Array.from(d) } : undefined;
  };
  const a = c.attrs as never;
  const y = c.op === 'LpNorm' ? lpNormOracle(arr(0) as Arr, arr(1) as Arr, arr(2), a) : c.op === 'LpPool' ? lpPoolOracle(arr(0) as Arr, arr(1), a) : l1ConvOracle(arr(0) as Arr, arr(1) as Arr, arr(2), a);
  // float16 (ops.md): the float64 result on the float16 inputs, rounded once
  return c.dtype === 'float16' ? { dims: y.dims, data: y.data.map(roundHalf) } : y;
}

// every case, its float16 twin where its inputs fit float16, and the float16-specific cases
const withFloat16 = (cases: OpCase[], specific: OpCase[]) => [...cases, ...cases.filter(fitsFloat16).map(float16Case), ...specific];
const tables: [string, OpCase[]][] = [
  ['LpNorm', withFloat16(lpNormCases, lpNormFloat16Cases)],
  ['LpPool', withFloat16(lpPoolCases, lpPoolFloat16Cases)],
  ['L1Conv', withFloat16(l1ConvCases, l1ConvFloat16Cases)],
];

for (const backend of BACKENDS) {
  const d = backend.unavailable ? describe.skip : describe;
  if (backend.unavailable) console.warn(`skipping backend '${backend.name}': ${backend.unavailable}`);
  if (!backend.unavailable && backend.noFloat16) console.warn(`skipping the float16 cases on '${backend.name}': ${backend.noFloat16}`);
  d(backend.name, () => {
    for (const [op, cases] of tables) {
      if (backend.ops && !backend.ops.includes(op)) continue;
      describe(op, () => {
        const runs = cases.filter((c) => ((c.dtype !== 'float16' && c.pType !== 'float16') || !backend.noFloat16) && !(backend.body && c.kernelsOnly));
        for (const c of cases) if (backend.body && c.kernelsOnly) test.skip(`${c.name} (kernels only: ${c.kernelsOnly})`, () => undefined);
        test.each(runs.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
          const data = caseData(c, 1);
          const want = oracle(c, data.inputs);
          const got = await backend.run(c, data);
          // a float32 output (every backend but the float64 reference) is held to the float64 result
          // rounded once to float32: +inf beyond its range
          if (c.dtype !== 'float16' && backend.tolerance !== TOL.reference) want.data = want.data.map(Math.fround);
          compareArrays(`${backend.name}: ${c.name}`, got, want, c.dtype === 'float16' ? float16Tolerance(backend.tolerance) : backend.tolerance);
        });
      });
    }
  });
}
