import type { AttributeProto, FunctionProto } from '../src/onnx/proto';
import { checkAttributeValues, LpOpError, parseAttributes } from './attributes';
import { BodyBuilder } from './body';
import { INTEGER_RANGES, product, roundHalfEven, typeName } from './common';
import type { Dim } from './geometry';
import { convShape, emitNegDistanceByReference, l1Conv, l1ConvAttributes, type L1ConvAttrs, l1ConvExplicitAttributes, sharedConvBody } from './l1-conv';
import type { FunctionBodyOptions, NdArray, NodeContext, OpDefinition, ValueType } from './types';

const attributes = l1ConvAttributes;

const doc = `8-bit quantised l1 convolution in the form of ONNX QLinearConv: X and W share one scale, so
the l1 distance of their integers is exact (int32):
  x = X - x_zero_point,  w = W - w_zero_point
  acc[n, co, o] = B[co] - sum_{ci in group of co} sum_k | xpad[n, ci, o * s + k * d] - w[co, ci', k] |
  Y = saturate(round_half_to_even(acc * x_scale / y_scale) + y_zero_point)
(a padded position has x = 0, the real value 0). Geometry and attributes as L1Conv.`;

const OP = 'QLinearL1Conv';
const UINT8 = 2;
const INT8 = 3;
const INT32 = 6;
/** the int32 accumulator is exact while C_in / group * k1 * k2 * k3 (x 255 at most each) stays within 2^22 */
export const MAX_TAPS = 2 ** 22;

const INPUTS = ['X', 'x_scale', 'x_zero_point', 'W', 'w_zero_point', 'y_scale', 'y_zero_point', 'B'] as const;
const is8Bit = (t: number) => t === UINT8 || t === INT8;
const scalarShape = (s: readonly Dim[]) => s.length === 0 || (s.length === 1 && (s[0] === 1 || s[0] === null || typeof s[0] === 'string'));

function checkTypes(ctx: NodeContext): { t1: number; t2: number } {
  const { node } = ctx;
  for (let i = 0; i < 7; i++) if (!ctx.present[i]) throw new LpOpError(OP, node, `input ${INPUTS[i]} is required`);
  const type = (i: number) => ctx.inputs[i]?.elemType ?? 0;
  const t1 = type(0) || type(3) || type(2) || type(4);
  for (const i of [0, 2, 3, 4]) {
    const t = type(i);
    if (!t) continue;
    if (!is8Bit(t)) throw new LpOpError(OP, node, `input ${INPUTS[i]} must be uint8 or int8 (T1), got ${typeName(t)}`);
    if (t !== t1) throw new LpOpError(OP, node, `inputs X, x_zero_point, W and w_zero_point must have one element type (T1): ${INPUTS[i]} is ${typeName(t)}, not ${typeName(t1)}`);
  }
  for (const i of [1, 5]) {
    const t = type(i);
    if (t && t !== 1) throw new LpOpError(OP, node, `input ${INPUTS[i]} must be float32, got ${typeName(t)}`);
  }
  const t2 = type(6);
  if (t2 && !is8Bit(t2)) throw new LpOpError(OP, node, `input y_zero_point must be uint8 or int8 (T2), got ${typeName(t2)}`);
  if (ctx.present[7] && type(7) && type(7) !== INT32) throw new LpOpError(OP, node, `input B must be int32, got ${typeName(type(7))}`);
  for (const i of [1, 2, 4, 5, 6]) {
    const s = ctx.inputs[i]?.shape;
    if (s && !scalarShape(s)) throw new LpOpError(OP, node, `input ${INPUTS[i]} must be a scalar or [1], got [${s}]`);
  }
  return { t1, t2 };
}

/** The scales (given as values) are > 0 and finite. */
function checkScale(node: string, name: string, v: NdArray | undefined): void {
  if (!v) return;
  if (v.data.length !== 1) throw new LpOpError(OP, node, `input ${name} must be a scalar or [1], got [${v.dims}]`);
  const s = v.data[0];
  if (!(s > 0) || !Number.isFinite(s)) throw new LpOpError(OP, node, `${name} = ${s}; a scale must be > 0 and finite`);
}

function checkTaps(node: string, ws: readonly Dim[] | undefined): void {
  if (!ws || !ws.slice(1).every((d) => typeof d === 'number')) return;
  const taps = product(ws.slice(1) as number[]);
  if (taps > MAX_TAPS) throw new LpOpError(OP, node, `C_in / group x kernel = ${taps} taps per output; at most 2^22 = ${MAX_TAPS} keep the int32 accumulator exact`);
}

function inferShape(a: L1ConvAttrs, ctx: NodeContext): ValueType {
  const { t2 } = checkTypes(ctx);
  const ws = ctx.inputs[3]?.shape ?? ctx.constants[3]?.dims;
  const shape = convShape(OP, a, ctx.node, ctx.inputs[0]?.shape, ws, ctx.present[7], ctx.inputs[7]?.shape);
  checkTaps(ctx.node, ws);
  return shape ? { elemType: t2, shape } : { elemType: t2 };
}

function validate(a: L1ConvAttrs, ctx: NodeContext): void {
  inferShape(a, ctx);
  checkScale(ctx.node, 'x_scale', ctx.constants[1]);
  checkScale(ctx.node, 'y_scale', ctx.constants[5]);
}

/** Exact integers: the float64 L1Conv reference is exact on them (every sum is below 2^53). */
function reference(a: L1ConvAttrs, inputs: (NdArray | undefined)[], node: string): NdArray {
  const [X, xScale, xZero, W, wZero, yScale, yZero, B] = inputs;
  const ctx: NodeContext = {
    node,
    inputs: inputs.map((t) => (t ? { elemType: t.elemType ?? 0, shape: t.dims } : undefined)),
    constants: inputs,
    present: inputs.map((t) => t !== undefined),
  };
  validate(a, ctx);
  const t2 = (yZero as NdArray).elemType || UINT8;
  const shift = (t: NdArray, z: NdArray): NdArray => ({ dims: t.dims, data: t.data.map((v) => v - z.data[0]) });
  const acc = l1Conv.reference(a, [shift(X as NdArray, xZero as NdArray), shift(W as NdArray, wZero as NdArray), B], node);
  const [lo, hi] = INTEGER_RANGES[t2];
  const ratio = (xScale as NdArray).data[0];
  const ys = (yScale as NdArray).data[0];
  const yz = (yZero as NdArray).data[0];
  const data = acc.data.map((v) => Math.min(hi, Math.max(lo, roundHalfEven((v * ratio) / ys) + yz)));
  return { dims: acc.dims, data, elemType: t2 };
}

/**
 * The portable form: DequantizeLinear of X and of W with x_scale, the float L1Conv (every
 * attribute by reference, so one body serves every node), B as B * x_scale, QuantizeLinear.
 */
export function qLinearL1ConvBody(o: FunctionBodyOptions & { bias: boolean; autoPad?: string }): FunctionProto {
  const b = new BodyBuilder(o.opset);
  const x = b.op('DequantizeLinear', ['X', 'x_scale', 'x_zero_point']);
  const w = b.op('DequantizeLinear', ['W', 'x_scale', 'w_zero_point']);
  const d = emitNegDistanceByReference(b, x, w, o.autoPad);
  let y = d.y;
  if (o.bias) {
    const bias = b.op('Mul', [b.op('Cast', ['B'], [{ name: 'to', type: 2, i: 1 }]), 'x_scale']);
    y = b.op('Add', [y, b.op('Reshape', [bias, b.concat([b.ints([-1]), d.ones])])]);
  }
  b.op('QuantizeLinear', [y, 'y_scale', 'y_zero_point']);
  b.nodes[b.nodes.length - 1].output = ['Y'];
  const inputs = ['X', 'x_scale', 'x_zero_point', 'W', 'w_zero_point', 'y_scale', 'y_zero_point', ...(o.bias ? ['B'] : [])];
  return b.finish(o.name, o.overload, inputs, ['Y'], 'Function body of com.lponnx QLinearL1Conv: every attribute by reference');
}

function bodyKey(a: L1ConvAttrs, ctx: NodeContext): string {
  return `QLinearL1Conv(auto_pad=${a.auto_pad},B=${ctx.present[7] ? 1 : 0})`;
}

export const qLinearL1Conv: OpDefinition<typeof attributes> = {
  opType: 'QLinearL1Conv',
  doc,
  inputs: [
    { name: 'X', doc: 'T1 (uint8 or int8), [N, C_in, D1 (, D2 (, D3))]' },
    { name: 'x_scale', doc: 'float, [] or [1]: the scale of X and of W' },
    { name: 'x_zero_point', doc: 'T1, [] or [1]' },
    { name: 'W', doc: 'T1, [C_out, C_in / group, k1 (, k2 (, k3))]' },
    { name: 'w_zero_point', doc: 'T1, [] or [1]' },
    { name: 'y_scale', doc: 'float, [] or [1]' },
    { name: 'y_zero_point', doc: 'T2 (uint8 or int8), [] or [1]' },
    { name: 'B', optional: true, doc: 'int32, [C_out], in units of x_scale' },
  ],
  outputs: [{ name: 'Y', doc: 'T2, [N, C_out, O1 (, O2 (, O3))]' }],
  attributes,
  parse: (attrs: readonly AttributeProto[], node: string) => parseAttributes(attributes, attrs, OP, node),
  checkAttributes: (a: L1ConvAttrs, node: string) => checkAttributeValues(attributes, a, OP, node),
  validate,
  inferShape,
  reference,
  bodyKey,
  // one body for every node: the attributes by reference, so the node must carry them explicitly
  // (shared.explicitAttributes), as the shared body's nodes do
  functionBody: (a, ctx, o) => qLinearL1ConvBody({ ...o, bias: ctx.present[7], autoPad: a.auto_pad }),
  shared: {
    explicitAttributes: (a, ctx) => l1ConvExplicitAttributes(a, { ...ctx, inputs: [ctx.inputs[0], ctx.inputs[3]], constants: [ctx.constants[0], ctx.constants[3]] }),
    body: (nodes, o) => sharedConvBody(nodes, 7, (bias, autoPad) => qLinearL1ConvBody({ ...o, bias, autoPad })),
  },
};
