import type { AttributeProto, FunctionProto } from '../src/onnx/proto';
import { type AttrSchema, type AttrValues, checkAttributeValues, LpOpError, parseAttributes, twinAttribute } from './attributes';
import { attr, BodyBuilder, emitMagnitude, emitMagnitudeByReference } from './body';
import { FLOAT, checkExponents, checkFloatInput, exponentSource, formatIndex, magnitude, nodeElemType, product, sameDim, sameValue } from './common';
import type { Dim } from './geometry';
import type { FunctionBodyOptions, NdArray, NodeContext, OpDefinition, ValueType } from './types';

const attributes = {
  p: { kind: 'float', default: 2.0, above: 0, doc: 'exponent for every unit when input P is absent; > 0 or +inf' },
  eps: { kind: 'float', default: 0.0, min: 0, doc: 'floor on magnitudes: a(x) = max(|x|, eps) or max(x, eps)' },
  sum_eps: { kind: 'float', default: 0.0, min: 0, doc: 'added to the (normalised) sum before the root' },
  mean: { kind: 'int', default: 0, oneOf: [0, 1], doc: '0: weighted norm; 1: weighted power mean (divide by the row sum of W)' },
  mode: { kind: 'string', default: 'abs', oneOf: ['abs', 'clamp'], doc: '"abs": a(x) = max(|x|, eps); "clamp": a(x) = max(x, eps)' },
  mode_index: twinAttribute('mode', ['abs', 'clamp']),
} as const satisfies AttrSchema;

export type LpNormAttrs = AttrValues<typeof attributes>;

const doc = `Weighted Lp-norm (or weighted power mean) layer: one output unit per row of W, reducing the last axis of X.
  Y[..., j] = ( (sum_i W[j,i] * a(X[..., i]) ^ P[j]) / Z[j] + sum_eps ) ^ (1 / P[j])
  Z[j] = 1 (mean = 0) or sum_i W[j,i] (mean = 1)
  P[j] = +inf: Y[..., j] = max { a(X[..., i]) : W[j,i] > 0 } (0 if no weight is > 0)`;

const OP = 'LpNorm';

function checkAttrs(a: LpNormAttrs, node: string): void {
  checkAttributeValues(attributes, a, OP, node);
}

function checkWeights(W: NdArray, mean: number, node: string): void {
  const [M, K] = W.dims;
  for (let j = 0; j < M; j++) {
    let rowSum = 0;
    for (let i = 0; i < K; i++) {
      const w = W.data[j * K + i];
      if (Number.isNaN(w)) throw new LpOpError(OP, node, `W${formatIndex([j, i])} is NaN; weights must be >= 0`);
      if (w < 0) throw new LpOpError(OP, node, `W${formatIndex([j, i])} = ${w} is negative; weights must be >= 0`);
      rowSum += w;
    }
    if (mean === 1 && rowSum === 0) {
      throw new LpOpError(OP, node, `mean = 1 but row ${j} of W sums to 0 (the power mean is undefined)`);
    }
  }
}

function validate(a: LpNormAttrs, ctx: NodeContext): void {
  const { node } = ctx;
  checkAttrs(a, node);
  const [x, w, p] = ctx.inputs;
  if (!ctx.present[0] || !ctx.present[1]) throw new LpOpError(OP, node, 'inputs X and W are required');
  nodeElemType(OP, node, [['X', x], ['W', w]]);
  if (ctx.present[2]) checkFloatInput(OP, node, 'P', p);
  if (x?.shape && x.shape.length < 1) throw new LpOpError(OP, node, 'X must have rank >= 1, got a scalar');
  if (w?.shape && w.shape.length !== 2) throw new LpOpError(OP, node, `W must have rank 2 [M, K], got rank ${w.shape.length}`);
  const K = x?.shape?.[x.shape.length - 1];
  const M = w?.shape?.[0];
  if (x?.shape && w?.shape && !sameDim(K, w.shape[1])) {
    throw new LpOpError(OP, node, `K of X (${K}) does not equal K of W (${w.shape[1]})`);
  }
  if (ctx.present[2] && p?.shape) checkExponentShape(p.shape, M, node);
  const W = ctx.constants[1];
  if (W) checkWeights(W, a.mean, node);
  const P = ctx.constants[2];
  if (P) checkExponents(OP, node, P);
}

function checkExponentShape(shape: Dim[], M: Dim | undefined, node: string): void {
  if (shape.length > 1) throw new LpOpError(OP, node, `P must be [M], [1] or a scalar, got rank ${shape.length}`);
  if (shape.length === 1 && typeof shape[0] === 'number' && shape[0] !== 1 && typeof M === 'number' && shape[0] !== M) {
    throw new LpOpError(OP, node, `P has length ${shape[0]}; expected M = ${M}, 1 or a scalar`);
  }
}

function inferShape(a: LpNormAttrs, ctx: NodeContext): ValueType {
  validate(a, ctx);
  const [x, w] = ctx.inputs;
  const M: Dim = w?.shape ? w.shape[0] : null;
  const elemType = nodeElemType(OP, ctx.node, [['X', x], ['W', w]]) || FLOAT;
  return { elemType, shape: x?.shape ? [...x.shape.slice(0, -1), M] : undefined };
}

function reference(a: LpNormAttrs, inputs: (NdArray | undefined)[], node: string): NdArray {
  checkAttrs(a, node);
  const [X, W, P] = inputs;
  if (!X || !W) throw new LpOpError(OP, node, 'inputs X and W are required');
  if (X.dims.length < 1) throw new LpOpError(OP, node, 'X must have rank >= 1, got a scalar');
  if (W.dims.length !== 2) throw new LpOpError(OP, node, `W must have rank 2 [M, K], got rank ${W.dims.length}`);
  const K = X.dims[X.dims.length - 1];
  const [M, KW] = W.dims;
  if (K !== KW) throw new LpOpError(OP, node, `K of X (${K}) does not equal K of W (${KW})`);
  checkWeights(W, a.mean, node);
  if (P) {
    checkExponentShape(P.dims, M, node);
    checkExponents(OP, node, P);
  }
  const rows = product(X.dims.slice(0, -1));
  const y = new Float64Array(rows * M);
  const mag = new Float64Array(K);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < K; i++) mag[i] = magnitude(X.data[r * K + i], a.mode, a.eps);
    for (let j = 0; j < M; j++) {
      const p = P ? P.data[P.data.length === 1 ? 0 : j] : a.p;
      const wrow = W.data.subarray(j * K, (j + 1) * K);
      y[r * M + j] = unit(mag, wrow, p, a.mean === 1, a.sum_eps);
    }
  }
  return { dims: [...X.dims.slice(0, -1), M], data: y };
}

/** One output: scaled by the largest magnitude among weighted inputs so that a^p cannot overflow. */
function unit(mag: Float64Array, w: Float64Array, p: number, mean: boolean, sumEps: number): number {
  let m = 0;
  let nan = false;
  for (let i = 0; i < mag.length; i++) {
    if (Number.isNaN(mag[i])) {
      // 0 * NaN is NaN: a NaN input reaches every unit of its row, except through p = inf with w = 0.
      if (p !== Number.POSITIVE_INFINITY || w[i] > 0) nan = true;
    } else if (w[i] > 0 && mag[i] > m) m = mag[i];
  }
  if (nan) return Number.NaN;
  if (p === Number.POSITIVE_INFINITY) return m;
  let z = 1;
  if (mean) {
    z = 0;
    for (let i = 0; i < w.length; i++) z += w[i];
  }
  if (sumEps > 0) m = Math.max(m, sumEps ** (1 / p));
  if (m === 0) return 0;
  let s = 0;
  for (let i = 0; i < mag.length; i++) if (w[i] > 0) s += w[i] * (mag[i] / m) ** p;
  return m * (s / z + (sumEps > 0 ? sumEps / m ** p : 0)) ** (1 / p);
}

function bodyKey(a: LpNormAttrs, ctx: NodeContext): string {
  return `LpNorm(p=${a.p},eps=${a.eps},sum_eps=${a.sum_eps},mean=${a.mean},mode=${a.mode},P=${exponentSource(ctx, 2)})`;
}

/**
 * p = +inf: the maximum of a(x) over the inputs with W > 0, [..., M] ([..., 1, K] against the mask
 * [M, K]), NaN where a NaN input reaches the unit (counted by a MatMul of the NaN mask with W > 0).
 */
function emitWeightedMax(b: BodyBuilder, am: string): string {
  const positive = b.op('Greater', ['W', b.float([0])]);
  const masked = b.op('Where', [positive, b.op('Unsqueeze', [am, b.ints([-2])]), b.float([0])]);
  const nans = b.op('MatMul', [b.nanMask(am), b.op('Transpose', [b.op('Cast', [positive], [attr.i('to', 1)])], [attr.is('perm', [1, 0])])]);
  return b.nanAware(b.reduce('ReduceMax', masked, [-1], false), nans);
}

/**
 * The per-unit form: a broadcast [..., M, K] power, each unit scaled by its own largest weighted
 * magnitude (the largest a(x) with W > 0, or sum_eps^(1/p) where that is larger; 1 where both are
 * 0), so that no unit's terms underflow where its result is representable. p: [M], [1] or a scalar.
 * Returns the unscaled-root sum (before mean and sum_eps) and the scale, [..., M] each.
 */
function perUnitSum(b: BodyBuilder, am: string, p: string, sumEps: string | undefined): { sum: string; safe: string } {
  const a3 = b.op('Unsqueeze', [am, b.ints([-2])]);
  const largest = b.reduce('ReduceMax', b.op('Where', [b.op('Greater', ['W', b.float([0])]), a3, b.float([0])]), [-1], false);
  const safe = b.positiveOrOne(sumEps ? b.op('Max', [largest, b.op('Pow', [sumEps, b.op('Reciprocal', [p])])]) : largest);
  // an input the unit does not weight may be far above its scale: capped at 1, its term stays finite
  // (times its weight 0: 0, where inf would give NaN); a NaN stays NaN (ops.md: it reaches every unit)
  const ratio = b.op('Div', [a3, b.op('Unsqueeze', [safe, b.ints([-1])])]);
  const capped = b.op('Where', [b.op('Greater', [ratio, b.float([1])]), b.float([1]), ratio]);
  const powered = b.pow(capped, b.op('Unsqueeze', [p, b.ints([-1])]), true);
  return { sum: b.reduce('ReduceSum', b.op('Mul', [powered, 'W']), [-1], false), safe };
}

/**
 * The shared form: Pow then MatMul (no [..., M, K] intermediate), every unit of a row scaled by the
 * row's largest a(x) (or sum_eps^(1/p) where larger). Returns the sum, the scale ([..., 1]) and
 * whether some unit's terms all underflowed: a raw sum below 1e-25 where the row has a positive
 * magnitude and the unit a positive weight (its weighted inputs are all far below the row maximum;
 * the caller then takes the per-unit form, whose scale is the unit's own).
 */
function sharedSum(b: BodyBuilder, am: string, p: string, sumEps: string | undefined): { sum: string; safe: string; lost: string } {
  const m = b.reduce('ReduceMax', am, [-1], true);
  const safe = b.positiveOrOne(sumEps ? b.op('Max', [m, b.op('Pow', [sumEps, b.op('Reciprocal', [p])])]) : m);
  const sum = b.op('MatMul', [b.op('Pow', [b.op('Div', [am, safe]), p]), b.op('Transpose', ['W'], [attr.is('perm', [1, 0])])]);
  const weighted = b.op('Greater', [b.reduce('ReduceMax', 'W', [1], false), b.float([0])]);
  const reached = b.op('And', [b.op('Greater', [m, b.float([0])]), weighted]);
  return { sum, safe, lost: b.any(b.op('And', [b.op('Less', [sum, b.float([1e-25])]), reached])) };
}

/**
 * Shared exponent: the shared form, and the per-unit form only where a unit's terms all underflowed
 * there (an If). Per-unit exponents: the per-unit form.
 */
function functionBody(a: LpNormAttrs, ctx: NodeContext, o: FunctionBodyOptions): FunctionProto {
  const b = new BodyBuilder(o.opset);
  const src = exponentSource(ctx, 2);
  const inputs = src === 'attr' ? ['X', 'W'] : ['X', 'W', 'P'];
  const am = emitMagnitude(b, 'X', a.mode, a.eps);
  const infOnly = src === 'attr' && a.p === Number.POSITIVE_INFINITY;
  const mayBeInf = src === 'shared?inf' || src === 'per-unit?inf';
  const maxPath = () => emitWeightedMax(b, am);
  if (infOnly) {
    b.op('Identity', [maxPath()]);
    return finish(b, o, inputs);
  }
  const shared = src === 'attr' || src.startsWith('shared');
  let p = src === 'attr' ? b.float([a.p]) : b.op('Reshape', ['P', b.ints([-1])]);
  const isInf = mayBeInf ? b.op('IsInf', [p], [attr.i('detect_negative', 0)]) : undefined;
  if (isInf) p = b.op('Where', [isInf, b.float([1]), p]);
  // y from a sum and its scale: mean, sum_eps, the root
  const root = (bb: BodyBuilder, sum: string, safe: string) => {
    if (a.mean === 1) sum = bb.op('Div', [sum, bb.reduce('ReduceSum', 'W', [1], false)]);
    if (a.sum_eps > 0) sum = bb.op('Add', [sum, bb.op('Div', [bb.float([a.sum_eps]), bb.op('Pow', [safe, p])])]);
    return bb.op('Mul', [safe, bb.pow(sum, bb.op('Reciprocal', [p]), !shared)]);
  };
  const sumEps = (bb: BodyBuilder) => (a.sum_eps > 0 ? bb.float([a.sum_eps]) : undefined);
  const perUnit = (bb: BodyBuilder) => {
    const u = perUnitSum(bb, am, p, sumEps(bb));
    return root(bb, u.sum, u.safe);
  };
  let y: string;
  if (shared) {
    const s = sharedSum(b, am, p, sumEps(b));
    y = b.ifElse(s.lost, perUnit, root(b, s.sum, s.safe));
  } else {
    y = perUnit(b);
  }
  if (isInf) y = b.op('Where', [isInf, maxPath(), y]);
  b.op('Identity', [y]);
  return finish(b, o, inputs);
}

/**
 * One body for every LpNorm node, given P (the exporter gives a node without one P = [p]): eps,
 * sum_eps, mean and mode come from the node's attributes by reference, or are baked in where every
 * node has the same (`same`). `shared`: every node's P holds one exponent (the shared form, the
 * per-unit form where a unit's terms all underflowed there); otherwise the per-unit form, which is
 * right for a shared P too.
 */
export function lpNormBodyByReference(o: FunctionBodyOptions & { same: Partial<LpNormAttrs>; shared: boolean; mayBeInf: boolean }): FunctionProto {
  const { same } = o;
  const b = new BodyBuilder(o.opset);
  const am = emitMagnitudeByReference(b, 'X', same.mode);
  let p = b.op('Reshape', ['P', b.ints([-1])]);
  const isInf = o.mayBeInf ? b.op('IsInf', [p], [attr.i('detect_negative', 0)]) : undefined;
  if (isInf) p = b.op('Where', [isInf, b.float([1]), p]);
  const withSumEps = same.sum_eps !== 0;
  const sumEps = (bb: BodyBuilder) => (withSumEps ? bb.ref('value_float', 'sum_eps') : undefined);
  const root = (bb: BodyBuilder, sum: string, safe: string) => {
    if (same.mean !== 0) {
      const mean = bb.op('Div', [sum, bb.reduce('ReduceSum', 'W', [1], false)]);
      sum = same.mean === 1 ? mean : bb.op('Where', [bb.flag('mean'), mean, sum]);
    }
    const e = sumEps(bb);
    if (e) {
      // + sum_eps / safe^p only where sum_eps > 0 (0 / safe^p would be NaN where safe^p underflows)
      const hasSumEps = bb.op('Greater', [e, bb.float([0])]);
      sum = bb.op('Add', [sum, bb.op('Where', [hasSumEps, bb.op('Div', [e, bb.pow(safe, p, !o.shared)]), bb.float([0])])]);
    }
    return bb.op('Mul', [safe, bb.pow(sum, bb.op('Reciprocal', [p]), !o.shared)]);
  };
  const perUnit = (bb: BodyBuilder) => {
    const u = perUnitSum(bb, am, p, sumEps(bb));
    return root(bb, u.sum, u.safe);
  };
  let y: string;
  if (o.shared) {
    const s = sharedSum(b, am, p, sumEps(b));
    y = b.ifElse(s.lost, perUnit, root(b, s.sum, s.safe));
  } else {
    y = perUnit(b);
  }
  if (isInf) y = b.op('Where', [isInf, emitWeightedMax(b, am), y]);
  b.op('Identity', [y]);
  return finish(b, o, ['X', 'W', 'P']);
}

/** Every attribute the by-reference body reads, to be written onto the node with the same meaning. */
export function lpNormExplicitAttributes(a: LpNormAttrs): AttributeProto[] {
  return [attr.f('eps', a.eps), attr.f('sum_eps', a.sum_eps), attr.i('mean', a.mean), attr.s('mode', a.mode), attr.i('mode_index', a.mode === 'abs' ? 0 : 1)];
}

function finish(b: BodyBuilder, o: FunctionBodyOptions, inputs: string[]): FunctionProto {
  const last = b.nodes[b.nodes.length - 1];
  last.output = ['Y'];
  return b.finish(o.name, o.overload, inputs, ['Y'], `Function body of com.lponnx LpNorm (${o.overload})`);
}

export const lpNorm: OpDefinition<typeof attributes> = {
  opType: 'LpNorm',
  doc,
  inputs: [
    { name: 'X', doc: 'T, [..., K], rank >= 1' },
    { name: 'W', doc: 'T, [M, K], weights >= 0' },
    { name: 'P', optional: true, doc: 'T, [M], [1] or []: exponents; when absent attribute p is used' },
  ],
  outputs: [{ name: 'Y', doc: 'T, [..., M]' }],
  attributes,
  parse: (attrs: readonly AttributeProto[], node: string) => parseAttributes(attributes, attrs, OP, node),
  checkAttributes: checkAttrs,
  validate,
  inferShape,
  reference,
  bodyKey,
  functionBody,
  shared: {
    explicitAttributes: lpNormExplicitAttributes,
    body(nodes, o) {
      if (nodes.some((n) => !n.ctx.present[2])) return 'some nodes have no input P';
      const sources = nodes.map((n) => exponentSource(n.ctx, 2));
      return lpNormBodyByReference({
        ...o,
        same: { mode: sameValue(nodes.map((n) => n.attrs.mode)), mean: sameValue(nodes.map((n) => n.attrs.mean)), sum_eps: sameValue(nodes.map((n) => n.attrs.sum_eps)) },
        shared: sources.every((s) => s.startsWith('shared')),
        mayBeInf: sources.some((s) => s.endsWith('?inf')),
      });
    },
  },
};
