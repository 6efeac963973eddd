// Every error of ops.md gives one clear message naming the node and what was expected.
// Static errors surface at export (shapes, attributes, constant weights); run-time ones
// (fed weights / exponents) in the reference. Texts are pinned.
import { attributeProto } from '../ops/attributes';
import { lpOp } from '../ops/index';
import { exportDualPath } from '../src/export/dual-path';
import { valueInfo } from '../src/graph/model';
import type { AttributeProto, ModelProto } from '../src/onnx/proto';
import { makeTensor, tensorToProto } from '../src/onnx/tensor';

interface In {
  name: string;
  dims: number[];
  /** constant initializer values; absent: a graph input */
  data?: number[];
}

function model(op: string, inputs: In[], attrs: AttributeProto[], file = 'm.onnx'): () => ModelProto {
  return () => {
    const m: ModelProto = {
      ir_version: 10,
      opset_import: [
        { domain: '', version: 18 },
        { domain: 'com.lponnx', version: 1 },
      ],
      graph: {
        name: 'g',
        node: [{ name: 'n1', op_type: op, domain: 'com.lponnx', input: inputs.map((i) => i.name), output: ['Y'], attribute: attrs }],
        input: inputs.filter((i) => !i.data && i.name).map((i) => valueInfo(i.name, { elemType: 1, shape: i.dims })),
        initializer: inputs.filter((i) => i.data).map((i) => tensorToProto(makeTensor('float32', i.dims, i.data), i.name)),
        output: [valueInfo('Y', { elemType: 1 })],
      },
    };
    return exportDualPath(m, { what: file }).model;
  };
}

const F = (n: string, v: number) => attributeProto(n, 'float', v);
const I = (n: string, v: number) => attributeProto(n, 'int', v);
const IS = (n: string, v: number[]) => attributeProto(n, 'ints', v);
const S = (n: string, v: string) => attributeProto(n, 'string', v);
const X2 = { name: 'X', dims: [2, 3] };
const W = (data: number[], dims = [2, 3]) => ({ name: 'W', dims, data });
const P = (data: number[]) => ({ name: 'P', dims: [data.length], data });

describe('LpNorm errors', () => {
  const ok = [1, 1, 1, 1, 1, 1];
  test.each([
    ['W < 0', [X2, W([1, -0.5, 1, 1, 1, 1])], [], "m.onnx: LpNorm node 'n1': W[0,1] = -0.5 is negative; weights must be >= 0"],
    ['W NaN', [X2, W([1, 1, 1, 1, Number.NaN, 1])], [], "m.onnx: LpNorm node 'n1': W[1,1] is NaN; weights must be >= 0"],
    ['P <= 0', [X2, W(ok), P([2, 0])], [], "m.onnx: LpNorm node 'n1': P[1] = 0; exponents must be > 0 or +inf"],
    ['P NaN', [X2, W(ok), P([Number.NaN, 2])], [], "m.onnx: LpNorm node 'n1': P[0] is NaN; exponents must be > 0 or +inf"],
    ['attribute p <= 0', [X2, W(ok)], [F('p', -1)], "m.onnx: LpNorm node 'n1': attribute p = -1; must be > 0 (or +inf)"],
    ['K mismatch', [X2, W([1, 1, 1, 1], [2, 2])], [], "m.onnx: LpNorm node 'n1': K of X (3) does not equal K of W (2)"],
    ['P length', [X2, W(ok), P([2, 2, 2])], [], "m.onnx: LpNorm node 'n1': P has length 3; expected M = 2, 1 or a scalar"],
    [
      'mean with zero row',
      [X2, W([0, 0, 0, 1, 1, 1]), P([2, 2])],
      [I('mean', 1)],
      "m.onnx: LpNorm node 'n1': mean = 1 but row 0 of W sums to 0 (the power mean is undefined)",
    ],
    ['mode', [X2, W(ok)], [S('mode', 'square')], 'm.onnx: LpNorm node \'n1\': attribute mode = \'square\'; must be "abs" or "clamp"'],
    ['unknown attribute', [X2, W(ok)], [F('q', 2)], "m.onnx: LpNorm node 'n1': unknown attribute 'q' (expected one of p, eps, sum_eps, mean, mode, mode_index)"],
    ['attribute type', [X2, W(ok)], [S('p', 'two')], "m.onnx: LpNorm node 'n1': attribute 'p' must be float, got string"],
    ['W rank', [X2, W(ok, [6])], [], "m.onnx: LpNorm node 'n1': W must have rank 2 [M, K], got rank 1"],
  ] as [string, In[], AttributeProto[], string][])('%s', (_name, inputs, attrs, message) => {
    expect(model('LpNorm', inputs, attrs)).toThrow(message);
  });

  test('run-time W < 0 and P <= 0 in the reference name the index', () => {
    const op = lpOp('LpNorm');
    const a = op?.parse([], 'n1') as never;
    const x = { dims: [1, 2], data: Float64Array.from([1, 2]) };
    expect(() => op?.reference(a, [x, { dims: [1, 2], data: Float64Array.from([1, -2]) }], 'n1')).toThrow(
      "LpNorm node 'n1': W[0,1] = -2 is negative; weights must be >= 0",
    );
    expect(() => op?.reference(a, [x, { dims: [1, 2], data: Float64Array.from([1, 2]) }, { dims: [1], data: Float64Array.from([-3]) }], 'n1')).toThrow(
      "LpNorm node 'n1': P[0] = -3; exponents must be > 0 or +inf",
    );
  });
});

describe('LpPool errors', () => {
  const X = { name: 'X', dims: [1, 2, 5, 5] };
  const k = IS('kernel_shape', [2, 2]);
  test.each([
    ['P <= 0', [X, P([1, -1])], [k], "m.onnx: LpPool node 'n1': P[1] = -1; exponents must be > 0 or +inf"],
    ['P NaN', [X, P([Number.NaN, 1])], [k], "m.onnx: LpPool node 'n1': P[0] is NaN; exponents must be > 0 or +inf"],
    ['P length', [X, P([1, 2, 3])], [k], "m.onnx: LpPool node 'n1': P has length 3; expected C = 2, 1 or a scalar"],
    ['kernel rank', [X], [IS('kernel_shape', [2])], "m.onnx: LpPool node 'n1': attribute kernel_shape has 1 values; expected 2 (one per spatial axis) for 2 spatial dims"],
    ['kernel 0', [X], [IS('kernel_shape', [0, 2])], "m.onnx: LpPool node 'n1': attribute kernel_shape[0] = 0; must be >= 1"],
    ['stride 0', [X], [k, IS('strides', [1, 0])], "m.onnx: LpPool node 'n1': attribute strides[1] = 0; must be >= 1"],
    ['dilation 0', [X], [k, IS('dilations', [0, 1])], "m.onnx: LpPool node 'n1': attribute dilations[0] = 0; must be >= 1"],
    [
      'output < 1',
      [X],
      [IS('kernel_shape', [6, 2])],
      "m.onnx: LpPool node 'n1': output dim 0 would be 0 (< 1): input 5, kernel 6, stride 1, dilation 1, pads 0+0",
    ],
    ['auto_pad', [X], [k, S('auto_pad', 'SAME')], 'm.onnx: LpPool node \'n1\': attribute auto_pad = \'SAME\'; must be one of "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"'],
    ['mode', [X], [k, S('mode', 'relu')], 'm.onnx: LpPool node \'n1\': attribute mode = \'relu\'; must be "abs" or "clamp"'],
    ['no kernel', [X], [], "m.onnx: LpPool node 'n1': required attribute kernel_shape is missing (it may be omitted only when global = 1)"],
    ['rank', [{ name: 'X', dims: [2, 3] }], [k], "m.onnx: LpPool node 'n1': X must be [N, C, D1 (, D2 (, D3))], got rank 2"],
  ] as [string, In[], AttributeProto[], string][])('%s', (_name, inputs, attrs, message) => {
    expect(model('LpPool', inputs, attrs)).toThrow(message);
  });
});

describe('L1Conv errors', () => {
  const X = { name: 'X', dims: [1, 4, 5, 5] };
  const w = (dims: number[]) => ({ name: 'W', dims, data: new Array(dims.reduce((a, b) => a * b, 1)).fill(0.5) });
  test.each([
    ['channel mismatch', [X, w([2, 3, 3, 3])], [], "m.onnx: L1Conv node 'n1': channel mismatch: X has C_in = 4 but W has 3 channels per group x group 1"],
    ['group divides C_in', [X, w([3, 2, 3, 3])], [I('group', 3)], "m.onnx: L1Conv node 'n1': C_in = 4 is not divisible by group = 3"],
    ['group divides C_out', [X, w([3, 2, 3, 3])], [I('group', 2)], "m.onnx: L1Conv node 'n1': C_out = 3 is not divisible by group = 2"],
    [
      'kernel_shape vs W',
      [X, w([2, 4, 3, 3])],
      [IS('kernel_shape', [2, 2])],
      "m.onnx: L1Conv node 'n1': kernel_shape [2,2] disagrees with W's spatial dims [3,3]",
    ],
    ['rank mismatch', [X, w([2, 4, 3])], [], "m.onnx: L1Conv node 'n1': rank mismatch: X has rank 4, W has rank 3"],
    ['output < 1', [X, w([2, 4, 6, 6])], [], "m.onnx: L1Conv node 'n1': output dim 0 would be 0 (< 1): input 5, kernel 6, stride 1, dilation 1, pads 0+0"],
    ['bias shape', [X, w([2, 4, 3, 3]), { name: 'B', dims: [3], data: [0, 0, 0] }], [], "m.onnx: L1Conv node 'n1': B must be [C_out] = [2], got [3]"],
  ] as [string, In[], AttributeProto[], string][])('%s', (_name, inputs, attrs, message) => {
    expect(model('L1Conv', inputs, attrs)).toThrow(message);
  });
});

describe('model-level errors', () => {
  test('missing weights: an input nothing provides', () => {
    expect(model('LpNorm', [X2, { name: 'W_missing', dims: [2, 3] }].map((i, k) => (k === 1 ? { ...i, name: '' } : i)), [])).toThrow(
      "m.onnx: LpNorm node 'n1': inputs X and W are required",
    );
    const m = model('LpNorm', [X2, W([1, 1, 1, 1, 1, 1])], []);
    const dangling = () => {
      const built = m();
      const n = built.graph?.node?.[0];
      if (n?.input) n.input[1] = 'lp.weight';
      return exportDualPath(built, { what: 'm.onnx' });
    };
    expect(dangling).toThrow("m.onnx: node 'n1' (LpNorm): input 'lp.weight' is not a graph input, an initializer or any node's output (missing weights?)");
  });
  test('unknown op in the lp domain', () => {
    expect(model('LpSomething', [X2], [])).toThrow("m.onnx: node 'n1': unknown op 'LpSomething' in domain com.lponnx (expected LpNorm, LpPool or L1Conv)");
  });
  test('body opset below 13', () => {
    const m = model('LpNorm', [X2, W([1, 1, 1, 1, 1, 1])], [])();
    expect(() => exportDualPath(m, { what: 'm.onnx', opset: 12 })).toThrow('m.onnx: ONNX opset 12 is not supported for function bodies (expected 13 to 23)');
  });
});
