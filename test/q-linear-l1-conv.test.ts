// QLinearL1Conv (ops.md), its ops/ module ahead of the kernels (issue 27): the exact-integer
// reference against an independent oracle (the brute-force L1Conv on the integers, requantised
// here), its function body on stock onnxruntime within 1 of it, and its errors.

import { l1ConvExplicitAttributes, type L1ConvAttrs } from '../ops/l1-conv';
import { MAX_TAPS, qLinearL1Conv, qLinearL1ConvBody } from '../ops/q-linear-l1-conv';
import type { NdArray } from '../ops/types';
import { seededRandom } from '../src/cli/run';
import { encodeModel } from '../src/onnx/codec';
import type { ModelProto, TensorProto } from '../src/onnx/proto';
import { makeTensor, tensorToProto } from '../src/onnx/tensor';
import { runOrt } from '../src/runtime/ort';
import { l1ConvOracle } from './helpers/oracle';

type Q = 'uint8' | 'int8';
const CODE = { uint8: 2, int8: 3 } as const;
const RANGE = { uint8: [0, 255], int8: [-128, 127] } as const;

interface QCase {
  name: string;
  x: number[];
  w: number[];
  t1: Q;
  t2: Q;
  xScale: number;
  yScale: number;
  zeros: [number, number, number];
  bias?: boolean;
  attrs: Partial<L1ConvAttrs>;
}

const CASES: QCase[] = [
  { name: 'uint8 2d k3 pad 1 bias', x: [2, 3, 6, 7], w: [4, 3, 3, 3], t1: 'uint8', t2: 'uint8', xScale: 0.02, yScale: 0.5, zeros: [128, 120, 100], bias: true, attrs: { pads: [1, 1, 1, 1] } },
  { name: 'int8 in, uint8 out, 2d stride 2 group 2 dilation', x: [1, 4, 9, 9], w: [6, 2, 2, 3], t1: 'int8', t2: 'uint8', xScale: 0.05, yScale: 2, zeros: [-3, 7, 255], attrs: { strides: [2, 2], group: 2, dilations: [2, 1] } },
  { name: 'int8 1d same_upper, zero points at the ends', x: [2, 2, 11], w: [3, 2, 3], t1: 'int8', t2: 'int8', xScale: 0.1, yScale: 0.9, zeros: [-128, 127, -128], attrs: { auto_pad: 'SAME_UPPER' } },
  { name: 'uint8 3d k2 bias', x: [1, 2, 4, 3, 5], w: [2, 2, 2, 2, 2], t1: 'uint8', t2: 'int8', xScale: 0.01, yScale: 0.05, zeros: [0, 255, 0], bias: true, attrs: {} },
  // y_scale small: most outputs saturate, at both ends of int8 with a bias of both signs
  { name: 'saturation on both sides', x: [1, 3, 5, 5], w: [4, 3, 3, 3], t1: 'uint8', t2: 'int8', xScale: 0.5, yScale: 0.01, zeros: [128, 128, 0], bias: true, attrs: { pads: [1, 1, 1, 1] } },
];

const size = (d: number[]) => d.reduce((a, b) => a * b, 1);

function inputs(c: QCase) {
  const r = seededRandom(c.name.length * 7 + 1);
  const [lo, hi] = RANGE[c.t1];
  const ints = (n: number) => Float64Array.from({ length: n }, () => lo + Math.floor((hi - lo + 1) * r()));
  const cout = c.w[0];
  return {
    X: { dims: c.x, data: ints(size(c.x)), elemType: CODE[c.t1] },
    W: { dims: c.w, data: ints(size(c.w)), elemType: CODE[c.t1] },
    // -2000 to 6000 in units of x_scale: both signs, and above most distances
    B: c.bias ? { dims: [cout], data: Float64Array.from({ length: cout }, () => Math.round(8000 * r() - 2000)), elemType: 6 } : undefined,
  };
}

function scalar(v: number, elemType: number): NdArray {
  return { dims: [], data: Float64Array.of(v), elemType };
}

function opInputs(c: QCase) {
  const { X, W, B } = inputs(c);
  const [xz, wz, yz] = c.zeros;
  return [X, scalar(c.xScale, 1), scalar(xz, CODE[c.t1]), W, scalar(wz, CODE[c.t1]), scalar(c.yScale, 1), scalar(yz, CODE[c.t2]), B];
}

/** The oracle: the brute-force L1Conv on X - x_zero, W - w_zero (exact in float64), requantised. */
function oracle(c: QCase): number[] {
  return oracleWithDims(c).data;
}

function oracleWithDims(c: QCase): { dims: number[]; data: number[] } {
  const { X, W, B } = inputs(c);
  const [xz, wz, yz] = c.zeros;
  const shift = (t: NdArray, z: number) => ({ dims: t.dims, data: t.data.map((v) => v - z) });
  const acc = l1ConvOracle(shift(X, xz), shift(W, wz), B, { kernel_shape: c.w.slice(2), ...c.attrs });
  const [lo, hi] = RANGE[c.t2];
  const data = Array.from(acc.data, (v) => {
    const q = (v * c.xScale) / c.yScale;
    const r = Math.round(q) - (Math.abs(q % 1) === 0.5 && Math.round(q) % 2 !== 0 ? 1 : 0);
    return Math.min(hi, Math.max(lo, r + yz));
  });
  return { dims: acc.dims, data };
}

/** A model of one QLinearL1Conv node (its attributes written explicitly) and its function body. */
function bodyModel(c: QCase): ModelProto {
  const ins = opInputs(c);
  const names = ['X', 'x_scale', 'x_zero_point', 'W', 'w_zero_point', 'y_scale', 'y_zero_point', 'B'];
  const dtype = (t: number) => (t === 1 ? 'float32' : t === 2 ? 'uint8' : t === 3 ? 'int8' : 'int32');
  const inits: TensorProto[] = ins.slice(1).flatMap((t, i) => (t ? [tensorToProto(makeTensor(dtype(t.elemType ?? 1), t.dims, t.data), names[i + 1])] : []));
  const a = { ...qLinearL1Conv.parse([], 'n'), ...c.attrs } as L1ConvAttrs;
  const attribute = l1ConvExplicitAttributes(a, { node: 'n', inputs: [{ elemType: 1, shape: c.x }, { elemType: 1, shape: c.w }], constants: [], present: [true, true] });
  if (typeof attribute === 'string') throw new Error(attribute);
  const vi = (name: string, elem: number, dims: readonly (number | string | null)[]) => ({
    name,
    type: { tensor_type: { elem_type: elem, shape: { dim: dims.map((d) => ({ dim_value: d as number })) } } },
  });
  return {
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }, { domain: 'com.lponnx', version: 1 }],
    graph: {
      name: 'q',
      node: [{ name: 'n', op_type: 'QLinearL1Conv', domain: 'com.lponnx', input: names.filter((_, i) => ins[i]), output: ['Y'], attribute }],
      initializer: inits,
      input: [vi('X', CODE[c.t1], c.x)],
      // Y's type and dims from the case and the oracle, not from the module's shape inference
      output: [vi('Y', CODE[c.t2], oracleWithDims(c).dims)],
    },
    functions: [qLinearL1ConvBody({ opset: 17, name: 'QLinearL1Conv', overload: '', bias: !!c.bias, autoPad: a.auto_pad })],
  };
}

describe('QLinearL1Conv: ops/ module', () => {
  test.each(CASES.map((c) => [c.name, c]))('reference equals the oracle exactly: %s', (_, c) => {
    const a = { ...qLinearL1Conv.parse([], 'n'), ...c.attrs } as L1ConvAttrs;
    const got = qLinearL1Conv.reference(a, opInputs(c), 'n');
    expect(Array.from(got.data)).toEqual(oracle(c));
    expect(got.elemType).toBe(CODE[c.t2]);
  });

  test('the saturation case reaches both ends of int8', () => {
    const want = oracle(CASES[4]);
    expect(want).toContain(-128);
    expect(want).toContain(127);
  });

  test.each(CASES.map((c) => [c.name, c]))('function body on onnxruntime-node within 1: %s', async (_, c) => {
    const want = oracle(c);
    const { X } = inputs(c);
    const out = await runOrt('ort', encodeModel(bodyModel(c)), { X: makeTensor(c.t1, c.x, X.data) });
    const got = Array.from(out.Y.data as Uint8Array | Int8Array, Number);
    expect(out.Y.dtype).toBe(c.t2);
    got.forEach((g, i) => {
      if (Math.abs(g - want[i]) > 1) throw new Error(`${c.name}: index ${i}: got ${g}, expected ${want[i]} (within 1)`);
    });
  });

  describe('errors name the node and what was expected', () => {
    const c = CASES[0];
    const a = { ...qLinearL1Conv.parse([], 'n'), ...c.attrs } as L1ConvAttrs;
    const withInput = (i: number, t: NdArray) => opInputs(c).map((v, j) => (j === i ? t : v));
    test.each([
      ['x_scale 0', withInput(1, scalar(0, 1)), "QLinearL1Conv node 'n': x_scale = 0; a scale must be > 0 and finite"],
      ['y_scale NaN', withInput(5, scalar(Number.NaN, 1)), "QLinearL1Conv node 'n': y_scale = NaN; a scale must be > 0 and finite"],
      ['y_scale infinite', withInput(5, scalar(Infinity, 1)), "QLinearL1Conv node 'n': y_scale = Infinity; a scale must be > 0 and finite"],
      ['x_zero_point of another type', withInput(2, scalar(0, 3)), "QLinearL1Conv node 'n': inputs X, x_zero_point, W and w_zero_point must have one element type (T1): x_zero_point is int8, not uint8"],
      ['x_zero_point of two values', withInput(2, { dims: [2], data: Float64Array.of(1, 2), elemType: 2 }), "QLinearL1Conv node 'n': input x_zero_point must be a scalar or [1], got [2]"],
      ['float X', withInput(0, { ...inputs(c).X, elemType: 1 }), "QLinearL1Conv node 'n': input X must be uint8 or int8 (T1), got float32"],
      ['B of int8', withInput(7, { dims: [4], data: new Float64Array(4), elemType: 3 }), "QLinearL1Conv node 'n': input B must be int32, got int8"],
    ] as const)('%s', (_, ins, message) => {
      expect(() => qLinearL1Conv.reference(a, [...ins], 'n')).toThrow(message);
    });

    test('more taps than the int32 accumulator holds exactly', () => {
      const types = [2, 1, 2, 2, 2, 1, 2].map((elemType, i) => ({ elemType, shape: i === 0 ? [1, MAX_TAPS + 1, 1] : i === 3 ? [1, MAX_TAPS + 1, 1] : [] }));
      expect(() => qLinearL1Conv.inferShape(qLinearL1Conv.parse([], 'n'), { node: 'n', inputs: types, constants: [], present: types.map(() => true) })).toThrow(
        `QLinearL1Conv node 'n': C_in / group x kernel = ${MAX_TAPS + 1} taps per output; at most 2^22 = ${MAX_TAPS} keep the int32 accumulator exact`,
      );
    });
  });
});
