// Standard ONNX ops that the graph builder emits and the reference runtime evaluates:
// shape inference and a float64 evaluator per op, for the forms of opset 18+.
import { INTEGER_RANGES, roundHalfEven } from '../../ops/common';
import { type Dim, outputDims, resolveWindow, TAP_PAD, type WindowAttrs, windowOffsets } from '../../ops/geometry';
import type { NdArray, ValueType } from '../../ops/types';
import type { AttributeProto, NodeProto } from '../onnx/proto';
import { int64ToClampedNumber, int64ToNumber } from '../onnx/proto';
import { floatToHalf, halfToFloat, tensorFromProto, toFloat64 } from '../onnx/tensor';

export interface StdNodeView {
  op: string;
  label: string;
  attr: (name: string) => AttributeProto | undefined;
}

export function nodeView(n: NodeProto, label: string): StdNodeView {
  return { op: n.op_type ?? '', label, attr: (name) => n.attribute?.find((a) => a.name === name) };
}

export const attrInt = (v: StdNodeView, name: string, d: number) => {
  const a = v.attr(name);
  return a?.i !== undefined ? int64ToNumber(a.i, name) : d;
};
export const attrFloat = (v: StdNodeView, name: string, d: number) => v.attr(name)?.f ?? d;
export const attrInts = (v: StdNodeView, name: string) => v.attr(name)?.ints?.map((x) => int64ToClampedNumber(x));
export const attrString = (v: StdNodeView, name: string, d: string) => {
  const s = v.attr(name)?.s;
  return s ? new TextDecoder().decode(s) : d;
};

export class StdOpError extends Error {}

interface StdOp {
  /** inputs: types (undefined when absent/unknown); values: constant inputs when known (shape tensors) */
  infer(v: StdNodeView, inputs: (ValueType | undefined)[], values: (NdArray | undefined)[]): ValueType[];
  evaluate(v: StdNodeView, inputs: (NdArray | undefined)[]): NdArray[];
}

// --- helpers ------------------------------------------------------------------------------------

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

function broadcastDims(a: readonly Dim[], b: readonly Dim[], label: string): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    // a missing leading dim is 1; null is a dim inference does not know
    const x = i < r - a.length ? 1 : a[a.length - r + i];
    const y = i < r - b.length ? 1 : b[b.length - r + i];
    if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (x === null || y === null) out.push(typeof x === 'number' ? x : typeof y === 'number' ? y : null);
    else if (typeof x === 'number' && typeof y === 'number' && x !== y) {
      throw new StdOpError(`${label}: shapes [${a}] and [${b}] do not broadcast`);
    } else out.push(typeof x === 'number' ? x : y);
  }
  return out;
}

function broadcastMany(types: (ValueType | undefined)[], label: string): ValueType {
  const elemType = types.find((t) => t)?.elemType ?? 0;
  if (types.some((t) => !t?.shape)) return { elemType };
  return { elemType, shape: types.reduce<Dim[]>((acc, t) => broadcastDims(acc, t?.shape ?? [], label), []) };
}

function binary(f: (x: number, y: number) => number) {
  return (a: NdArray, b: NdArray, label: string): NdArray => {
    const dims = broadcastDims(a.dims, b.dims, label) as number[];
    const out = new Float64Array(size(dims));
    const r = dims.length;
    const pa = [...new Array(r - a.dims.length).fill(1), ...a.dims];
    const pb = [...new Array(r - b.dims.length).fill(1), ...b.dims];
    const sa = strides(pa).map((s, i) => (pa[i] === 1 ? 0 : s));
    const sb = strides(pb).map((s, i) => (pb[i] === 1 ? 0 : s));
    const idx = new Array<number>(r).fill(0);
    for (let k = 0; k < out.length; k++) {
      let ia = 0;
      let ib = 0;
      for (let d = 0; d < r; d++) {
        ia += idx[d] * sa[d];
        ib += idx[d] * sb[d];
      }
      out[k] = f(a.data[ia], b.data[ib]);
      for (let d = r - 1; d >= 0; d--) {
        if (++idx[d] < dims[d]) break;
        idx[d] = 0;
      }
    }
    return { dims, data: out };
  };
}

const truncate = (x: number) => (Number.isNaN(x) ? 0 : Math.trunc(x));
/** Cast's rounding to each type it evaluates (to nearest even for the floats, toward zero for integers). */
const CAST_ROUNDING: Record<number, (x: number) => number> = {
  1: Math.fround,
  10: (x) => halfToFloat(floatToHalf(Math.fround(x))),
  11: (x) => x,
  6: truncate,
  7: truncate,
};

/**
 * The scale and zero point of each element of x: one pair (a scalar or [1]), or one per index along
 * `axis` (1-D of that length). The blocked form (block_size > 0) is refused, naming the node.
 */
function quantParams(v: StdNodeView, x: NdArray, scale: NdArray, zero: NdArray | undefined): (k: number) => [number, number] {
  if (attrInt(v, 'block_size', 0) !== 0) throw new StdOpError(`${v.label}: ${v.op} with block_size (blocked quantisation) is not evaluated here`);
  const zeroAt = (i: number) => (zero ? zero.data[zero.data.length === 1 ? 0 : i] : 0);
  if (scale.data.length === 1 && scale.dims.length <= 1) {
    if (zero && zero.data.length !== 1) throw new StdOpError(`${v.label}: the zero point has ${zero.data.length} values, the scale 1`);
    return () => [scale.data[0], zeroAt(0)];
  }
  const axis = normAxis(attrInt(v, 'axis', 1), x.dims.length, v.label);
  if (scale.dims.length !== 1 || scale.dims[0] !== x.dims[axis]) {
    throw new StdOpError(`${v.label}: the scale must be a scalar, [1] or [${x.dims[axis]}] (axis ${axis}), got [${scale.dims}]`);
  }
  if (zero && (zero.dims.length !== 1 || zero.dims[0] !== scale.dims[0])) {
    throw new StdOpError(`${v.label}: the zero point must have the scale's shape [${scale.dims}], got [${zero.dims}]`);
  }
  const inner = size(x.dims.slice(axis + 1));
  const n = x.dims[axis];
  return (k) => {
    const i = Math.floor(k / inner) % n;
    return [scale.data[i], zeroAt(i)];
  };
}

const unary = (f: (x: number) => number): StdOp => ({
  infer: (_v, [x]) => [x ?? { elemType: 0 }],
  evaluate: (_v, [x]) => [{ dims: [...(x as NdArray).dims], data: (x as NdArray).data.map(f) }],
});

const binaryOp = (f: (x: number, y: number) => number): StdOp => {
  const g = binary(f);
  return {
    infer: (v, inputs) => [broadcastMany(inputs, v.label)],
    evaluate: (v, inputs) => [inputs.slice(1).reduce((acc, t) => g(acc as NdArray, t as NdArray, v.label), inputs[0]) as NdArray],
  };
};

function normAxis(axis: number, rank: number, label: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new StdOpError(`${label}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

function transpose(x: NdArray, perm: number[]): NdArray {
  const dims = perm.map((p) => x.dims[p]);
  const s = strides(x.dims);
  const out = new Float64Array(x.data.length);
  const idx = new Array<number>(dims.length).fill(0);
  for (let k = 0; k < out.length; k++) {
    let src = 0;
    for (let d = 0; d < dims.length; d++) src += idx[d] * s[perm[d]];
    out[k] = x.data[src];
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
  return { dims, data: out };
}

function matmul(a: NdArray, b: NdArray, label: string): NdArray {
  const A = a.dims.length === 1 ? { dims: [1, a.dims[0]], data: a.data } : a;
  const B = b.dims.length === 1 ? { dims: [b.dims[0], 1], data: b.data } : b;
  const [m, k] = A.dims.slice(-2);
  const [k2, n] = B.dims.slice(-2);
  if (k !== k2) throw new StdOpError(`${label}: MatMul inner dims ${k} and ${k2} differ`);
  const batch = broadcastDims(A.dims.slice(0, -2), B.dims.slice(0, -2), label) as number[];
  const nb = size(batch);
  const out = new Float64Array(nb * m * n);
  const bsA = size(A.dims.slice(0, -2));
  const bsB = size(B.dims.slice(0, -2));
  for (let q = 0; q < nb; q++) {
    const oa = (bsA === 1 ? 0 : q) * m * k;
    const ob = (bsB === 1 ? 0 : q) * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += A.data[oa + i * k + t] * B.data[ob + t * n + j];
        out[q * m * n + i * n + j] = s;
      }
  }
  let dims = [...batch, m, n];
  if (a.dims.length === 1) dims = [...batch, n];
  if (b.dims.length === 1) dims = a.dims.length === 1 ? [...batch] : [...batch, m];
  return { dims, data: out };
}

function matmulType(a: ValueType | undefined, b: ValueType | undefined, label: string): ValueType {
  const elemType = a?.elemType ?? b?.elemType ?? 0;
  if (!a?.shape || !b?.shape) return { elemType };
  const A = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const B = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  const ka = A[A.length - 1];
  const kb = B[B.length - 2];
  if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb) {
    throw new StdOpError(`${label}: MatMul inner dims ${ka} and ${kb} differ ([${a.shape}] x [${b.shape}])`);
  }
  const batch = broadcastDims(A.slice(0, -2), B.slice(0, -2), label);
  const shape = [...batch];
  if (a.shape.length > 1) shape.push(A[A.length - 2]);
  if (b.shape.length > 1) shape.push(B[B.length - 1]);
  return { elemType, shape };
}

function reshapeTarget(inDims: readonly Dim[], target: number[], allowzero: boolean, label: string): Dim[] {
  const out: Dim[] = target.map((t, i) => (t === 0 && !allowzero ? (inDims[i] ?? null) : t));
  const neg = out.filter((d) => d === -1).length;
  if (neg > 1) throw new StdOpError(`${label}: Reshape target [${target}] has more than one -1`);
  if (neg === 1) {
    const known = out.filter((d) => d !== -1);
    const total = inDims.every((d) => typeof d === 'number') ? size(inDims as number[]) : undefined;
    if (total !== undefined && known.every((d) => typeof d === 'number')) {
      const rest = size(known as number[]);
      if (rest === 0 || total % rest !== 0) throw new StdOpError(`${label}: cannot reshape [${inDims}] to [${target}]`);
      out[out.indexOf(-1)] = total / rest;
    } else out[out.indexOf(-1)] = null;
  } else if (inDims.every((d) => typeof d === 'number') && out.every((d) => typeof d === 'number')) {
    if (size(inDims as number[]) !== size(out as number[])) {
      throw new StdOpError(`${label}: cannot reshape [${inDims}] (${size(inDims as number[])} elements) to [${out}]`);
    }
  }
  return out;
}

function windowAttrsOf(v: StdNodeView, rank: number): WindowAttrs {
  const kernel = attrInts(v, 'kernel_shape');
  if (!kernel) throw new StdOpError(`${v.label}: kernel_shape is required`);
  if (kernel.length !== rank) throw new StdOpError(`${v.label}: kernel_shape has ${kernel.length} dims, input has ${rank} spatial dims`);
  return {
    kernel_shape: kernel,
    strides: attrInts(v, 'strides'),
    pads: attrInts(v, 'pads'),
    dilations: attrInts(v, 'dilations'),
    auto_pad: attrString(v, 'auto_pad', 'NOTSET'),
    ceil_mode: attrInt(v, 'ceil_mode', 0),
  };
}

function poolOp(kind: 'max' | 'avg' | 'lp'): StdOp {
  return {
    infer: (v, [x]) => {
      if (!x?.shape) return [{ elemType: x?.elemType ?? 0 }];
      return [{ elemType: x.elemType, shape: [x.shape[0], x.shape[1], ...outputDims('pool', x.shape.slice(2), windowAttrsOf(v, x.shape.length - 2))] }];
    },
    evaluate: (v, [x]) => {
      const X = x as NdArray;
      const axes = resolveWindow('pool', X.dims.slice(2), windowAttrsOf(v, X.dims.length - 2));
      const outSpatial = axes.map((a) => a.output);
      const outSize = size(outSpatial);
      const y = new Float64Array(X.dims[0] * X.dims[1] * outSize);
      const cip = attrInt(v, 'count_include_pad', 0) === 1;
      const p = attrInt(v, 'p', 2);
      const windows = windowOffsets(axes);
      const inSize = size(X.dims.slice(2));
      for (let q = 0; q < X.dims[0] * X.dims[1]; q++) {
        windows.forEach((taps, o) => {
          let r = kind === 'max' ? Number.NEGATIVE_INFINITY : 0;
          let real = 0;
          let padded = 0;
          for (const t of taps) {
            if (t === TAP_PAD) padded++;
            if (t < 0) continue;
            real++;
            const x = X.data[q * inSize + t];
            r = kind === 'max' ? Math.max(r, x) : kind === 'lp' ? r + Math.abs(x) ** p : r + x;
          }
          if (kind === 'avg') r /= real + (cip ? padded : 0);
          if (kind === 'lp') r **= 1 / p;
          y[q * outSize + o] = r;
        });
      }
      return [{ dims: [X.dims[0], X.dims[1], ...outSpatial], data: y }];
    },
  };
}

function globalPool(kind: 'max' | 'avg'): StdOp {
  return {
    infer: (_v, [x]) => [
      x?.shape ? { elemType: x.elemType, shape: [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] } : { elemType: x?.elemType ?? 0 },
    ],
    evaluate: (_v, [x]) => {
      const X = x as NdArray;
      const nc = X.dims[0] * X.dims[1];
      const s = size(X.dims.slice(2));
      const y = new Float64Array(nc);
      for (let q = 0; q < nc; q++) {
        let r = kind === 'max' ? Number.NEGATIVE_INFINITY : 0;
        for (let i = 0; i < s; i++) r = kind === 'max' ? Math.max(r, X.data[q * s + i]) : r + X.data[q * s + i];
        y[q] = kind === 'max' ? r : r / s;
      }
      return [{ dims: [X.dims[0], X.dims[1], ...X.dims.slice(2).map(() => 1)], data: y }];
    },
  };
}

function reduceOp(kind: 'sum' | 'mean' | 'max'): StdOp {
  const axesOf = (v: StdNodeView, axesInput: NdArray | undefined, rank: number): number[] => {
    const raw = axesInput ? Array.from(axesInput.data) : (attrInts(v, 'axes') ?? []);
    if (raw.length === 0) return attrInt(v, 'noop_with_empty_axes', 0) ? [] : Array.from({ length: rank }, (_, i) => i);
    return raw.map((a) => normAxis(a, rank, v.label));
  };
  return {
    infer: (v, [x], [, axesValue]) => {
      if (!x?.shape) return [{ elemType: x?.elemType ?? 0 }];
      const axes = axesOf(v, axesValue, x.shape.length);
      const keep = attrInt(v, 'keepdims', 1) === 1;
      const shape = x.shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
      return [{ elemType: x.elemType, shape }];
    },
    evaluate: (v, [x, axesInput]) => {
      const X = x as NdArray;
      const axes = axesOf(v, axesInput, X.dims.length);
      const keep = attrInt(v, 'keepdims', 1) === 1;
      const outFull = X.dims.map((d, i) => (axes.includes(i) ? 1 : d));
      const y = new Float64Array(size(outFull)).fill(kind === 'max' ? Number.NEGATIVE_INFINITY : 0);
      const os = strides(outFull);
      const idx = new Array<number>(X.dims.length).fill(0);
      for (let k = 0; k < X.data.length; k++) {
        let o = 0;
        for (let d = 0; d < idx.length; d++) if (!axes.includes(d)) o += idx[d] * os[d];
        y[o] = kind === 'max' ? Math.max(y[o], X.data[k]) : y[o] + X.data[k];
        for (let d = idx.length - 1; d >= 0; d--) {
          if (++idx[d] < X.dims[d]) break;
          idx[d] = 0;
        }
      }
      if (kind === 'mean') {
        const n = X.data.length / y.length;
        for (let i = 0; i < y.length; i++) y[i] /= n;
      }
      return [{ dims: keep ? outFull : X.dims.filter((_, i) => !axes.includes(i)), data: y }];
    },
  };
}

const erf = (x: number): number => {
  // Abramowitz-Stegun 7.1.26 is too coarse for a float64 reference; use a series / continued fraction.
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = x;
    let term = x;
    for (let n = 1; n < 60; n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction for large |x|
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
};

// --- the table ----------------------------------------------------------------------------------

export const STD_OPS: Record<string, StdOp> = {
  Identity: unary((x) => x),
  Dropout: unary((x) => x),
  Relu: unary((x) => (x > 0 ? x : Number.isNaN(x) ? x : 0)),
  Sigmoid: unary((x) => 1 / (1 + Math.exp(-x))),
  Tanh: unary(Math.tanh),
  Abs: unary(Math.abs),
  Sign: unary((x) => (Number.isNaN(x) ? x : Math.sign(x) + 0)),
  Neg: unary((x) => -x),
  Exp: unary(Math.exp),
  Log: unary(Math.log),
  Sqrt: unary(Math.sqrt),
  Reciprocal: unary((x) => 1 / x),
  Erf: unary(erf),
  Gelu: unary((x) => 0.5 * x * (1 + erf(x / Math.SQRT2))),
  // log(1 + e^x) without overflow for large x
  Softplus: unary((x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)))),
  LeakyRelu: {
    infer: (_v, [x]) => [x ?? { elemType: 0 }],
    evaluate: (v, [x]) => {
      const alpha = attrFloat(v, 'alpha', 0.01);
      return [{ dims: [...(x as NdArray).dims], data: (x as NdArray).data.map((t) => (t < 0 ? alpha * t : t)) }];
    },
  },
  Clip: {
    infer: (_v, [x]) => [x ?? { elemType: 0 }],
    evaluate: (_v, [x, lo, hi]) => {
      const a = lo ? lo.data[0] : Number.NEGATIVE_INFINITY;
      const b = hi ? hi.data[0] : Number.POSITIVE_INFINITY;
      return [{ dims: [...(x as NdArray).dims], data: (x as NdArray).data.map((t) => (Number.isNaN(t) ? t : Math.min(Math.max(t, a), b))) }];
    },
  },
  Add: binaryOp((x, y) => x + y),
  Sub: binaryOp((x, y) => x - y),
  Mul: binaryOp((x, y) => x * y),
  Div: binaryOp((x, y) => x / y),
  // the exponent may have another element type: Y has the base's
  Pow: { ...binaryOp((x, y) => x ** y), infer: (v, [x, y]) => [{ ...broadcastMany([x, y], v.label), elemType: x?.elemType ?? 0 }] },
  Max: binaryOp((x, y) => (Number.isNaN(x) || Number.isNaN(y) ? Number.NaN : Math.max(x, y))),
  Min: binaryOp((x, y) => (Number.isNaN(x) || Number.isNaN(y) ? Number.NaN : Math.min(x, y))),
  MatMul: {
    infer: (v, [a, b]) => [matmulType(a, b, v.label)],
    evaluate: (v, [a, b]) => [matmul(a as NdArray, b as NdArray, v.label)],
  },
  Gemm: {
    infer: (v, [a, b, c]) => {
      const ta = attrInt(v, 'transA', 0);
      const tb = attrInt(v, 'transB', 0);
      if (a?.shape && a.shape.length !== 2) throw new StdOpError(`${v.label}: Gemm A must be 2-D, got [${a.shape}]`);
      if (b?.shape && b.shape.length !== 2) throw new StdOpError(`${v.label}: Gemm B must be 2-D, got [${b.shape}]`);
      const m = a?.shape ? a.shape[ta ? 1 : 0] : null;
      const ka = a?.shape ? a.shape[ta ? 0 : 1] : null;
      const kb = b?.shape ? b.shape[tb ? 1 : 0] : null;
      const n = b?.shape ? b.shape[tb ? 0 : 1] : null;
      if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb) {
        throw new StdOpError(`${v.label}: Gemm inner dims ${ka} and ${kb} differ`);
      }
      const out: ValueType = { elemType: a?.elemType ?? b?.elemType ?? 0, shape: [m, n] };
      if (c?.shape) broadcastDims(out.shape as Dim[], c.shape, v.label);
      return [out];
    },
    evaluate: (v, [a, b, c]) => {
      let A = a as NdArray;
      let B = b as NdArray;
      if (attrInt(v, 'transA', 0)) A = transpose(A, [1, 0]);
      if (attrInt(v, 'transB', 0)) B = transpose(B, [1, 0]);
      const alpha = attrFloat(v, 'alpha', 1);
      const beta = attrFloat(v, 'beta', 1);
      let y = matmul(A, B, v.label);
      y = { dims: y.dims, data: y.data.map((x) => x * alpha) };
      if (c) y = binary((x, z) => x + beta * z)(y, c, v.label);
      return [y];
    },
  },
  Conv: {
    infer: (v, [x, w]) => {
      if (!x?.shape || !w?.shape) return [{ elemType: x?.elemType ?? 0 }];
      const kernel = attrInts(v, 'kernel_shape') ?? (w.shape.slice(2) as number[]);
      const group = attrInt(v, 'group', 1);
      if (typeof x.shape[1] === 'number' && typeof w.shape[1] === 'number' && x.shape[1] !== w.shape[1] * group) {
        throw new StdOpError(`${v.label}: Conv input has ${x.shape[1]} channels, W expects ${w.shape[1]} x group ${group}`);
      }
      const wa = { ...windowAttrsOfConv(v, kernel) };
      return [{ elemType: x.elemType, shape: [x.shape[0], w.shape[0], ...outputDims('conv', x.shape.slice(2), wa)] }];
    },
    evaluate: (v, [x, w, bias]) => {
      const X = x as NdArray;
      const W = w as NdArray;
      const kernel = attrInts(v, 'kernel_shape') ?? W.dims.slice(2);
      const axes = resolveWindow('conv', X.dims.slice(2), windowAttrsOfConv(v, kernel));
      const group = attrInt(v, 'group', 1);
      const [N, Cin] = X.dims;
      const Cout = W.dims[0];
      const cg = Cin / group;
      const perGroup = Cout / group;
      const kSize = size(kernel);
      const outSpatial = axes.map((a) => a.output);
      const outSize = size(outSpatial);
      const y = new Float64Array(N * Cout * outSize);
      const inSize = size(X.dims.slice(2));
      const windows = windowOffsets(axes);
      for (let n = 0; n < N; n++)
        for (let co = 0; co < Cout; co++) {
          const g = Math.floor(co / perGroup);
          windows.forEach((taps, o) => {
            let s = bias ? bias.data[co] : 0;
            for (let ci = 0; ci < cg; ci++) {
              const xb = (n * Cin + g * cg + ci) * inSize;
              const wb = (co * cg + ci) * kSize;
              for (let k = 0; k < kSize; k++) if (taps[k] >= 0) s += X.data[xb + taps[k]] * W.data[wb + k];
            }
            y[(n * Cout + co) * outSize + o] = s;
          });
        }
      return [{ dims: [N, Cout, ...outSpatial], data: y }];
    },
  },
  MaxPool: poolOp('max'),
  AveragePool: poolOp('avg'),
  LpPool: poolOp('lp'),
  GlobalAveragePool: globalPool('avg'),
  GlobalMaxPool: globalPool('max'),
  BatchNormalization: {
    infer: (_v, [x]) => [x ?? { elemType: 1 }],
    evaluate: (v, [x, scale, b, mean, variance]) => {
      const X = x as NdArray;
      const eps = attrFloat(v, 'epsilon', 1e-5);
      const C = X.dims[1];
      const inner = size(X.dims.slice(2));
      const y = new Float64Array(X.data.length);
      for (let i = 0; i < X.data.length; i++) {
        const c = Math.floor(i / inner) % C;
        const sd = Math.sqrt((variance as NdArray).data[c] + eps);
        y[i] = ((X.data[i] - (mean as NdArray).data[c]) / sd) * (scale as NdArray).data[c] + (b as NdArray).data[c];
      }
      return [{ dims: [...X.dims], data: y }];
    },
  },
  Softmax: {
    infer: (_v, [x]) => [x ?? { elemType: 1 }],
    evaluate: (v, [x]) => {
      const X = x as NdArray;
      const axis = normAxis(attrInt(v, 'axis', -1), X.dims.length, v.label);
      const n = X.dims[axis];
      const inner = size(X.dims.slice(axis + 1));
      const outer = size(X.dims.slice(0, axis));
      const y = new Float64Array(X.data.length);
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < inner; i++) {
          let m = Number.NEGATIVE_INFINITY;
          for (let k = 0; k < n; k++) m = Math.max(m, X.data[(o * n + k) * inner + i]);
          let s = 0;
          for (let k = 0; k < n; k++) s += Math.exp(X.data[(o * n + k) * inner + i] - m);
          for (let k = 0; k < n; k++) y[(o * n + k) * inner + i] = Math.exp(X.data[(o * n + k) * inner + i] - m) / s;
        }
      return [{ dims: [...X.dims], data: y }];
    },
  },
  Concat: {
    infer: (v, inputs) => {
      const known = inputs.filter((t) => t?.shape) as ValueType[];
      if (known.length !== inputs.length || known.length === 0) return [{ elemType: inputs[0]?.elemType ?? 0 }];
      const rank = (known[0].shape as Dim[]).length;
      const axis = normAxis(attrInt(v, 'axis', 0), rank, v.label);
      const shape = [...(known[0].shape as Dim[])];
      let total: Dim = 0;
      for (const t of known) {
        const s = t.shape as Dim[];
        if (s.length !== rank) throw new StdOpError(`${v.label}: Concat inputs have ranks ${rank} and ${s.length}`);
        s.forEach((d, i) => {
          if (i !== axis && typeof d === 'number' && typeof shape[i] === 'number' && d !== shape[i]) {
            throw new StdOpError(`${v.label}: Concat inputs differ in dim ${i} (${shape[i]} vs ${d})`);
          }
        });
        total = typeof total === 'number' && typeof s[axis] === 'number' ? total + (s[axis] as number) : null;
      }
      shape[axis] = total;
      return [{ elemType: known[0].elemType, shape }];
    },
    evaluate: (v, inputs) => {
      const xs = inputs as NdArray[];
      const axis = normAxis(attrInt(v, 'axis', 0), xs[0].dims.length, v.label);
      const outer = size(xs[0].dims.slice(0, axis));
      const dims = [...xs[0].dims];
      dims[axis] = xs.reduce((s, x) => s + x.dims[axis], 0);
      const y = new Float64Array(size(dims));
      let k = 0;
      for (let o = 0; o < outer; o++)
        for (const x of xs) {
          const chunk = size(x.dims.slice(axis));
          y.set(x.data.subarray(o * chunk, (o + 1) * chunk), k);
          k += chunk;
        }
      return [{ dims, data: y }];
    },
  },
  Flatten: {
    infer: (v, [x]) => {
      if (!x?.shape) return [{ elemType: x?.elemType ?? 0 }];
      const axis = attrInt(v, 'axis', 1);
      const a = axis < 0 ? axis + x.shape.length : axis;
      const prod = (ds: Dim[]) => (ds.every((d) => typeof d === 'number') ? size(ds as number[]) : null);
      const lead = x.shape.slice(0, a);
      return [{ elemType: x.elemType, shape: [lead.length === 1 ? lead[0] : prod(lead), prod(x.shape.slice(a))] }];
    },
    evaluate: (v, [x]) => {
      const X = x as NdArray;
      const axis = attrInt(v, 'axis', 1);
      const a = axis < 0 ? axis + X.dims.length : axis;
      return [{ dims: [size(X.dims.slice(0, a)), size(X.dims.slice(a))], data: X.data }];
    },
  },
  Reshape: {
    infer: (v, [x], [, shape]) => {
      if (!shape) return [{ elemType: x?.elemType ?? 0 }];
      const target = Array.from(shape.data);
      return [{ elemType: x?.elemType ?? 0, shape: reshapeTarget(x?.shape ?? target.map(() => null), target, attrInt(v, 'allowzero', 0) === 1, v.label) }];
    },
    evaluate: (v, [x, shape]) => {
      const X = x as NdArray;
      const dims = reshapeTarget(X.dims, Array.from((shape as NdArray).data), attrInt(v, 'allowzero', 0) === 1, v.label) as number[];
      return [{ dims, data: X.data }];
    },
  },
  Transpose: {
    infer: (v, [x]) => {
      if (!x?.shape) return [{ elemType: x?.elemType ?? 0 }];
      const perm = attrInts(v, 'perm') ?? x.shape.map((_, i, a) => a.length - 1 - i);
      return [{ elemType: x.elemType, shape: perm.map((p) => (x.shape as Dim[])[p]) }];
    },
    evaluate: (v, [x]) => {
      const X = x as NdArray;
      return [transpose(X, attrInts(v, 'perm') ?? X.dims.map((_, i, a) => a.length - 1 - i))];
    },
  },
  Unsqueeze: {
    infer: (v, [x], [, axes]) => {
      if (!x?.shape || !axes) return [{ elemType: x?.elemType ?? 0 }];
      return [{ elemType: x.elemType, shape: unsqueezeDims(x.shape, Array.from(axes.data), v.label) }];
    },
    evaluate: (v, [x, axes]) => [
      { dims: unsqueezeDims((x as NdArray).dims, Array.from((axes as NdArray).data), v.label) as number[], data: (x as NdArray).data },
    ],
  },
  Squeeze: {
    infer: (v, [x], [, axes]) => {
      if (!x?.shape) return [{ elemType: x?.elemType ?? 0 }];
      const r = x.shape.length;
      const ax = axes ? Array.from(axes.data).map((a) => normAxis(a, r, v.label)) : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
      return [{ elemType: x.elemType, shape: x.shape.filter((_, i) => !ax.includes(i)) }];
    },
    evaluate: (v, [x, axes]) => {
      const X = x as NdArray;
      const r = X.dims.length;
      const ax = axes ? Array.from(axes.data).map((a) => normAxis(a, r, v.label)) : X.dims.flatMap((d, i) => (d === 1 ? [i] : []));
      return [{ dims: X.dims.filter((_, i) => !ax.includes(i)), data: X.data }];
    },
  },
  ReduceSum: reduceOp('sum'),
  ReduceMean: reduceOp('mean'),
  ReduceMax: reduceOp('max'),
  Cast: {
    infer: (v, [x]) => [{ ...(x ?? {}), elemType: attrInt(v, 'to', 0) }],
    evaluate: (v, [x]) => {
      const to = attrInt(v, 'to', 0);
      const round = CAST_ROUNDING[to];
      if (!round) throw new StdOpError(`${v.label}: the reference evaluates Cast to float, float16, double and the integer types, not to type ${to}`);
      return [{ dims: [...(x as NdArray).dims], data: (x as NdArray).data.map(round) }];
    },
  },
  // y = (x - zero_point) * scale, in the scale's type (or output_dtype)
  DequantizeLinear: {
    infer: (v, [x, scale]) => [{ ...(x?.shape ? { shape: x.shape } : {}), elemType: attrInt(v, 'output_dtype', 0) || scale?.elemType || 1 }],
    evaluate: (v, [x, scale, zero]) => {
      const X = x as NdArray;
      const at = quantParams(v, X, scale as NdArray, zero);
      const type = attrInt(v, 'output_dtype', 0) || (scale as NdArray).elemType || 1;
      const to = CAST_ROUNDING[type];
      if (!to) throw new StdOpError(`${v.label}: DequantizeLinear to type ${type} is not evaluated here (float, float16 and double are)`);
      return [{ dims: [...X.dims], data: X.data.map((q, k) => {
        const [s, z] = at(k);
        return to((q - z) * s);
      }) }];
    },
  },
  // y = saturate(round_half_even(x / scale) + zero_point), in the zero point's type (or output_dtype,
  // or uint8); x / scale in float, as onnxruntime divides
  QuantizeLinear: {
    infer: (v, [x, , zero]) => [{ ...(x?.shape ? { shape: x.shape } : {}), elemType: zero?.elemType || attrInt(v, 'output_dtype', 0) || 2 }],
    evaluate: (v, [x, scale, zero]) => {
      const X = x as NdArray;
      const at = quantParams(v, X, scale as NdArray, zero);
      // the zero point's type (an initializer's), else output_dtype, else uint8
      const type = zero?.elemType || attrInt(v, 'output_dtype', 0) || 2;
      const range = INTEGER_RANGES[type];
      if (!range || type === 6) throw new StdOpError(`${v.label}: QuantizeLinear to type ${type} is not evaluated here (uint8, int8, uint16, int16, uint4, int4 are)`);
      return [{ dims: [...X.dims], data: X.data.map((r, k) => {
        const [s, z] = at(k);
        const q = roundHalfEven(Math.fround(r / s)) + z;
        // NaN: the low end, as onnxruntime's kernels give on x86 (the conversion's integer
        // indefinite, saturated)
        return Number.isNaN(q) ? range[0] : Math.min(range[1], Math.max(range[0], q));
      }), elemType: type }];
    },
  },
  Constant: {
    infer: (v) => {
      const c = constantOf(v);
      // another form (sparse_value, value_string(s)): nothing is claimed about it
      return [c ? { elemType: c.elemType, shape: c.value.dims } : { elemType: 0 }];
    },
    evaluate: (v) => {
      const c = constantOf(v);
      if (!c) throw new StdOpError(`${v.label}: Constant needs a value, value_float(s) or value_int(s) attribute`);
      return [c.value];
    },
  },
};

/** A Constant node's value and element type, for the forms of a numeric tensor; undefined otherwise. */
export function constantOf(v: StdNodeView): { elemType: number; value: NdArray } | undefined {
  const t = v.attr('value')?.t;
  if (t) {
    const x = tensorFromProto(t);
    return { elemType: t.data_type ?? 0, value: { dims: x.dims, data: toFloat64(x) } };
  }
  const f = v.attr('value_float')?.f;
  if (v.attr('value_float')) return { elemType: 1, value: { dims: [], data: Float64Array.of(f ?? 0) } };
  if (v.attr('value_floats')) {
    const fs = v.attr('value_floats')?.floats ?? [];
    return { elemType: 1, value: { dims: [fs.length], data: Float64Array.from(fs) } };
  }
  if (v.attr('value_int')) return { elemType: 7, value: { dims: [], data: Float64Array.of(attrInt(v, 'value_int', 0)) } };
  if (v.attr('value_ints')) {
    const is = attrInts(v, 'value_ints') ?? [];
    return { elemType: 7, value: { dims: [is.length], data: Float64Array.from(is) } };
  }
  return undefined;
}

function unsqueezeDims(dims: readonly Dim[], axes: number[], label: string): Dim[] {
  const r = dims.length + axes.length;
  const norm = axes.map((a) => normAxis(a, r, label));
  const out: Dim[] = [];
  let k = 0;
  for (let i = 0; i < r; i++) out.push(norm.includes(i) ? 1 : dims[k++]);
  return out;
}

function windowAttrsOfConv(v: StdNodeView, kernel: number[]): WindowAttrs {
  return {
    kernel_shape: kernel,
    strides: attrInts(v, 'strides'),
    pads: attrInts(v, 'pads'),
    dilations: attrInts(v, 'dilations'),
    auto_pad: attrString(v, 'auto_pad', 'NOTSET'),
  };
}
