// One body per op (ops.md, "Portable form"): runtimes before onnxruntime 1.27 and onnx's reference
// evaluator give every node of an op the same function. Here many nodes of one op that would need
// different bodies sit in one model; the export must write one function for the op, no overload,
// and every node's output must match the independent float64 oracle on onnxruntime's function
// bodies (stock onnxruntime-node and -web) and on the fused kernels.
import { LP_DOMAIN } from '../ops/types';
import { exportDualPath } from '../src/export/dual-path';
import { GraphBuilder, type Value } from '../src/graph/builder';
import { encodeModel } from '../src/onnx/codec';
import { makeTensor, type Tensor } from '../src/onnx/tensor';
import { runOrt } from '../src/runtime/ort';
import { l1ConvCases } from './cases/l1-conv';
import { lpNormCases } from './cases/lp-norm';
import { lpPoolCases } from './cases/lp-pool';
import type { OpCase } from './cases/types';
import { caseData } from './helpers/backends';
import { compareArrays, TOL } from './helpers/compare';
import { type Arr, l1ConvOracle, lpNormOracle, lpPoolOracle } from './helpers/oracle';

/** Every case as one node of one model, each with its own input x<i> and output y<i>. */
function modelOf(cases: OpCase[]) {
  const b = new GraphBuilder({ name: 'many', opset: 18 });
  const feeds: Record<string, Tensor> = {};
  const want: Record<string, Arr> = {};
  cases.forEach((c, i) => {
    const d = caseData(c, i + 1);
    const arr = (k: number): Arr | undefined => (c.inputs[k] && d.inputs[k] ? { dims: (c.inputs[k] as { dims: number[] }).dims, data: Float64Array.from(d.inputs[k] as Float32Array) } : undefined);
    const values = c.inputs.map((s, k): Value | undefined => {
      if (!s) return undefined;
      if (k === 0 || c.feedWeights) {
        feeds[`in${i}_${k}`] = makeTensor('float32', s.dims, d.inputs[k] as Float32Array);
        return b.input(`in${i}_${k}`, 'float32', s.dims);
      }
      return b.initializer(`in${i}_${k}`, d.inputs[k] as Float32Array, s.dims);
    });
    const [x, a1, a2] = values;
    const y =
      c.op === 'LpPool'
        ? b.lpPool(x as Value, a1, c.attrs, `n${i}`)
        : c.op === 'LpNorm'
          ? b.lpNorm(x as Value, a1 as Value, a2, c.attrs, `n${i}`)
          : b.l1Conv(x as Value, a1 as Value, a2, c.attrs, `n${i}`);
    b.output(y, `y${i}`);
    const a = c.attrs as never;
    const ref =
      c.op === 'LpPool'
        ? lpPoolOracle(arr(0) as Arr, arr(1), a)
        : c.op === 'LpNorm'
          ? lpNormOracle(arr(0) as Arr, arr(1) as Arr, arr(2), a)
          : l1ConvOracle(arr(0) as Arr, arr(1) as Arr, arr(2), a);
    // the float64 result rounded once to the float32 output (+inf beyond its range)
    want[`y${i}`] = { dims: ref.dims, data: ref.data.map(Math.fround) };
  });
  return { source: b.build(), feeds, want };
}

async function check(cases: OpCase[], opType: string) {
  const { source, feeds, want } = modelOf(cases);
  const dual = exportDualPath(source).model;
  const lp = (dual.functions ?? []).filter((f) => f.domain === LP_DOMAIN);
  expect(lp.map((f) => [f.name, f.overload])).toEqual([[opType, undefined]]);
  expect((dual.graph?.node ?? []).filter((n) => n.overload)).toEqual([]);
  expect(Number(dual.ir_version)).toBe(8);
  const bytes = encodeModel(dual);
  for (const backend of ['ort', 'ort-web'] as const) {
    const got = await runOrt(backend, bytes, feeds);
    // a case the bodies are not held to (OpCase.kernelsOnly) is held to the fused kernels below only
    for (const [name, w] of Object.entries(want))
      if (!cases[Number(name.slice(1))].kernelsOnly) compareArrays(`${backend} ${name} (${cases[Number(name.slice(1))].name})`, { dims: got[name].dims, data: got[name].data as Float32Array }, w, TOL.body);
  }
  const native = require('../src/node/index') as typeof import('../src/node/index');
  if (!native.nativeStatus().available) {
    console.warn(`one-body: fused kernels skipped: ${native.nativeStatus().reason}`);
    return;
  }
  const session = await native.InferenceSession.create(bytes);
  const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new native.Tensor('float32', t.data as Float32Array, t.dims)])));
  for (const [name, w] of Object.entries(want)) compareArrays(`fused ${name} (${cases[Number(name.slice(1))].name})`, { dims: [...out[name].dims], data: out[name].data as Float32Array }, w, TOL.kernel);
  await session.release();
}

describe('one body per op', () => {
  test(`all ${l1ConvCases.length} L1Conv cases (1D to 3D, kernels, strides, pads, dilations, groups, SAME and VALID, with and without B) in one model share one body that reads the geometry by reference`, async () => {
    expect(l1ConvCases.length).toBeGreaterThan(20);
    await check(l1ConvCases, 'L1Conv');
  }, 120000);

  test(`all ${lpPoolCases.length} LpPool cases (1D to 3D, global and windowed, SAME, VALID, ceil_mode, mean, count_include_pad, abs and clamp, p attribute and P input, shared and per-channel, +inf) in one model share one body`, async () => {
    expect(lpPoolCases.length).toBeGreaterThan(20);
    await check(lpPoolCases, 'LpPool');
  }, 120000);

  test(`all ${lpNormCases.length} LpNorm cases (p attribute and P input, shared and per-unit, mean, eps, sum_eps, abs and clamp, +inf) in one model share one body`, async () => {
    expect(lpNormCases.length).toBeGreaterThan(20);
    await check(lpNormCases, 'LpNorm');
  }, 120000);

  // a shared body bakes in what its nodes have alike and leaves out what that makes needless
  const subsets: [string, OpCase[], string][] = [
    ['LpPool, global only', lpPoolCases.filter((c) => c.attrs.global === 1), 'LpPool'],
    ['LpPool, ceil_mode 0 and windowed only', lpPoolCases.filter((c) => !c.attrs.ceil_mode && !c.attrs.global), 'LpPool'],
    ['LpPool, mean 1 only', lpPoolCases.filter((c) => c.attrs.mean === 1), 'LpPool'],
    ['LpPool, mean 0 only', lpPoolCases.filter((c) => !c.attrs.mean), 'LpPool'],
    ['LpNorm, sum_eps 0 only', lpNormCases.filter((c) => !c.attrs.sum_eps), 'LpNorm'],
    ['LpNorm, mean 1 only', lpNormCases.filter((c) => c.attrs.mean === 1), 'LpNorm'],
  ];
  test.each(subsets)('%s: one shared body', async (_name, cases, op) => {
    expect(cases.length).toBeGreaterThan(2);
    await check(cases, op);
  }, 120000);

  test('LpPool nodes that differ only in p (the attribute) are given P = [p] and share the specialised body', async () => {
    const pools: OpCase[] = [2, 3, 1.5].map((p) => ({ name: `lppool p ${p}`, op: 'LpPool', inputs: [{ dims: [2, 3, 6, 6] }], attrs: { kernel_shape: [2, 2], strides: [2, 2], p, mode: 'clamp' } }));
    await check(pools, 'LpPool');
  });
});
