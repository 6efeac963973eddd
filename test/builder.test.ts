// The graph builder: typed values, symbolic dims, errors where a mistake is made, and models
// that run the same on the reference and on onnxruntime.

import { seededRandom } from '../src/cli/run';
import { exportDualPath } from '../src/export/dual-path';
import { BuilderError, GraphBuilder } from '../src/graph/builder';
import { encodeModel } from '../src/onnx/codec';
import type { TensorProto } from '../src/onnx/proto';
import { makeTensor, tensorFromProto, toFloat64 } from '../src/onnx/tensor';
import { runOrt } from '../src/runtime/ort';
import { runReference } from '../src/runtime/reference';
import { compareArrays, TOL } from './helpers/compare';

const rand = seededRandom(3);
const w = (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());

async function refVsOrt(model: ReturnType<GraphBuilder['build']>, feeds: Record<string, ReturnType<typeof makeTensor>>) {
  const dual = exportDualPath(model).model;
  const ort = await runOrt('ort', encodeModel(dual), feeds);
  const nd = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { dims: t.dims, data: toFloat64(t) }]));
  const ref = runReference(dual, nd);
  for (const [k, v] of Object.entries(ref)) compareArrays(k, { dims: ort[k].dims, data: ort[k].data as Float32Array }, v, TOL.body);
  return ort;
}

describe('GraphBuilder', () => {
  test('an MLP with a learned-norm layer: types with a symbolic batch', async () => {
    const b = new GraphBuilder({ name: 'mlp' });
    const x = b.input('x', 'float32', ['batch', 20]);
    const h = b.gemm(x, b.initializer('w1', w(32 * 20), [32, 20]), b.initializer('b1', w(32), [32]), { transB: 1 }).relu();
    expect(h.shape).toEqual(['batch', 32]);
    const lp = h.lpNorm(b.initializer('lw', w(16 * 32, 0, 1), [16, 32]), b.initializer('lp', w(16, 1, 4), [16]), { eps: 1e-6 });
    expect(lp.shape).toEqual(['batch', 16]);
    const y = lp.matmul(b.initializer('w2', w(16 * 4), [16, 4])).softmax();
    b.output(y, 'probs');
    const model = b.build();
    expect(model.graph?.output?.[0].type?.tensor_type?.shape?.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 4 }]);
    await refVsOrt(model, { x: makeTensor('float32', [5, 20], w(100)) });
  });

  test('one body per op: no overload, the IR of the opset (8 at 18), a global LpPool carrying kernel_shape 1s', async () => {
    const b = new GraphBuilder({ name: 'one-body', opset: 18 });
    const x = b.input('x', 'float32', ['N', 3, 8, 8]);
    const h = b.l1Conv(x, b.initializer('cw', w(6 * 3 * 9), [6, 3, 3, 3]), undefined, { pads: [1, 1, 1, 1] }).relu();
    const g = b.lpPool(h, b.initializer('gp', [3], [1]), { global: 1, mean: 1, mode: 'clamp', eps: 1e-6 });
    b.output(g.flatten().lpNorm(b.initializer('lw', w(4 * 6, 0, 1), [4, 6]), undefined, { p: 2 }), 'y');
    const dual = exportDualPath(b.build()).model;
    // onnx's release table: opset 18 came with IR 8; runtimes reading IR 9 at most (onnxruntime 1.17) load it
    expect(Number(dual.ir_version)).toBe(8);
    expect((dual.functions ?? []).map((f) => [f.name, f.overload])).toEqual([
      ['L1Conv', undefined],
      ['LpPool', undefined],
      ['LpNorm', undefined],
    ]);
    const nodes = dual.graph?.node ?? [];
    expect(nodes.filter((n) => n.overload)).toEqual([]);
    // onnx's reference evaluator checks a node named LpPool against ONNX LpPool, which requires kernel_shape
    const pool = nodes.find((n) => n.op_type === 'LpPool');
    expect(pool?.attribute?.find((a) => a.name === 'kernel_shape')?.ints?.map(Number)).toEqual([1, 1]);
    await refVsOrt(dual, { x: makeTensor('float32', [2, 3, 8, 8], w(2 * 3 * 64)) });
  });

  test('nodes of one op that differ only in giving P or B are given it (P = [p], B = zeros) and share one body', async () => {
    const b = new GraphBuilder({ name: 'given', opset: 18 });
    const x = b.input('x', 'float32', ['N', 3, 8]);
    const h1 = b.l1Conv(x, b.initializer('c1.w', w(4 * 3 * 3), [4, 3, 3]), b.initializer('c1.b', w(4), [4]), {}, 'c1');
    const h2 = b.l1Conv(h1, b.initializer('c2.w', w(4 * 4 * 3), [4, 4, 3]), undefined, {}, 'c2');
    const f = h2.flatten();
    const u1 = b.lpNorm(f, b.initializer('u1.w', w(5 * 16, 0, 1), [5, 16]), b.initializer('u1.p', [3], [1]), {}, 'u1');
    b.output(b.lpNorm(u1, b.initializer('u2.w', w(2 * 5, 0, 1), [2, 5]), undefined, { p: 1.5 }, 'u2'), 'y');
    const source = b.build();
    const dual = exportDualPath(source).model;
    expect((dual.functions ?? []).map((fn) => [fn.name, fn.overload])).toEqual([
      ['L1Conv', undefined],
      ['LpNorm', undefined],
    ]);
    const node = (name: string) => (dual.graph?.node ?? []).find((n) => n.name === name);
    expect(node('c2')?.input).toEqual([expect.any(String), 'c2.w', 'c2.B']);
    expect(node('u2')?.input).toEqual([expect.any(String), 'u2.w', 'u2.P']);
    const init = (name: string) => toFloat64(tensorFromProto((dual.graph?.initializer ?? []).find((t) => t.name === name) as TensorProto));
    expect(Array.from(init('c2.B'))).toEqual([0, 0, 0, 0]);
    expect(Array.from(init('u2.P'))).toEqual([1.5]);
    // the same values as the nodes as they were written, on the reference and on the bodies
    const feeds = { x: makeTensor('float32', [2, 3, 8], w(48)) };
    const nd = { x: { dims: [2, 3, 8], data: toFloat64(feeds.x) } };
    compareArrays('normalised vs as written (reference)', runReference(dual, nd).y, runReference(source, nd).y, TOL.reference);
    await refVsOrt(dual, feeds);
  });

  test('a point-cloud net runs at any number of points (symbolic spatial dim)', async () => {
    const b = new GraphBuilder({ name: 'points' });
    const x = b.input('points', 'float32', ['N', 3, 'P']);
    let h = b.l1Conv(x, b.initializer('c1', w(16 * 3), [16, 3, 1]), b.initializer('c1b', w(16), [16])).relu();
    h = b.l1Conv(h, b.initializer('c2', w(32 * 16, -0.2, 0.2), [32, 16, 1]));
    expect(h.shape).toEqual(['N', 32, 'P']);
    const g = b.lpPool(h, b.initializer('gem_p', w(32, 2, 4), [32]), { global: 1, mean: 1, mode: 'clamp', eps: 1e-6 });
    expect(g.shape).toEqual(['N', 32, 1]);
    b.output(g.flatten(), 'feature');
    const model = b.build();
    for (const P of [7, 50]) {
      const out = await refVsOrt(model, { points: makeTensor('float32', [2, 3, P], w(6 * P)) });
      expect(out.feature.dims).toEqual([2, 32]);
    }
  });

  test('a CNN of standard ops (Conv, BatchNormalization, MaxPool, Concat, Transpose, Reshape, Gelu)', async () => {
    const b = new GraphBuilder({ name: 'cnn', opset: 20 });
    const x = b.input('x', 'float32', ['N', 2, 9, 9]);
    const c = b.conv(x, b.initializer('cw', w(4 * 2 * 9), [4, 2, 3, 3]), b.initializer('cb', w(4), [4]), { pads: [1, 1, 1, 1], strides: [2, 2] });
    const bn = b.batchNorm(
      c,
      b.initializer('s', w(4, 0.5, 1.5), [4]),
      b.initializer('o', w(4), [4]),
      b.initializer('m', w(4), [4]),
      b.initializer('v', w(4, 0.5, 2), [4]),
    );
    const p = b.maxPool(bn.gelu(), { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 });
    const q = b.lpPool(bn, undefined, { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1, p: 3 });
    const cat = b.concat([p, q], 1);
    expect(cat.shape).toEqual(['N', 8, 3, 3]);
    const t = cat.transpose([0, 2, 3, 1]).reshape([0, -1]);
    b.output(t, 'y');
    await refVsOrt(b.build(), { x: makeTensor('float32', [2, 2, 9, 9], w(324)) });
  });

  test('mistakes are reported where they are made', () => {
    const b = new GraphBuilder({ name: 'bad' });
    const x = b.input('x', 'float32', ['N', 8]);
    expect(() => b.gemm(x, b.initializer('w', w(12), [3, 4]))).toThrow(
      "node 'Gemm_0' (Gemm): Gemm inner dims 8 and 3 differ [inputs: x: float32[N, 8], w: float32[3, 4]]",
    );
    expect(() => x.lpNorm(b.initializer('lw', w(10, 0, 1), [2, 5]))).toThrow("LpNorm node 'LpNorm_0': K of X (8) does not equal K of W (5)");
    expect(() => b.lpPool(x, undefined, { kernel_shape: [2] })).toThrow("LpPool node 'LpPool_0': X must be [N, C, D1 (, D2 (, D3))], got rank 2");
    expect(() => b.lpNorm(x, b.initializer('lw2', w(16, 0, 1), [2, 8]), undefined, { q: 1 } as never)).toThrow(
      "LpNorm node 'LpNorm_1': unknown attribute 'q' (expected one of p, eps, sum_eps, mean, mode, mode_index)",
    );
    expect(() => b.input('x', 'float32', [1])).toThrow(BuilderError);
    expect(() => b.initializer('z', [1, 2, 3], [2, 2])).toThrow("initializer 'z': 3 values for dims [2,2] (expected 4)");
    expect(() => new GraphBuilder().build()).toThrow('the graph has no outputs: call output(value) first');
  });
});
