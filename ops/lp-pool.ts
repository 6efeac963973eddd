import type { AttributeProto, FunctionProto } from '../src/onnx/proto';
import { type AttrSchema, type AttrValues, checkAttributeLengths, checkAttributeValues, LpOpError, parseAttributes, twinAttribute, perAxis } from './attributes';
import { attr, BodyBuilder, emitCut, emitMagnitude, emitMagnitudeByReference, emitUnfoldFilters, emitWindow, emitWindowByReference } from './body';
import { FLOAT, checkExponents, checkFloatInput, exponentSource, magnitude, nodeElemType, product, sameValue } from './common';
import { AUTO_PADS, type AutoPad, type AxisWindow, type Dim, GeometryError, outputDims, resolveWindow, TAP_PAD, WINDOW_ATTRIBUTES, type WindowAttrs, windowOffsets } from './geometry';
import type { FunctionBodyOptions, NdArray, NodeContext, OpDefinition, ValueType } from './types';

const attributes = {
  kernel_shape: { kind: 'ints', length: 'per-axis', min: 1, doc: 'window size per spatial axis; required unless global = 1' },
  ...WINDOW_ATTRIBUTES,
  ceil_mode: { kind: 'int', default: 0, oneOf: [0, 1], doc: 'ceil instead of floor for the output size' },
  count_include_pad: { kind: 'int', default: 0, oneOf: [0, 1], doc: 'mean = 1: whether padded positions count in Z' },
  p: { kind: 'float', default: 2.0, above: 0, doc: 'exponent for every channel when input P is absent; > 0 or +inf' },
  eps: { kind: 'float', default: 0.0, min: 0, doc: 'floor on magnitudes' },
  mean: { kind: 'int', default: 0, oneOf: [0, 1], doc: '0: Lp pooling; 1: generalised mean (GeM)' },
  mode: { kind: 'string', default: 'abs', oneOf: ['abs', 'clamp'], doc: '"abs" or "clamp"' },
  mode_index: twinAttribute('mode', ['abs', 'clamp']),
  global: { kind: 'int', default: 0, oneOf: [0, 1], doc: '1: the window is the whole spatial extent' },
} as const satisfies AttrSchema;

export type LpPoolAttrs = AttrValues<typeof attributes>;

/** The attributes of the window, which a global pool (global = 1) does not read. */
export const WINDOW_ONLY_ATTRIBUTES: readonly (keyof typeof attributes)[] = ['kernel_shape', ...(Object.keys(WINDOW_ATTRIBUTES) as (keyof typeof WINDOW_ATTRIBUTES)[]), 'ceil_mode', 'count_include_pad'];

const doc = `Lp pooling / generalised-mean (GeM) pooling over windows of an N-C-spatial tensor (1 to 3 spatial dims),
with the pooling geometry of ONNX AveragePool. Padded positions contribute 0 to the sum.
  Y[n, c, o] = ( (sum_{k in window(o)} a(X[n, c, pos(o, k)]) ^ P[c]) / Z(o) ) ^ (1 / P[c])
  Z(o) = 1 (mean = 0) or the count of window positions (mean = 1; padded ones only when count_include_pad = 1)
  P[c] = +inf: max over the window of a(x); global = 1: one window over the whole spatial extent`;

const OP = 'LpPool';

function windowAttrs(a: LpPoolAttrs): WindowAttrs {
  return {
    kernel_shape: a.kernel_shape ?? [],
    strides: a.strides,
    pads: a.pads,
    dilations: a.dilations,
    auto_pad: a.auto_pad,
    ceil_mode: a.ceil_mode,
  };
}

function checkAttrs(a: LpPoolAttrs, node: string, spatialRank: number | undefined): void {
  checkAttributeValues(attributes, a, OP, node);
  if (a.global === 0 && a.kernel_shape === undefined) {
    throw new LpOpError(OP, node, 'required attribute kernel_shape is missing (it may be omitted only when global = 1)');
  }
  if (spatialRank !== undefined) checkAttributeLengths(attributes, a, OP, node, spatialRank);
  if (a.global === 0 && spatialRank !== undefined) {
    try {
      outputDims('pool', new Array<Dim>(spatialRank).fill(null), windowAttrs(a));
    } catch (e) {
      if (e instanceof GeometryError) throw new LpOpError(OP, node, e.message);
      throw e;
    }
  }
}

function spatialRankOf(x: ValueType | undefined, node: string): number | undefined {
  if (!x?.shape) return undefined;
  const r = x.shape.length - 2;
  if (r < 1 || r > 3) throw new LpOpError(OP, node, `X must be [N, C, D1 (, D2 (, D3))], got rank ${x.shape.length}`);
  return r;
}

function checkExponentShape(shape: readonly Dim[], C: Dim | undefined, node: string): void {
  if (shape.length > 1) throw new LpOpError(OP, node, `P must be [C], [1] or a scalar, got rank ${shape.length}`);
  if (shape.length === 1 && typeof shape[0] === 'number' && shape[0] !== 1 && typeof C === 'number' && shape[0] !== C) {
    throw new LpOpError(OP, node, `P has length ${shape[0]}; expected C = ${C}, 1 or a scalar`);
  }
}

function validate(a: LpPoolAttrs, ctx: NodeContext): void {
  const { node } = ctx;
  const [x, p] = ctx.inputs;
  if (!ctx.present[0]) throw new LpOpError(OP, node, 'input X is required');
  nodeElemType(OP, node, [['X', x]]);
  if (ctx.present[1]) checkFloatInput(OP, node, 'P', p);
  const r = spatialRankOf(x, node);
  checkAttrs(a, node, r);
  if (ctx.present[1] && p?.shape) checkExponentShape(p.shape, x?.shape?.[1], node);
  const P = ctx.constants[1];
  if (P) checkExponents(OP, node, P);
}

function inferShape(a: LpPoolAttrs, ctx: NodeContext): ValueType {
  validate(a, ctx);
  const x = ctx.inputs[0];
  const elemType = nodeElemType(OP, ctx.node, [['X', x]]) || FLOAT;
  if (!x?.shape) return { elemType };
  const spatial = x.shape.slice(2);
  if (a.global === 1) return { elemType, shape: [x.shape[0], x.shape[1], ...spatial.map(() => 1)] };
  let out: Dim[];
  try {
    out = outputDims('pool', spatial, windowAttrs(a));
  } catch (e) {
    if (e instanceof GeometryError) throw new LpOpError(OP, ctx.node, e.message);
    throw e;
  }
  return { elemType, shape: [x.shape[0], x.shape[1], ...out] };
}

/** The resolved window of every spatial axis (global: the whole extent); kernels take these numbers. */
export function lpPoolAxes(a: LpPoolAttrs, spatial: number[], node: string): AxisWindow[] {
  if (a.global === 1) {
    return spatial.map((d) => ({ input: d, kernel: d, stride: 1, dilation: 1, padBegin: 0, padEnd: 0, output: 1 }));
  }
  try {
    return resolveWindow('pool', spatial, windowAttrs(a));
  } catch (e) {
    if (e instanceof GeometryError) throw new LpOpError(OP, node, e.message);
    throw e;
  }
}

function reference(a: LpPoolAttrs, inputs: (NdArray | undefined)[], node: string): NdArray {
  const [X, P] = inputs;
  if (!X) throw new LpOpError(OP, node, 'input X is required');
  const r = spatialRankOf({ elemType: 1, shape: X.dims }, node) as number;
  checkAttrs(a, node, r);
  const [N, C] = X.dims;
  if (P) {
    checkExponentShape(P.dims, C, node);
    checkExponents(OP, node, P);
  }
  const axes = lpPoolAxes(a, X.dims.slice(2), node);
  const windows = windowOffsets(axes);
  const outSpatial = axes.map((g) => g.output);
  const inSize = product(X.dims.slice(2));
  const y = new Float64Array(N * C * windows.length);
  const vals: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const p = P ? P.data[P.data.length === 1 ? 0 : c] : a.p;
      const base = (n * C + c) * inSize;
      windows.forEach((taps, o) => {
        vals.length = 0;
        let padded = 0;
        for (const t of taps) {
          if (t >= 0) vals.push(magnitude(X.data[base + t], a.mode, a.eps));
          else if (t === TAP_PAD) padded++;
        }
        const count = a.mean === 1 ? vals.length + (a.count_include_pad === 1 ? padded : 0) : 1;
        y[(n * C + c) * windows.length + o] = pool(vals, p, count);
      });
    }
  }
  return { dims: [N, C, ...outSpatial], data: y };
}

/** (sum v^p / count)^(1/p), scaled by the window maximum. */
function pool(vals: readonly number[], p: number, count: number): number {
  let m = 0;
  for (const v of vals) {
    if (Number.isNaN(v)) return Number.NaN;
    if (v > m) m = v;
  }
  if (p === Number.POSITIVE_INFINITY || m === 0) return m;
  let s = 0;
  for (const v of vals) s += (v / m) ** p;
  return m * (s / count) ** (1 / p);
}

function bodyKey(a: LpPoolAttrs, ctx: NodeContext): string {
  const parts = Object.keys(attributes).map((k) => `${k}=${JSON.stringify(a[k as keyof LpPoolAttrs]) ?? '-'}`);
  return `LpPool(${parts.join(',')},rank=${spatialRankOf(ctx.inputs[0], ctx.node) ?? '?'},P=${exponentSource(ctx, 1)})`;
}

/**
 * Windows are laid out along a new axis by a Conv with one-hot filters (it applies pads,
 * strides and dilations), so each window is scaled by its own maximum before the power.
 * p = +inf (attribute) is MaxPool of a(x); global pooling reduces over the spatial axes.
 */
function functionBody(a: LpPoolAttrs, ctx: NodeContext, o: FunctionBodyOptions): FunctionProto {
  const r = spatialRankOf(ctx.inputs[0], ctx.node);
  if (r === undefined) throw new LpOpError(OP, ctx.node, 'the rank of X must be known to build the function body');
  const b = new BodyBuilder(o.opset);
  const src = exponentSource(ctx, 1);
  const inputs = src === 'attr' ? ['X'] : ['X', 'P'];
  const am = emitMagnitude(b, 'X', a.mode, a.eps);
  const spatialAxes = Array.from({ length: r }, (_, i) => i + 2);
  const ones = (n: number) => new Array<number>(n).fill(1);
  if (src === 'attr' && a.p === Number.POSITIVE_INFINITY) {
    // the maximum, NaN where the window holds one (the NaN mask pooled alike)
    const pool = (x: string) => (a.global === 1 ? b.reduce('ReduceMax', x, spatialAxes, true) : b.op('MaxPool', [x], poolAttrs(a, r)));
    b.op('Identity', [b.nanAware(pool(am), pool(b.nanMask(am)))]);
    return finish(b, o, inputs);
  }
  let p = src === 'attr' ? b.float([a.p]) : b.op('Reshape', ['P', b.ints([-1, ...ones(r)])]);
  const isInf = src.endsWith('?inf') ? b.op('IsInf', [p], [attr.i('detect_negative', 0)]) : undefined;
  if (isInf) p = b.op('Where', [isInf, b.float([1]), p]);
  let y: string;
  let max: string;
  if (a.global === 1) {
    max = b.reduce('ReduceMax', am, spatialAxes, true);
    const safe = b.positiveOrOne(max);
    if (isInf) max = b.nanAware(max, b.reduce('ReduceMax', b.nanMask(am), spatialAxes, true));
    const perChannel = src !== 'attr';
    const powered = b.pow(b.op('Div', [am, safe]), p, perChannel);
    const s = b.reduce(a.mean === 1 ? 'ReduceMean' : 'ReduceSum', powered, spatialAxes, true);
    y = b.op('Mul', [safe, b.pow(s, b.op('Reciprocal', [p]), perChannel)]);
  } else {
    const w = emitWindow(b, am, 'pool', windowAttrs(a), r);
    const kernel = a.kernel_shape as number[];
    const convAttrs = [attr.is('strides', a.strides ?? ones(r)), attr.is('dilations', a.dilations ?? ones(r))];
    const padded = b.op('Pad', [am, w.pads, b.float([0])]);
    const flat = b.op('Reshape', [padded, b.concat([b.ints([-1, 1]), b.shape(padded, 2)])]);
    let windows = b.op('Conv', [flat, emitUnfoldFilters(b, kernel)], convAttrs);
    if (w.outSizes) windows = emitCut(b, windows, w.outSizes, r);
    // [N*C, taps, O...] -> [N, C, taps, O...]
    windows = b.op('Reshape', [windows, b.concat([b.shape('X', 0, 2), b.shape(windows, 1)])]);
    const wmax = b.reduce('ReduceMax', windows, [2], true);
    const safe = b.positiveOrOne(wmax);
    const pc = src === 'attr' ? p : b.op('Unsqueeze', [p, b.ints([1])]);
    let s = b.reduce('ReduceSum', b.pow(b.op('Div', [windows, safe]), pc, src !== 'attr'), [2], false);
    if (a.mean === 1) s = b.op('Div', [s, emitCounts(b, a, w, r, kernel, convAttrs)]);
    max = b.op('Squeeze', [isInf ? b.nanAware(wmax, b.reduce('ReduceMax', b.nanMask(windows), [2], true)) : wmax, b.ints([2])]);
    y = b.op('Mul', [b.op('Squeeze', [safe, b.ints([2])]), b.pow(s, b.op('Reciprocal', [p]), src !== 'attr')]);
  }
  if (isInf) y = b.op('Where', [isInf, max, y]);
  b.op('Identity', [y]);
  return finish(b, o, inputs);
}

/** Z(o) of every window, [1, 1, O...]: a ones-image padded as the data and summed per window. */
function emitCounts(b: BodyBuilder, a: LpPoolAttrs, w: ReturnType<typeof emitWindow>, r: number, kernel: number[], convAttrs: AttributeProto[]): string {
  const onesShape = b.concat([b.ints([1, 1]), b.shape('X', 2)]);
  let mask = b.op(
    'ConstantOfShape',
    [onesShape],
    [{ name: 'value', type: 4, t: { dims: [1], data_type: 1, raw_data: new Uint8Array(new Float32Array([1]).buffer) } }],
  );
  if (a.count_include_pad === 1) {
    // Explicit (or SAME) pads count, the extra ceil_mode overhang does not.
    const zeros2 = b.ints([0, 0]);
    mask = b.op('Pad', [mask, b.concat([zeros2, w.padBegin, zeros2, w.padEnd]), b.float([1])]);
    mask = b.op('Pad', [mask, b.ints([0, 0, ...kernel.map(() => 0), 0, 0, ...w.extraEnd]), b.float([0])]);
  } else {
    mask = b.op('Pad', [mask, w.pads, b.float([0])]);
  }
  let counts = b.op('Conv', [mask, b.float(new Array(product(kernel)).fill(1), [1, 1, ...kernel])], convAttrs);
  if (w.outSizes) counts = emitCut(b, counts, w.outSizes, r);
  return counts;
}

/**
 * One body for every LpPool node, given P (the exporter gives a node without one P = [p]): the
 * window, mean, count_include_pad, eps, global and mode come from the node's attributes by
 * reference, which must all be written on the node (explicitAttributes); an attribute that every
 * node of the body has alike (`same`) is baked in instead, and what it makes needless is left out.
 * A global node is written with the trivial window (kernel 1s, strides 1s, no pads): its one-tap
 * windows are then regrouped into one window of the whole extent. Everything that depends on
 * attributes and shapes alone is constant once a runtime binds the call, and onnxruntime folds it.
 */
export function lpPoolBodyByReference(o: FunctionBodyOptions & { same: Partial<LpPoolAttrs>; mayBeInf: boolean }): FunctionProto {
  const { same } = o;
  const b = new BodyBuilder(o.opset);
  const am = emitMagnitudeByReference(b, 'X', same.mode);
  const w = emitWindowByReference(b, am, 'pool', same.auto_pad, same.global === 1 ? 0 : same.ceil_mode);
  const nc = b.shape('X', 0, 2);
  const isGlobal = same.global === undefined ? b.flag('global') : undefined;
  // [N*C, taps, O...] -> [N, C, taps, O...]; global: [N, C, D1*D2*..., 1...] (every node global: no Conv)
  const unfold = (x: string, lead: string, padValue: string, pads = w.pads) => {
    const whole = () => b.concat([lead, b.ints([-1]), w.ones]);
    if (same.global === 1) return b.op('Reshape', [x, whole()]);
    const padded = b.op('Pad', [x, pads, padValue]);
    const flat = b.op('Reshape', [padded, b.concat([b.ints([-1, 1]), b.shape(padded, 2)])]);
    const windows = b.op('Conv', [flat, w.oneHot], w.convAttrs);
    const windowed = b.concat([lead, b.shape(windows, 1)]);
    return b.op('Reshape', [windows, isGlobal ? b.op('Where', [isGlobal, whole(), windowed]) : windowed]);
  };
  const windows = unfold(am, nc, b.float([0]));
  const wmax = b.reduce('ReduceMax', windows, [2], true);
  const safe = b.positiveOrOne(wmax);
  const isInf = o.mayBeInf ? b.op('IsInf', ['P'], [attr.i('detect_negative', 0)]) : undefined;
  const p = isInf ? b.op('Where', [isInf, b.float([1]), 'P']) : 'P';
  // [C] (or [1]) -> [C, 1, 1...] against the windows, [C, 1...] against the output
  const pWindows = b.op('Reshape', [p, b.concat([b.ints([-1, 1]), w.ones])]);
  const pOut = b.op('Reshape', [p, b.concat([b.ints([-1]), w.ones])]);
  let s = b.reduce('ReduceSum', b.pow(b.op('Div', [windows, safe]), pWindows, true), [2], false);
  if (same.mean !== 0) {
    // Z: the same windows over a ones-image (its own pads with count_include_pad, never the overhang)
    const image = b.op('ConstantOfShape', [b.concat([b.ints([1, 1]), b.shape('X', 2)])], [{ name: 'value', type: 4, t: { dims: [1], data_type: 1, raw_data: new Uint8Array(Float32Array.of(1).buffer) } }]);
    const zeros2 = b.ints([0, 0]);
    const withPads = () => b.op('Pad', [b.op('Pad', [image, b.concat([zeros2, w.padBegin, zeros2, w.padEnd]), b.float([1])]), b.op('Sub', [w.pads, b.concat([zeros2, w.padBegin, zeros2, w.padEnd])]), b.float([0])]);
    const withoutPads = () => b.op('Pad', [image, w.pads, b.float([0])]);
    const cip = same.count_include_pad;
    const mask = cip === 1 ? withPads() : cip === 0 ? withoutPads() : b.op('Where', [b.flag('count_include_pad'), withPads(), withoutPads()]);
    const counts = b.reduce('ReduceSum', unfold(mask, b.ints([1, 1]), b.float([0]), b.filledLike(w.pads, 0)), [2], false);
    const mean = b.op('Div', [s, counts]);
    s = same.mean === 1 ? mean : b.op('Where', [b.flag('mean'), mean, s]);
  }
  const wmaxOut = b.op('Squeeze', [isInf ? b.nanAware(wmax, b.reduce('ReduceMax', b.nanMask(windows), [2], true)) : wmax, b.ints([2])]);
  let y = b.op('Mul', [b.op('Squeeze', [safe, b.ints([2])]), b.pow(s, b.op('Reciprocal', [pOut]), true)]);
  if (isInf) y = b.op('Where', [b.op('IsInf', [b.op('Reshape', ['P', b.concat([b.ints([-1]), w.ones])])], [attr.i('detect_negative', 0)]), wmaxOut, y]);
  if (same.ceil_mode !== 0 && same.global !== 1) {
    // the ceil_mode windows that start in the end padding are cut; a global output is 1s already
    const axes = b.op('Add', [b.op('Range', [b.ints([0], []), b.op('Squeeze', [b.op('Shape', [w.kernel]), b.ints([0])]), b.ints([1], [])]), b.ints([2])]);
    y = b.op('Slice', [y, b.filledLike(w.kernel, 0), w.outSizes, axes]);
  }
  b.op('Identity', [y]);
  return finish(b, o, ['X', 'P']);
}

/** Every attribute the by-reference body reads, to be written onto the node with the same meaning. */
export function lpPoolExplicitAttributes(a: LpPoolAttrs, ctx: NodeContext): AttributeProto[] | string {
  const r = spatialRankOf(ctx.inputs[0], ctx.node);
  if (r === undefined) return 'the rank of its input X is unknown';
  const global = a.global === 1;
  const ones = new Array<number>(r).fill(1);
  const auto = global || a.auto_pad === 'VALID' ? 'NOTSET' : a.auto_pad;
  return [
    attr.is('kernel_shape', global ? ones : (a.kernel_shape as number[])),
    attr.is('strides', global ? ones : perAxis(attributes.strides, a.strides, r)),
    attr.is('pads', global || a.auto_pad === 'VALID' ? perAxis(attributes.pads, undefined, r) : perAxis(attributes.pads, a.pads, r)),
    attr.is('dilations', global ? ones : perAxis(attributes.dilations, a.dilations, r)),
    attr.s('auto_pad', auto),
    attr.i('auto_pad_index', AUTO_PADS.indexOf(auto as AutoPad)),
    attr.i('ceil_mode', global ? 0 : a.ceil_mode),
    attr.i('count_include_pad', a.count_include_pad),
    attr.f('eps', a.eps),
    attr.i('mean', a.mean),
    attr.s('mode', a.mode),
    attr.i('mode_index', a.mode === 'abs' ? 0 : 1),
    attr.i('global', a.global),
  ];
}

function poolAttrs(a: LpPoolAttrs, r: number): AttributeProto[] {
  const ones = new Array<number>(r).fill(1);
  const out = [
    attr.is('kernel_shape', a.kernel_shape as number[]),
    attr.is('strides', a.strides ?? ones),
    attr.is('dilations', a.dilations ?? ones),
    attr.i('ceil_mode', a.ceil_mode),
    attr.s('auto_pad', a.auto_pad),
  ];
  if (a.auto_pad === 'NOTSET') out.push(attr.is('pads', a.pads ?? [...ones, ...ones].map(() => 0)));
  return out;
}

function finish(b: BodyBuilder, o: FunctionBodyOptions, inputs: string[]): FunctionProto {
  b.nodes[b.nodes.length - 1].output = ['Y'];
  return b.finish(o.name, o.overload, inputs, ['Y'], `Function body of com.lponnx LpPool (${o.overload})`);
}

export const lpPool: OpDefinition<typeof attributes> = {
  opType: 'LpPool',
  doc,
  inputs: [
    { name: 'X', doc: 'T, [N, C, D1 (, D2 (, D3))]' },
    { name: 'P', optional: true, doc: 'T, [C], [1] or []: exponents per channel; when absent attribute p is used' },
  ],
  outputs: [{ name: 'Y', doc: 'T, [N, C, O1 (, O2 (, O3))]' }],
  attributes,
  parse: (attrs: readonly AttributeProto[], node: string) => parseAttributes(attributes, attrs, OP, node),
  checkAttributes: (a: LpPoolAttrs, node: string) => checkAttrs(a, node, undefined),
  validate,
  inferShape,
  reference,
  bodyKey,
  functionBody,
  shared: {
    explicitAttributes: lpPoolExplicitAttributes,
    body(nodes, o) {
      if (nodes.some((n) => !n.ctx.present[1])) return 'some nodes have no input P';
      const mayBeInf = nodes.some((n) => exponentSource(n.ctx, 1).endsWith('?inf'));
      const same = <K extends 'mode' | 'auto_pad' | 'global' | 'mean' | 'count_include_pad' | 'ceil_mode'>(k: K) => sameValue(nodes.map((n) => n.attrs[k]));
      return lpPoolBodyByReference({
        ...o,
        same: { mode: same('mode'), auto_pad: same('auto_pad'), global: same('global'), mean: same('mean'), count_include_pad: same('count_include_pad'), ceil_mode: same('ceil_mode') },
        mayBeInf,
      });
    },
  },
};
