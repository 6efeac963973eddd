// ops.md "special cases that must hold exactly", checked against onnxruntime's own pooling ops:
// the LpPool node (as its function body) and the standard op run in one model on the same input.
import { lpPool } from '../ops/index';
import { exportDualPath } from '../src/export/dual-path';
import { GraphBuilder } from '../src/graph/builder';
import { encodeModel } from '../src/onnx/codec';
import { makeTensor } from '../src/onnx/tensor';
import { runOrt } from '../src/runtime/ort';
import { makeInput } from './cases/types';
import { compareArrays, TOL } from './helpers/compare';

interface Geo {
  name: string;
  dims: number[];
  attrs: { kernel_shape: number[]; strides?: number[]; pads?: number[]; dilations?: number[]; auto_pad?: string; ceil_mode?: number };
}

const geometries: Geo[] = [
  { name: '1d k3', dims: [2, 3, 11], attrs: { kernel_shape: [3] } },
  { name: '1d k2 s2 ceil', dims: [2, 3, 9], attrs: { kernel_shape: [2], strides: [2], ceil_mode: 1 } },
  { name: '2d k3 s2', dims: [2, 4, 12, 11], attrs: { kernel_shape: [3, 3], strides: [2, 2] } },
  { name: '2d k3 s2 pads ceil', dims: [1, 3, 8, 9], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 } },
  { name: '2d ceil drops window in padding', dims: [1, 2, 4, 4], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [2, 2, 2, 2], ceil_mode: 1 } },
  { name: '2d dilations', dims: [1, 2, 10, 9], attrs: { kernel_shape: [2, 3], dilations: [2, 2], strides: [1, 2] } },
  { name: '2d same_upper', dims: [1, 2, 7, 8], attrs: { kernel_shape: [3, 2], strides: [2, 3], auto_pad: 'SAME_UPPER' } },
  { name: '2d same_lower dilated', dims: [1, 2, 9, 8], attrs: { kernel_shape: [3, 3], strides: [2, 1], dilations: [2, 1], auto_pad: 'SAME_LOWER' } },
  { name: '2d valid ceil', dims: [1, 2, 8, 7], attrs: { kernel_shape: [3, 2], strides: [2, 2], auto_pad: 'VALID', ceil_mode: 1 } },
  { name: '3d k2 s2', dims: [1, 2, 4, 5, 6], attrs: { kernel_shape: [2, 2, 2], strides: [2, 2, 2] } },
  { name: '3d k3 pads', dims: [1, 2, 5, 4, 5], attrs: { kernel_shape: [3, 3, 3], pads: [1, 0, 1, 1, 1, 0] } },
];

async function both(
  geo: Geo,
  lp: Record<string, number | string | number[]>,
  std: string,
  stdAttrs: Record<string, number | string | number[]>,
  fill: 'mixed' | 'positive',
) {
  const b = new GraphBuilder({ name: 'special', opset: 19 });
  const x = b.input('X', 'float32', geo.dims);
  b.output(b.lpPool(x, undefined, { ...geo.attrs, ...lp }), 'lp');
  b.output(b.op(std, [x], { ...geo.attrs, ...stdAttrs }), 'std');
  const data = makeInput({ dims: geo.dims, fill }, 5);
  const { model } = exportDualPath(b.build());
  const out = await runOrt('ort', encodeModel(model), { X: makeTensor('float32', geo.dims, data) });
  const attrs = lpPool.parse(model.graph?.node?.[0].attribute ?? [], 'lp');
  const ref = lpPool.reference(attrs, [{ dims: geo.dims, data: Float64Array.from(data) }], 'lp');
  const std32 = { dims: out.std.dims, data: out.std.data as Float32Array };
  compareArrays(`${geo.name}: function body vs ${std}`, { dims: out.lp.dims, data: out.lp.data as Float32Array }, std32, TOL.sameOpFloat32);
  compareArrays(`${geo.name}: reference vs ${std}`, ref, std32, TOL.sameOpFloat32);
}

describe('LpPool special cases against onnxruntime pooling ops', () => {
  for (const geo of geometries) {
    for (const p of [1, 2, 3]) {
      test(`mean 0 abs eps 0 p=${p} == LpPool (${geo.name})`, () => both(geo, { p }, 'LpPool', { p }, 'mixed'));
    }
    for (const cip of [0, 1]) {
      test(`mean 1 p=1 non-negative == AveragePool count_include_pad=${cip} (${geo.name})`, () =>
        both(geo, { p: 1, mean: 1, count_include_pad: cip }, 'AveragePool', { count_include_pad: cip }, 'positive'));
    }
    test(`p=inf non-negative == MaxPool (${geo.name})`, () => both(geo, { p: Number.POSITIVE_INFINITY }, 'MaxPool', {}, 'positive'));
  }

  test('global mean clamp == GeM of Radenovic et al. (onnxruntime standard ops)', async () => {
    const dims = [2, 5, 6, 7];
    const b = new GraphBuilder({ name: 'gem' });
    const x = b.input('X', 'float32', dims);
    const p = b.initializer('p', [3], [1]);
    b.output(b.lpPool(x, p, { global: 1, mean: 1, mode: 'clamp', eps: 1e-6 }), 'lp');
    const clamped = b.op('Max', [x, b.initializer('eps', [1e-6], [])]);
    const avg = b.globalAveragePool(b.op('Pow', [clamped, p]));
    b.output(b.op('Pow', [avg, b.initializer('inv_p', [1 / 3], [])]), 'gem');
    const data = makeInput({ dims, fill: 'mixed' }, 9);
    const out = await runOrt('ort', encodeModel(exportDualPath(b.build()).model), { X: makeTensor('float32', dims, data) });
    compareArrays(
      'GeM',
      { dims: out.lp.dims, data: out.lp.data as Float32Array },
      { dims: out.gem.dims, data: out.gem.data as Float32Array },
      TOL.sameOpFloat32,
    );
  });
});
