// Fusion of l1 ("adder") convolutions written with standard ops: AdderNet's adder2d and l1
// point-cloud convolutions export as an im2col (Shape, Gather, Range, Pad, Reshape, Transpose) feeding
// -(W - X_col).abs().sum(1), rearranged to [N, C_out, spatial] and maybe a bias added. The layer is
// found from its core, ReduceSum(Abs(Sub(W, X_col))), and proven to be an L1Conv by its maths: the
// rearrangements on both sides are evaluated on index-coded probes of X, which gives every output's
// taps (the X element or padding, and the weight), and the convolution geometry read from them must
// reproduce every tap of every output exactly.
import { type Dim, outputDims } from '../../ops/geometry';
import type { NdArray, ValueType } from '../../ops/types';
import { isStdDomain } from '../graph/infer';
import { nodeLabel } from '../graph/model';
import { attrFloat, attrInt, attrInts, attrString, constantOf, STD_OPS, type StdNodeView } from '../graph/std-ops';
import type { NodeProto } from '../onnx/proto';
import { type Graph, isOp, type Match, type Namer, type NearMiss, lpAttributes, scalar, scopeOf, view, weightTensor } from './fuse-graph';

/** A float64 tensor of the probe evaluator; `int` for integer element types (division truncates). */
interface T64 {
  dims: number[];
  data: Float64Array;
  int: boolean;
}

class ProbeError extends Error {}

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}
const normAxis = (a: number, r: number) => (a < 0 ? a + r : a);
const ints = (t: T64 | undefined) => (t ? Array.from(t.data, (v) => Math.trunc(v)) : undefined);

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new ProbeError(`shapes [${a}] and [${b}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** The flat index into a tensor of `dims` broadcast to `out`, for each flat index of `out`. */
function broadcastIndex(dims: readonly number[], out: readonly number[]): Int32Array {
  const r = out.length;
  const padded = [...new Array(r - dims.length).fill(1), ...dims];
  const s = stridesOf(padded);
  const os = stridesOf(out);
  const idx = new Int32Array(size(out));
  for (let i = 0; i < idx.length; i++) {
    let rem = i;
    let j = 0;
    for (let d = 0; d < r; d++) {
      const q = Math.floor(rem / os[d]);
      rem -= q * os[d];
      if (padded[d] !== 1) j += q * s[d];
    }
    idx[i] = j;
  }
  return idx;
}

/** Element-wise gather of a tensor along one axis (ONNX Gather). */
function gather(x: T64, indices: T64, axis: number): T64 {
  const a = normAxis(axis, x.dims.length);
  const outer = size(x.dims.slice(0, a));
  const n = x.dims[a];
  const inner = size(x.dims.slice(a + 1));
  const idx = Array.from(indices.data, (v) => (v < 0 ? v + n : v));
  if (idx.some((v) => v < 0 || v >= n || !Number.isInteger(v))) throw new ProbeError('Gather index out of range');
  const dims = [...x.dims.slice(0, a), ...indices.dims, ...x.dims.slice(a + 1)];
  const data = new Float64Array(size(dims));
  let o = 0;
  for (let p = 0; p < outer; p++) for (const k of idx) for (let q = 0; q < inner; q++) data[o++] = x.data[(p * n + k) * inner + q];
  return { dims, data, int: x.int };
}

function pad(x: T64, pads: number[], value: number): T64 {
  const r = x.dims.length;
  if (pads.some((p) => p < 0)) throw new ProbeError('negative pads');
  const dims = x.dims.map((d, i) => d + pads[i] + pads[i + r]);
  const data = new Float64Array(size(dims)).fill(value);
  const s = stridesOf(x.dims);
  const os = stridesOf(dims);
  for (let i = 0; i < x.data.length; i++) {
    let rem = i;
    let j = 0;
    for (let d = 0; d < r; d++) {
      const q = Math.floor(rem / s[d]);
      rem -= q * s[d];
      j += (q + pads[d]) * os[d];
    }
    data[j] = x.data[i];
  }
  return { dims, data, int: x.int };
}

function slice(x: T64, starts: number[], ends: number[], axes: number[], steps: number[]): T64 {
  const r = x.dims.length;
  const lo = x.dims.map(() => 0);
  const st = x.dims.map(() => 1);
  const count = [...x.dims];
  axes.forEach((ax, i) => {
    const a = normAxis(ax, r);
    const n = x.dims[a];
    const step = steps[i] ?? 1;
    if (step === 0) throw new ProbeError('Slice step 0');
    const clamp = (v: number, lo0: number, hi: number) => Math.min(Math.max(v, lo0), hi);
    let s0 = starts[i] < 0 ? starts[i] + n : starts[i];
    let e0 = ends[i] < 0 ? ends[i] + n : ends[i];
    if (step > 0) {
      s0 = clamp(s0, 0, n);
      e0 = clamp(e0, 0, n);
      count[a] = Math.max(0, Math.ceil((e0 - s0) / step));
    } else {
      s0 = clamp(s0, 0, n - 1);
      e0 = clamp(e0, -1, n - 1);
      count[a] = Math.max(0, Math.ceil((e0 - s0) / step));
    }
    lo[a] = s0;
    st[a] = step;
  });
  const s = stridesOf(x.dims);
  const os = stridesOf(count);
  const data = new Float64Array(size(count));
  for (let i = 0; i < data.length; i++) {
    let rem = i;
    let j = 0;
    for (let d = 0; d < r; d++) {
      const q = Math.floor(rem / os[d]);
      rem -= q * os[d];
      j += (lo[d] + q * st[d]) * s[d];
    }
    data[i] = x.data[j];
  }
  return { dims: count, data, int: x.int };
}

const INT_TYPES = new Set([2, 3, 4, 5, 6, 7, 9, 12, 13]);
/**
 * The ops of an im2col that the standard-op evaluators (src/graph/std-ops) do not have: shape
 * arithmetic and gathers. The others come from STD_OPS (STD_REARRANGEMENTS).
 */
const PROBE_OPS: Record<string, (v: StdNodeView, x: (T64 | undefined)[]) => T64> = {
  Cast: (v, [x]) => {
    const int = INT_TYPES.has(attrInt(v, 'to', 1));
    return { dims: (x as T64).dims, data: int ? (x as T64).data.map(Math.trunc) : (x as T64).data, int };
  },
  Shape: (v, [x]) => {
    const r = (x as T64).dims.length;
    const start = normAxis(attrInt(v, 'start', 0), r);
    const end = v.attr('end') ? normAxis(attrInt(v, 'end', r), r) : r;
    const d = (x as T64).dims.slice(Math.max(0, start), Math.min(r, end));
    return { dims: [d.length], data: Float64Array.from(d), int: true };
  },
  Gather: (v, [x, i]) => gather(x as T64, i as T64, attrInt(v, 'axis', 0)),
  Range: (_v, [s, l, d]) => {
    const [a, b, c] = [(s as T64).data[0], (l as T64).data[0], (d as T64).data[0]];
    const n = Math.max(0, Math.ceil((b - a) / c));
    if (!Number.isFinite(n) || n > 1e7) throw new ProbeError('Range too large');
    return { dims: [n], data: Float64Array.from({ length: n }, (_, k) => a + k * c), int: (s as T64).int };
  },
  Pad: (v, [x, p, c]) => {
    if (attrString(v, 'mode', 'constant') !== 'constant') throw new ProbeError('Pad mode');
    const pads = ints(p) ?? attrInts(v, 'pads') ?? [];
    return pad(x as T64, pads, c ? c.data[0] : attrFloat(v, 'value', 0));
  },
  Slice: (_v, [x, s, e, a, st]) => {
    const starts = ints(s) ?? [];
    return slice(x as T64, starts, ints(e) ?? [], ints(a) ?? starts.map((_, i) => i), ints(st) ?? starts.map(() => 1));
  },
  Expand: (_v, [x, s]) => {
    const dims = broadcastShape((x as T64).dims, ints(s) ?? []);
    const idx = broadcastIndex((x as T64).dims, dims);
    return { dims, data: Float64Array.from(idx, (i) => (x as T64).data[i]), int: (x as T64).int };
  },
  ConstantOfShape: (v, [s]) => {
    const t = v.attr('value')?.t;
    const value = t ? (constantOf({ ...v, attr: (n) => (n === 'value' ? { name: 'value', type: 4, t } : undefined) })?.value.data[0] ?? 0) : 0;
    const dims = ints(s) ?? [];
    return { dims, data: new Float64Array(size(dims)).fill(value), int: t ? INT_TYPES.has(t.data_type ?? 1) : false };
  },
};

/** Rearrangements and integer arithmetic the standard-op evaluators compute. */
const STD_REARRANGEMENTS = new Set(['Identity', 'Reshape', 'Flatten', 'Transpose', 'Concat', 'Unsqueeze', 'Squeeze', 'Add', 'Sub', 'Mul', 'Div', 'Neg']);
const ARITHMETIC = new Set(['Add', 'Sub', 'Mul', 'Div', 'Concat']);

/** Evaluates values of the graph from given tensors (the probes), constants and the ops above. */
class Probe {
  private readonly memo = new Map<string, T64>();
  readonly visited = new Set<NodeProto>();
  constructor(
    private readonly g: Graph,
    given: Map<string, T64>,
  ) {
    for (const [k, v] of given) this.memo.set(k, v);
  }

  value(name: string, depth = 0): T64 {
    const hit = this.memo.get(name);
    if (hit) return hit;
    if (depth > 400) throw new ProbeError('too deep');
    const c = this.g.constant(name);
    let out: T64;
    if (c) {
      out = { dims: c.dims, data: c.data, int: this.g.isIntConstant(name) };
    } else {
      const n = this.g.producer.get(name);
      if (!n || !isStdDomain(n.domain)) throw new ProbeError(`'${name}' is not computed from the probe`);
      if (n.op_type === 'Constant') {
        const k = constantOf(view(n));
        if (!k) throw new ProbeError('Constant form');
        out = { dims: k.value.dims, data: k.value.data, int: INT_TYPES.has(k.elemType) };
      } else {
        const op = n.op_type ?? '';
        const f = PROBE_OPS[op];
        const std = STD_REARRANGEMENTS.has(op) ? STD_OPS[op] : undefined;
        if (!f && !std) throw new ProbeError(`${op} is not a rearrangement`);
        const ins = (n.input ?? []).map((x) => (x ? this.value(x, depth + 1) : undefined));
        if (f) {
          out = f(view(n), ins);
        } else {
          // shape arithmetic is integer: an integer Div truncates
          const int = ARITHMETIC.has(op) ? ins.every((t) => !t || t.int) : !!ins[0]?.int;
          let r: NdArray;
          try {
            [r] = (std as NonNullable<typeof std>).evaluate(view(n), ins);
          } catch (e) {
            throw new ProbeError((e as Error).message);
          }
          out = { dims: r.dims, data: int ? r.data.map(Math.trunc) : r.data, int };
        }
        this.visited.add(n);
      }
    }
    this.memo.set(name, out);
    return out;
  }
}

/** Ops that only move data (the data input is input 0; the others are shapes and indices). */
const MOVES = new Set(['Identity', 'Reshape', 'Transpose', 'Unsqueeze', 'Squeeze', 'Flatten', 'Gather', 'Pad', 'Slice', 'Expand']);

/**
 * Where each element of `value` comes from, as a flat index into the probed tensor (its shape
 * `dims`), or -1 for a constant 0 (padding): two probes coded i + 1 and 2 (i + 1); any element
 * that is not a copy of one element (or 0) refuses. `sign`: -1 when one negation lies on the way.
 */
function origins(g: Graph, from: string, dims: number[], to: string, sign: 1 | -1, extra?: Map<string, T64>): { index: Int32Array; dims: number[]; nodes: Set<NodeProto> } {
  const n = size(dims);
  const run = (scale: number) => {
    const given = new Map(extra);
    given.set(from, { dims, data: Float64Array.from({ length: n }, (_, i) => scale * (i + 1)), int: false });
    const p = new Probe(g, given);
    return { t: p.value(to), nodes: p.visited };
  };
  const a = run(1);
  const b = run(2);
  const index = new Int32Array(a.t.data.length);
  for (let i = 0; i < index.length; i++) {
    const u = a.t.data[i] * sign;
    const v = b.t.data[i] * sign;
    if (u === 0 && v === 0) index[i] = -1;
    else if (v === 2 * u && Number.isInteger(u) && u >= 1 && u <= n) index[i] = u - 1;
    else throw new ProbeError('not a rearrangement of its input');
  }
  return { index, dims: a.t.dims, nodes: a.nodes };
}

/** The single float tensor a chain of rearrangements reads (following data inputs back). */
function dataSource(g: Graph, value: string): string {
  let v = value;
  for (let steps = 0; steps < 200; steps++) {
    const n = g.producer.get(v);
    if (!n || !isStdDomain(n.domain) || !MOVES.has(n.op_type ?? '') || g.constant(v)) return v;
    v = n.input?.[0] ?? '';
  }
  return v;
}

/** The layer from its core ReduceSum(Abs(Sub(W, X_col))) (W on either side). */
export function matchL1(g: Graph, reduce: NodeProto, namer: Namer, types: ReadonlyMap<string, ValueType>): Match {
  const abs = g.node(reduce.input?.[0]);
  if (!isOp(abs, 'Abs')) return undefined;
  const sub = g.node(abs.input?.[0]);
  if (!isOp(sub, 'Sub')) return undefined;
  const [a, b] = sub.input ?? [];
  if (!a || !b) return undefined;
  const wName = g.constant(a) ? a : g.constant(b) ? b : undefined;
  if (!wName) return undefined;
  const xcol = wName === a ? b : a;
  const pattern = 'l1 (adder) convolution (im2col, -(W - X_col).abs().sum, rearranged)';
  const label = nodeLabel(reduce);
  const miss = (why: string): NearMiss => ({ node: label, pattern, why });
  const x = dataSource(g, xcol);
  const xt = types.get(x)?.shape;
  if (!xt || xt.length < 3 || xt.length > 5) return miss(`the input's rank is ${xt?.length ?? 'unknown'} (expected N, C and 1 to 3 spatial dims)`);
  if (xt.slice(1).some((d) => typeof d !== 'number')) return miss('the input has symbolic dims besides the batch');
  // the output side: rearrangements, one negation, maybe a bias
  const chain: NodeProto[] = [];
  let out = reduce.output?.[0] ?? '';
  let sign: 1 | -1 = 1;
  for (;;) {
    const cs = g.consumers.get(out) ?? [];
    if (cs.length !== 1 || g.outputs.has(out)) break;
    const c = cs[0];
    if (!isStdDomain(c.domain)) break;
    const isNeg = c.op_type === 'Neg' || (c.op_type === 'Mul' && (scalar(g, c.input?.[1]) === -1 || scalar(g, c.input?.[0]) === -1));
    if (isNeg && sign === 1) sign = -1;
    else if (!(['Identity', 'Reshape', 'Transpose', 'Unsqueeze', 'Squeeze', 'Flatten'].includes(c.op_type ?? '') || g.passesOn(c)) || c.input?.[0] !== out) break;
    chain.push(c);
    out = c.output?.[0] ?? '';
  }
  if (sign === 1) return miss('the distance is not negated (L1Conv is B - sum |x - w|)');
  let bias: { dims: number[]; data: Float64Array } | undefined;
  let biasNode: NodeProto | undefined;
  const next = g.consumers.get(out) ?? [];
  if (next.length === 1 && !g.outputs.has(out) && isOp(next[0], 'Add')) {
    const other = next[0].input?.[0] === out ? next[0].input?.[1] : next[0].input?.[0];
    const c = g.constant(other);
    if (c) {
      biasNode = next[0];
      bias = c;
    }
  }
  // a symbolic batch is probed at two sizes: the geometry may not depend on it
  const batches = typeof xt[0] === 'number' ? [xt[0]] : [1, 2];
  let geo: L1Geometry | undefined;
  const probed = new Set<NodeProto>();
  for (const n of batches) {
    const xdims = [n, ...(xt.slice(1) as number[])];
    let r: L1Geometry | string;
    try {
      r = geometryOf(g, { x, xdims, xcol, w: wName, reduce, chainOut: out, sign }, probed);
    } catch (e) {
      if (!(e instanceof ProbeError)) throw e;
      return miss(`its rearrangements could not be traced (${e.message})`);
    }
    if (typeof r === 'string') return miss(r);
    if (geo && JSON.stringify(geo) !== JSON.stringify(r)) return miss('the geometry depends on the batch size');
    geo = r;
  }
  if (!geo) return undefined;
  // a bias: one value per output channel
  let b32: Float32Array | undefined;
  if (bias && biasNode) {
    const dims = bias.dims;
    const r = xt.length;
    const padded = [...new Array(Math.max(0, r - dims.length)).fill(1), ...dims];
    if (padded.length !== r || padded.some((d, i) => i !== 1 && d !== 1) || (padded[1] !== 1 && padded[1] !== geo.cout)) {
      biasNode = undefined; // not a per-channel bias: left after the fused node
    } else {
      const values = bias.data;
      b32 = Float32Array.from({ length: geo.cout }, (_, i) => values[padded[1] === 1 ? 0 : i]);
    }
  }
  const scope = scopeOf(reduce.name);
  const name = namer.fresh(`${scope}L1Conv`);
  const wt = weightTensor(g, x, [geo.cout, geo.cg, ...geo.kernel], geo.w, namer.fresh(`${scope}L1Conv.W`));
  const initializers = [wt];
  const inputs = [x, wt.name ?? ''];
  if (b32) {
    const bt = weightTensor(g, x, [geo.cout], b32, namer.fresh(`${scope}L1Conv.B`));
    initializers.push(bt);
    inputs.push(bt.name ?? '');
  }
  const { proto, shown: attrs } = lpAttributes('L1Conv', {
    kernel_shape: geo.kernel,
    strides: geo.strides,
    pads: geo.pads,
    dilations: geo.dilations,
    group: geo.group,
  });
  const output = biasNode ? (biasNode.output?.[0] ?? '') : out;
  const root = biasNode ?? chain[chain.length - 1];
  const layer = [reduce, abs, sub, ...chain, ...(biasNode ? [biasNode] : []), ...probed];
  return {
    fusion: { name, op: 'L1Conv', pattern, attrs: { ...attrs, W: [geo.cout, geo.cg, ...geo.kernel], ...(b32 ? { B: [geo.cout] } : {}) }, output },
    nodes: [{ op_type: 'L1Conv', domain: 'com.lponnx', name, input: inputs, output: [output], attribute: proto }],
    initializers,
    layer,
    root,
  };
}

interface L1Geometry {
  cout: number;
  cg: number;
  group: number;
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
  /** [cout, cg, ...kernel] */
  w: number[];
}

interface Core {
  x: string;
  xdims: number[];
  xcol: string;
  w: string;
  reduce: NodeProto;
  chainOut: string;
  sign: 1 | -1;
}

/** Every output's taps from the probes, and the L1Conv geometry that reproduces them (or why not). */
function geometryOf(g: Graph, c: Core, probed: Set<NodeProto>): L1Geometry | string {
  const W = g.constant(c.w);
  if (!W) return 'W is not a constant';
  const inSide = origins(g, c.x, c.xdims, c.xcol, 1);
  for (const n of inSide.nodes) probed.add(n);
  // the core: |W - X_col| broadcast, summed over the reduced axes
  const full = broadcastShape(W.dims, inSide.dims);
  const r = full.length;
  const rv = view(c.reduce);
  const axesIn = c.reduce.input?.[1] ? g.constant(c.reduce.input[1])?.data : attrInts(rv, 'axes');
  if (!axesIn || axesIn.length === 0) return 'the ReduceSum has no axes';
  const axes = [...axesIn].map((a) => normAxis(a, r));
  const keep = attrInt(rv, 'keepdims', 1) === 1;
  const kept = full.map((_, i) => i).filter((i) => !axes.includes(i));
  const rsDims = keep ? full.map((d, i) => (axes.includes(i) ? 1 : d)) : kept.map((i) => full[i]);
  // (the rearrangement after it may read X's shape, never its values)
  const xShape = new Map([[c.x, { dims: c.xdims, data: new Float64Array(size(c.xdims)), int: false }]]);
  const outSide = origins(g, c.reduce.output?.[0] ?? '', rsDims, c.chainOut, c.sign, xShape);
  for (const n of outSide.nodes) probed.add(n);
  const ydims = outSide.dims;
  const xd = c.xdims;
  if (ydims.length !== xd.length || ydims[0] !== xd[0]) return `the result [${ydims}] is not [N, C_out, spatial] of the input [${xd}]`;
  if (outSide.index.some((i) => i < 0)) return 'an output element does not come from the distance';
  const sr = xd.length - 2;
  const cout = ydims[1];
  const K = axes.reduce((m, a) => m * full[a], 1);
  // tap k of RS element q: the full index of (q, k), then W's and X_col's elements
  // the full index of (RS element q, tap k) is separable: a part from q's kept dims, a part from
  // k's reduced dims; so are W's and X_col's broadcast indices (no full-size table is built)
  const strideIn = (dims: readonly number[]) => {
    const padded = [...new Array(r - dims.length).fill(1), ...dims];
    const st = stridesOf(padded);
    return padded.map((d, a) => (d === 1 ? 0 : st[a]));
  };
  const wStride = strideIn(W.dims);
  const bStride = strideIn(inSide.dims);
  const rsN = size(rsDims);
  const qW = new Int32Array(rsN);
  const qB = new Int32Array(rsN);
  const rsStrides = stridesOf(keep ? rsDims : kept.map((a) => full[a]));
  for (let q = 0; q < rsN; q++) {
    let rem = q;
    let w0 = 0;
    let b0 = 0;
    const dimsOfQ = keep ? full.map((_, a) => a) : kept;
    for (let d = 0; d < dimsOfQ.length; d++) {
      const v = Math.floor(rem / rsStrides[d]);
      rem -= v * rsStrides[d];
      const a = dimsOfQ[d];
      if (keep && axes.includes(a)) continue;
      w0 += v * wStride[a];
      b0 += v * bStride[a];
    }
    qW[q] = w0;
    qB[q] = b0;
  }
  const redStrides = stridesOf(axes.map((a) => full[a]));
  const kW = new Int32Array(K);
  const kB = new Int32Array(K);
  for (let k = 0; k < K; k++) {
    let rem = k;
    for (let d = 0; d < axes.length; d++) {
      const v = Math.floor(rem / redStrides[d]);
      rem -= v * redStrides[d];
      kW[k] += v * wStride[axes[d]];
      kB[k] += v * bStride[axes[d]];
    }
  }
  const srcOf = (y: number, k: number) => inSide.index[qB[outSide.index[y]] + kB[k]];
  const wOf = (y: number, k: number) => W.data[qW[outSide.index[y]] + kW[k]];
  const tap = (y: number, k: number) => ({ src: srcOf(y, k), w: wOf(y, k) });
  const ys = stridesOf(ydims);
  const xs = stridesOf(xd);
  const decompose = (i: number, s: number[], dims: number[]) => dims.map((_, d) => Math.floor(i / s[d]) % dims[d]);
  const outSpatial = ydims.slice(2);
  const positions = size(outSpatial);
  const ops = stridesOf(outSpatial);
  // per output channel: a position whose taps all lie inside the input gives the tap layout
  const layout: { c: number; kpos: number[] }[][] = [];
  let kernel: number[] | undefined;
  let dil: number[] | undefined;
  let strides: number[] | undefined;
  let padsBegin: number[] | undefined;
  let cg = 0;
  let group = 0;
  for (let co = 0; co < cout; co++) {
    let ref = -1;
    for (let o = 0; o < positions && ref < 0; o++) {
      const y = co * ys[1] + o;
      let inside = true;
      for (let k = 0; k < K && inside; k++) inside = tap(y, k).src >= 0;
      if (inside) ref = o;
    }
    if (ref < 0) return 'no output position reads only real input elements';
    const y = co * ys[1] + ref;
    const srcs = Array.from({ length: K }, (_, k) => decompose(tap(y, k).src, xs, xd));
    if (srcs.some((s) => s[0] !== 0)) return 'an output reads another batch element';
    const chans = [...new Set(srcs.map((s) => s[1]))].sort((p, q) => p - q);
    const ks: number[] = [];
    const ds: number[] = [];
    const v0: number[] = [];
    for (let a = 0; a < sr; a++) {
      const vals = [...new Set(srcs.map((s) => s[2 + a]))].sort((p, q) => p - q);
      const d = vals.length > 1 ? vals[1] - vals[0] : 1;
      if (vals.some((v, i) => v !== vals[0] + i * d)) return 'the taps are not evenly spaced';
      ks.push(vals.length);
      ds.push(d);
      v0.push(vals[0]);
    }
    if (chans.length * size(ks) !== K) return `${K} taps are not ${chans.length} channels x kernel [${ks}]`;
    if (kernel && (kernel.join() !== ks.join() || dil?.join() !== ds.join() || cg !== chans.length)) return 'the kernel differs between output channels';
    kernel = ks;
    dil = ds;
    cg = chans.length;
    const gi = chans[0] / cg;
    if (!Number.isInteger(gi) || chans.some((ch, i) => ch !== chans[0] + i)) return 'an output channel reads channels that are not one group';
    if (co === 0) {
      group = xd[1] / cg;
      if (!Number.isInteger(group) || cout % group !== 0) return `the input's ${xd[1]} channels are not groups of ${cg} (output ${cout})`;
    }
    if (gi !== Math.floor(co / (cout / group))) return 'an output channel reads another group';
    layout.push(srcs.map((s) => ({ c: s[1] - chans[0], kpos: s.slice(2).map((v, a) => (v - v0[a]) / ds[a]) })));
    // stride and pads from the reference position and its neighbours (the same tap k moves by a stride)
    const oref = decompose(ref, ops, outSpatial);
    const st: number[] = [];
    for (let a = 0; a < sr; a++) {
      if (outSpatial[a] === 1) {
        st.push(1);
        continue;
      }
      const step = oref[a] + 1 < outSpatial[a] ? 1 : -1;
      const y2 = co * ys[1] + ref + step * ops[a];
      let found = 0;
      for (let k = 0; k < K && !found; k++) {
        const t2 = tap(y2, k).src;
        if (t2 >= 0) found = (decompose(t2, xs, xd)[2 + a] - srcs[k][2 + a]) * step;
      }
      if (!(found >= 1)) return 'no stride can be read from neighbouring outputs';
      st.push(found);
    }
    const pb = oref.map((o, a) => o * st[a] - v0[a]);
    if (pb.some((p) => p < 0)) return 'the windows start before the input (negative padding)';
    if (strides && (strides.join() !== st.join() || padsBegin?.join() !== pb.join())) return 'the stride differs between output channels';
    strides = st;
    padsBegin = pb;
  }
  const ke = kernel as number[];
  const de = dil as number[];
  const se = strides as number[];
  const pbe = padsBegin as number[];
  const pe = pbe.map((p, a) => Math.max(0, (outSpatial[a] - 1) * se[a] + (ke[a] - 1) * de[a] + 1 - xd[2 + a] - p));
  // the outputs the ONNX Conv geometry gives (ops/geometry) must be the ones the layer has
  let conv: Dim[];
  try {
    conv = outputDims('conv', xd.slice(2), { kernel_shape: ke, strides: se, pads: [...pbe, ...pe], dilations: de, auto_pad: 'NOTSET' });
  } catch (e) {
    return `the geometry read from the taps is not a convolution (${(e as Error).message})`;
  }
  for (let a = 0; a < sr; a++) if (conv[a] !== outSpatial[a]) return `spatial dim ${a}: ${outSpatial[a]} outputs do not follow from the geometry`;
  // the weights, and every tap of every output checked against the convolution
  const ksz = size(ke);
  const kst = stridesOf(ke);
  const w = new Array<number>(cout * cg * ksz).fill(Number.NaN);
  for (let co = 0; co < cout; co++) {
    const seen = new Set<number>();
    for (let k = 0; k < K; k++) {
      const { c, kpos } = layout[co][k];
      const slot = (co * cg + c) * ksz + kpos.reduce((m, v, a) => m + v * kst[a], 0);
      if (seen.has(slot)) return 'two taps read the same filter element';
      seen.add(slot);
    }
  }
  const perGroup = cout / group;
  const xin = xd.slice(2);
  const xsp = xs.slice(2);
  const ospN = positions;
  const oCoord = new Int32Array(ospN * sr);
  for (let o = 0; o < ospN; o++) for (let a = 0; a < sr; a++) oCoord[o * sr + a] = Math.floor(o / ops[a]) % outSpatial[a];
  for (let co = 0; co < cout; co++) {
    const g0 = Math.floor(co / perGroup) * cg;
    const cOff = Int32Array.from(layout[co], (t) => (g0 + t.c) * xs[1]);
    const kd = Int32Array.from({ length: K * sr }, (_, i) => layout[co][Math.floor(i / sr)].kpos[i % sr] * de[i % sr]);
    const slots = Int32Array.from(layout[co], (t) => (co * cg + t.c) * ksz + t.kpos.reduce((m, v, a) => m + v * kst[a], 0));
    for (let n = 0; n < xd[0]; n++) {
      for (let o = 0; o < ospN; o++) {
        const y = n * ys[0] + co * ys[1] + o;
        for (let k = 0; k < K; k++) {
          let want = n * xs[0] + cOff[k];
          for (let a = 0; a < sr; a++) {
            const p = oCoord[o * sr + a] * se[a] - pbe[a] + kd[k * sr + a];
            if (p < 0 || p >= xin[a]) {
              want = -1;
              break;
            }
            want += p * xsp[a];
          }
          const src = srcOf(y, k);
          if (src !== want) return `output ${y} tap ${k} reads ${src < 0 ? 'padding' : `element ${src}`}, the convolution reads ${want < 0 ? 'padding' : `element ${want}`}`;
          const wv = wOf(y, k);
          const slot = slots[k];
          if (Number.isNaN(w[slot])) w[slot] = wv;
          else if (w[slot] !== wv) return 'a filter element differs between output positions';
        }
      }
    }
  }
  return { cout, cg, group, kernel: ke, strides: se, pads: [...pbe, ...pe], dilations: de, w };
}
