import type { AttributeProto, FunctionProto } from '../src/onnx/proto';
import { type AttrSchema, type AttrValues, checkAttributeLengths, checkAttributeValues, LpOpError, parseAttributes, perAxis } from './attributes';
import { attr, BodyBuilder, emitUnfoldFilters, emitWindow, emitWindowByReference } from './body';
import { FLOAT, nodeElemType, product, sameDim, sameValue } from './common';
import { AUTO_PADS, type AutoPad, type AxisWindow, type Dim, GeometryError, outputDims, resolveWindow, WINDOW_ATTRIBUTES, type WindowAttrs, windowOffsets } from './geometry';
import type { FunctionBodyOptions, NdArray, NodeContext, OpDefinition, ValueType } from './types';

const attributes = {
  kernel_shape: { kind: 'ints', length: 'per-axis', min: 1, doc: 'inferred from W when absent' },
  ...WINDOW_ATTRIBUTES,
  group: { kind: 'int', default: 1, min: 1, doc: 'C_in and C_out are divisible by group' },
} as const satisfies AttrSchema;

export type L1ConvAttrs = AttrValues<typeof attributes>;
/** L1Conv's attribute schema: QLinearL1Conv's too (ops.md: "as L1Conv"). */
export const l1ConvAttributes = attributes;

const doc = `l1-distance ("adder") convolution with the geometry of ONNX Conv (1 to 3 spatial dims): the
multiply-accumulate is replaced by the negative l1 distance between each input patch and each filter.
Padded positions have value 0, so they contribute |W|.
  Y[n, co, o] = B[co] - sum_{ci in group of co} sum_k | Xpadded[n, ci, o * s + k * d] - W[co, ci', k] |`;

const OP = 'L1Conv';

function windowAttrs(a: L1ConvAttrs, kernel: number[]): WindowAttrs {
  return { kernel_shape: kernel, strides: a.strides, pads: a.pads, dilations: a.dilations, auto_pad: a.auto_pad };
}

/** Kernel shape: the attribute, checked against W; or W's spatial dims. */
function kernelOf(a: L1ConvAttrs, wShape: readonly Dim[] | undefined, node: string, op = OP): number[] | undefined {
  const fromW = wShape?.slice(2);
  if (a.kernel_shape) {
    if (fromW && fromW.length !== a.kernel_shape.length) {
      throw new LpOpError(op, node, `kernel_shape [${a.kernel_shape}] has ${a.kernel_shape.length} dims but W has ${fromW.length} spatial dims`);
    }
    fromW?.forEach((d, i) => {
      if (typeof d === 'number' && d !== a.kernel_shape?.[i]) {
        throw new LpOpError(op, node, `kernel_shape [${a.kernel_shape}] disagrees with W's spatial dims [${fromW}]`);
      }
    });
    return a.kernel_shape;
  }
  if (fromW?.every((d) => typeof d === 'number')) return fromW as number[];
  return undefined;
}

function validate(a: L1ConvAttrs, ctx: NodeContext): void {
  inferShape(a, ctx);
}

function inferShape(a: L1ConvAttrs, ctx: NodeContext): ValueType {
  const { node } = ctx;
  const [x, w, bias] = ctx.inputs;
  if (!ctx.present[0] || !ctx.present[1]) throw new LpOpError(OP, node, 'inputs X and W are required');
  const elemType = nodeElemType(OP, node, [['X', x], ['W', w], ['B', ctx.present[2] ? bias : undefined]]) || FLOAT;
  const shape = convShape(OP, a, node, x?.shape, w?.shape, ctx.present[2], bias?.shape);
  return shape ? { elemType, shape } : { elemType };
}

/**
 * The checks of X's, W's and B's shapes against the attributes and each other, and Y's shape
 * (undefined while X's is unknown): L1Conv's and QLinearL1Conv's geometry, errors named by `op`.
 */
export function convShape(
  op: string,
  a: L1ConvAttrs,
  node: string,
  xs: readonly Dim[] | undefined,
  ws: readonly Dim[] | undefined,
  hasBias: boolean,
  bs: readonly Dim[] | undefined,
): Dim[] | undefined {
  checkAttributeValues(attributes, a, op, node);
  if (xs && (xs.length < 3 || xs.length > 5)) {
    throw new LpOpError(op, node, `X must be [N, C_in, D1 (, D2 (, D3))], got rank ${xs.length}`);
  }
  if (ws && (ws.length < 3 || ws.length > 5)) {
    throw new LpOpError(op, node, `W must be [C_out, C_in / group, k1 (, k2 (, k3))], got rank ${ws.length}`);
  }
  if (xs && ws && xs.length !== ws.length) {
    throw new LpOpError(op, node, `rank mismatch: X has rank ${xs.length}, W has rank ${ws.length}`);
  }
  if (ws && typeof ws[0] === 'number' && ws[0] % a.group !== 0) {
    throw new LpOpError(op, node, `C_out = ${ws[0]} is not divisible by group = ${a.group}`);
  }
  if (xs && typeof xs[1] === 'number') {
    if (xs[1] % a.group !== 0) throw new LpOpError(op, node, `C_in = ${xs[1]} is not divisible by group = ${a.group}`);
    if (ws && typeof ws[1] === 'number' && ws[1] * a.group !== xs[1]) {
      throw new LpOpError(op, node, `channel mismatch: X has C_in = ${xs[1]} but W has ${ws[1]} channels per group x group ${a.group}`);
    }
  }
  const spatialRank = xs ? xs.length - 2 : ws ? ws.length - 2 : undefined;
  if (spatialRank !== undefined) checkAttributeLengths(attributes, a, op, node, spatialRank);
  if (hasBias && bs && (bs.length !== 1 || !sameDim(bs[0], ws?.[0]))) {
    throw new LpOpError(op, node, `B must be [C_out] = [${ws?.[0] ?? '?'}], got [${bs}]`);
  }
  const kernel = kernelOf(a, ws, node, op);
  const rank = xs ? xs.length - 2 : ws ? ws.length - 2 : kernel?.length;
  if (kernel && rank !== undefined && kernel.length !== rank) {
    throw new LpOpError(op, node, `kernel_shape has ${kernel.length} dims but X has ${rank} spatial dims`);
  }
  if (!xs) return undefined;
  let out: Dim[];
  try {
    out = kernel ? outputDims('conv', xs.slice(2), windowAttrs(a, kernel)) : xs.slice(2).map(() => null);
  } catch (e) {
    if (e instanceof GeometryError) throw new LpOpError(op, node, e.message);
    throw e;
  }
  return [xs[0], ws ? ws[0] : null, ...out];
}

function reference(a: L1ConvAttrs, inputs: (NdArray | undefined)[], node: string): NdArray {
  const [X, W, B] = inputs;
  if (!X || !W) throw new LpOpError(OP, node, 'inputs X and W are required');
  const ctx: NodeContext = {
    node,
    inputs: inputs.map((t) => (t ? { elemType: 1, shape: t.dims } : undefined)),
    constants: [],
    present: inputs.map((t) => t !== undefined),
  };
  inferShape(a, ctx);
  const axes = l1ConvAxes(a, W.dims, X.dims.slice(2), node);
  const windows = windowOffsets(axes);
  const [N, Cin] = X.dims;
  const Cout = W.dims[0];
  const cg = Cin / a.group;
  const coPerGroup = Cout / a.group;
  const inSize = product(X.dims.slice(2));
  const kSize = product(axes.map((g) => g.kernel));
  const outSpatial = axes.map((g) => g.output);
  const y = new Float64Array(N * Cout * windows.length);
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Cout; co++) {
      const g = Math.floor(co / coPerGroup);
      windows.forEach((taps, o) => {
        let s = 0;
        for (let ci = 0; ci < cg; ci++) {
          const xBase = (n * Cin + g * cg + ci) * inSize;
          const wBase = (co * cg + ci) * kSize;
          for (let k = 0; k < kSize; k++) s += Math.abs((taps[k] >= 0 ? X.data[xBase + taps[k]] : 0) - W.data[wBase + k]);
        }
        y[(n * Cout + co) * windows.length + o] = (B ? B.data[co] : 0) - s;
      });
    }
  }
  return { dims: [N, Cout, ...outSpatial], data: y };
}

/** The resolved window of every spatial axis (kernel from W when kernel_shape is absent); kernels take these numbers. */
export function l1ConvAxes(a: L1ConvAttrs, wDims: number[], spatial: number[], node: string): AxisWindow[] {
  const kernel = kernelOf(a, wDims, node) as number[];
  try {
    return resolveWindow('conv', spatial, windowAttrs(a, kernel));
  } catch (e) {
    if (e instanceof GeometryError) throw new LpOpError(OP, node, e.message);
    throw e;
  }
}

function resolvedKernel(a: L1ConvAttrs, ctx: NodeContext): number[] {
  const kernel = kernelOf(a, ctx.inputs[1]?.shape ?? ctx.constants[1]?.dims, ctx.node);
  if (!kernel) throw new LpOpError(OP, ctx.node, 'kernel_shape is absent and the shape of W is unknown');
  return kernel;
}

function bodyKey(a: L1ConvAttrs, ctx: NodeContext): string {
  const kernel = resolvedKernel(a, ctx);
  const parts = Object.keys(attributes).map((k) => `${k}=${JSON.stringify(a[k as keyof L1ConvAttrs]) ?? '-'}`);
  return `L1Conv(${parts.join(',')},kernel=${kernel},B=${ctx.present[2] ? 1 : 0})`;
}

/**
 * A Conv with one-hot filters lays every window out along channels ([N*C_in, taps, O...]);
 * ReduceL1 of (windows - filters) over a group's channels and taps gives the distance.
 */
function functionBody(a: L1ConvAttrs, ctx: NodeContext, o: FunctionBodyOptions): FunctionProto {
  const kernel = resolvedKernel(a, ctx);
  const r = kernel.length;
  const taps = product(kernel);
  const b = new BodyBuilder(o.opset);
  const ones = new Array<number>(r).fill(1);
  const w = emitWindow(b, 'X', 'conv', windowAttrs(a, kernel), r);
  const padded = b.op('Pad', ['X', w.pads, b.float([0])]);
  const flat = b.op('Reshape', [padded, b.concat([b.ints([-1, 1]), b.shape(padded, 2)])]);
  const convAttrs = [attr.is('strides', a.strides ?? ones), attr.is('dilations', a.dilations ?? ones)];
  const windows = b.op('Conv', [flat, emitUnfoldFilters(b, kernel)], convAttrs);
  // [N*C_in, taps, O...] -> [N, group, 1, C_in/group * taps, L]
  const cgTaps = b.op('Mul', [b.shape('W', 1, 2), b.ints([taps])]);
  const n = b.shape('X', 0, 1);
  const g = b.ints([a.group]);
  const grouped = b.op('Reshape', [windows, b.concat([n, g, b.ints([1]), cgTaps, b.ints([-1])])]);
  // W [C_out, C_in/group, k...] -> [group, C_out/group, C_in/group * taps, 1]
  const filters = b.op('Reshape', ['W', b.concat([g, b.ints([-1]), cgTaps, b.ints([1])])]);
  const dist = b.reduce('ReduceL1', b.op('Sub', [grouped, filters]), [3], false);
  const outShape = b.concat([n, b.ints([-1]), b.shape(windows, 2)]);
  let y = b.op('Reshape', [b.op('Neg', [dist]), outShape]);
  if (ctx.present[2]) y = b.op('Add', [y, b.op('Reshape', ['B', b.ints([-1, ...ones])])]);
  b.op('Identity', [y]);
  b.nodes[b.nodes.length - 1].output = ['Y'];
  const inputs = ctx.present[2] ? ['X', 'W', 'B'] : ['X', 'W'];
  return b.finish(o.name, o.overload, inputs, ['Y'], `Function body of com.lponnx L1Conv (${o.overload})`);
}

/**
 * One body for every L1Conv node: the geometry comes from the node's own attributes by reference
 * (kernel_shape, strides, pads, dilations, auto_pad and group must all be written on the node), so
 * nodes of any kernel, stride, padding (SAME pads computed from the input's shape), group or rank share it. What depends
 * on attributes alone (the one-hot filters, the pads) is constant once a runtime binds the call, and
 * onnxruntime folds it; each constant chain ends in an op that owns its result (onnxruntime 1.24 to
 * 1.27 keep a folded Reshape's result as a view of a value they then free).
 */
export function l1ConvBodyByReference(o: FunctionBodyOptions & { bias: boolean; autoPad?: string }): FunctionProto {
  const b = new BodyBuilder(o.opset);
  const d = emitNegDistanceByReference(b, 'X', 'W', o.autoPad);
  let y = d.y;
  if (o.bias) y = b.op('Add', [y, b.op('Reshape', ['B', b.concat([b.ints([-1]), d.ones])])]);
  b.op('Identity', [y]);
  b.nodes[b.nodes.length - 1].output = ['Y'];
  return b.finish(o.name, o.overload, o.bias ? ['X', 'W', 'B'] : ['X', 'W'], ['Y'], 'Function body of com.lponnx L1Conv: every attribute by reference');
}

/**
 * -sum |Xpadded - W| over each window, [N, C_out, O...], of the float values x and w, with every
 * attribute of the calling node by reference; `ones` is a 1 per spatial axis (to shape a bias).
 */
export function emitNegDistanceByReference(b: BodyBuilder, x: string, w: string, autoPad: string | undefined): { y: string; ones: string } {
  const win = emitWindowByReference(b, x, 'conv', autoPad);
  const padded = b.op('Pad', [x, win.pads, b.float([0])]);
  const flat = b.op('Reshape', [padded, b.concat([b.ints([-1, 1]), b.shape(padded, 2)])]);
  const windows = b.op('Conv', [flat, win.oneHot], win.convAttrs);
  const taps = b.reduce('ReduceProd', win.kernel, [0], true);
  // [N*C_in, taps, O...] -> [N, group, 1, C_in/group * taps, L]
  const cgTaps = b.op('Mul', [b.shape(w, 1, 2), taps]);
  const n = b.shape(x, 0, 1);
  const g = b.op('Reshape', [b.ref('value_int', 'group'), b.ints([1])]);
  const grouped = b.op('Reshape', [windows, b.concat([n, g, b.ints([1]), cgTaps, b.ints([-1])])]);
  // W [C_out, C_in/group, k...] -> [group, C_out/group, C_in/group * taps, 1]
  const filters = b.op('Reshape', [w, b.concat([g, b.ints([-1]), cgTaps, b.ints([1])])]);
  const dist = b.reduce('ReduceL1', b.op('Sub', [grouped, filters]), [3], false);
  return { y: b.op('Reshape', [b.op('Neg', [dist]), b.concat([n, b.ints([-1]), b.shape(windows, 2)])]), ones: win.ones };
}

/**
 * Every attribute the by-reference body reads, to be written onto the node with the same meaning
 * (kernel_shape from W, 1s and 0s for absent lists, VALID as explicit zero pads).
 */
export function l1ConvExplicitAttributes(a: L1ConvAttrs, ctx: NodeContext): AttributeProto[] {
  const kernel = resolvedKernel(a, ctx);
  const r = kernel.length;
  const autoPad = a.auto_pad === 'VALID' ? 'NOTSET' : (a.auto_pad as AutoPad);
  return [
    attr.is('kernel_shape', kernel),
    attr.is('strides', perAxis(attributes.strides, a.strides, r)),
    attr.is('pads', perAxis(attributes.pads, a.auto_pad === 'VALID' ? undefined : a.pads, r)),
    attr.is('dilations', perAxis(attributes.dilations, a.dilations, r)),
    attr.s('auto_pad', autoPad),
    attr.i('auto_pad_index', AUTO_PADS.indexOf(autoPad)),
    attr.i('group', a.group),
  ];
}

/**
 * The one body of L1Conv or QLinearL1Conv nodes (`biasIndex`: where B is): their B present or absent
 * alike (a body cannot give an absent B a length), auto_pad the same string where they agree.
 */
export function sharedConvBody(
  nodes: readonly { attrs: L1ConvAttrs; ctx: NodeContext }[],
  biasIndex: number,
  make: (bias: boolean, autoPad: string | undefined) => FunctionProto,
): FunctionProto | string {
  const bias = nodes.map((n) => n.ctx.present[biasIndex]);
  if (bias.some((x) => x !== bias[0])) return 'some nodes have a bias B and others none, and the length of B is unknown';
  return make(bias[0], sameValue(nodes.map((n) => n.attrs.auto_pad)));
}

export const l1Conv: OpDefinition<typeof attributes> = {
  opType: 'L1Conv',
  doc,
  inputs: [
    { name: 'X', doc: 'T, [N, C_in, D1 (, D2 (, D3))]' },
    { name: 'W', doc: 'T, [C_out, C_in / group, k1 (, k2 (, k3))]' },
    { name: 'B', optional: true, doc: 'T, [C_out]' },
  ],
  outputs: [{ name: 'Y', doc: 'T, [N, C_out, O1 (, O2 (, O3))]' }],
  attributes,
  parse: (attrs: readonly AttributeProto[], node: string) => parseAttributes(attributes, attrs, OP, node),
  checkAttributes: (a: L1ConvAttrs, node: string) => checkAttributeValues(attributes, a, OP, node),
  validate,
  inferShape,
  reference,
  bodyKey,
  functionBody,
  shared: {
    explicitAttributes: l1ConvExplicitAttributes,
    body: (nodes, o) => sharedConvBody(nodes, 2, (bias, autoPad) => l1ConvBodyByReference({ ...o, bias, autoPad })),
  },
};
