// One suite, every backend: each op case runs on the reference and on the function body in
// onnxruntime-node and onnxruntime-web (wasm), compared with an independent float64 oracle.
import { l1ConvCases } from './cases/l1-conv';
import { lpNormCases } from './cases/lp-norm';
import { lpPoolCases } from './cases/lp-pool';
import type { OpCase } from './cases/types';
import { BACKENDS, caseData } from './helpers/backends';
import { compareArrays } from './helpers/compare';
import { type Arr, l1ConvOracle, lpNormOracle, lpPoolOracle } from './helpers/oracle';

function oracle(c: OpCase, inputs: (Float32Array | undefined)[]): Arr {
  const arr = (i: number): Arr | undefined => {
    const s = c.inputs[i];
    const d = inputs[i];
    return s && d ? { dims: s.dims, data: Float64Array.from(d) } : undefined;
  };
  const a = c.attrs as never;
  if (c.op === 'LpNorm') return lpNormOracle(arr(0) as Arr, arr(1) as Arr, arr(2), a);
  if (c.op === 'LpPool') return lpPoolOracle(arr(0) as Arr, arr(1), a);
  return l1ConvOracle(arr(0) as Arr, arr(1) as Arr, arr(2), a);
}

const tables: [string, OpCase[]][] = [
  ['LpNorm', lpNormCases],
  ['LpPool', lpPoolCases],
  ['L1Conv', l1ConvCases],
];

for (const backend of BACKENDS) {
  const d = backend.unavailable ? describe.skip : describe;
  if (backend.unavailable) console.warn(`skipping backend '${backend.name}': ${backend.unavailable}`);
  d(backend.name, () => {
    for (const [op, cases] of tables) {
      if (backend.ops && !backend.ops.includes(op)) continue;
      describe(op, () => {
        test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
          const data = caseData(c, 1);
          const want = oracle(c, data.inputs);
          const got = await backend.run(c, data);
          compareArrays(`${backend.name}: ${c.name}`, got, want, backend.tolerance);
        });
      });
    }
  });
}
