// Fusion of Lp layers written with standard ops (plain torch.onnx exports of third-party code) into
// com.lponnx nodes: GeM and generalised-mean pooling, nn.LPPool, learned-norm (LpNorm) layers.
// Matching is on the maths: a subgraph becomes a node only when it computes exactly what the node
// computes (ops.md) for every input; anything else is left as it is, and a subgraph that has the
// shape of a layer but is not one is reported with the reason (a near miss).
import { outputDims } from '../../ops/geometry';
import type { NdArray, ValueType } from '../../ops/types';
import { isStdDomain } from '../graph/infer';
import { nodeLabel } from '../graph/model';
import { attrFloat, attrInt, attrInts, attrString } from '../graph/std-ops';
import type { ModelProto, NodeProto, TensorProto } from '../onnx/proto';
import { type ExternalReader, makeTensor, tensorToProto } from '../onnx/tensor';
import { halfTensor } from './float16';
import { lpOp } from '../../ops/index';
import { matchL1 } from './fuse-l1';
import { type FuseReport, type Fusion, Graph, isOp, type Match, Namer, type NearMiss, opOf, type Plan, lpAttributes, scalar, scopeOf, view, weightTensor } from './fuse-graph';

export type { FuseReport, Fusion, NearMiss } from './fuse-graph';

/**
 * The values of a constant broadcast against a tensor of `rank` dims, as a vector along `axis`:
 * length 1 (the same everywhere) or `size`; undefined when it varies along any other axis.
 */
function alongAxis(c: NdArray, rank: number, axis: number, size: number | undefined): Float64Array | undefined {
  if (c.dims.length > rank) return undefined;
  const dims = [...new Array(rank - c.dims.length).fill(1), ...c.dims];
  if (dims.some((d, i) => i !== axis && d !== 1)) return undefined;
  const n = dims[axis];
  if (n !== 1 && size !== undefined && n !== size) return undefined;
  return c.data;
}

/** r = 1 / p elementwise (p broadcast against r), to float32 rounding (float16's where r is float16). */
function isReciprocal(r: Float64Array, p: Float64Array, half = false): boolean {
  const tol = half ? 2 ** -11 + 1e-7 : 4e-7;
  const n = Math.max(r.length, p.length);
  if ((r.length !== 1 && r.length !== n) || (p.length !== 1 && p.length !== n)) return false;
  for (let i = 0; i < n; i++) {
    const pi = p[p.length === 1 ? 0 : i];
    const ri = r[r.length === 1 ? 0 : i];
    if (!(Math.abs(ri * pi - 1) <= tol)) return false;
  }
  return true;
}

const NONNEGATIVE = new Set(['Relu', 'Sigmoid', 'Abs', 'Softplus', 'Exp', 'Softmax', 'Sqrt']);

/** Whether every element of a value is >= 0 (or NaN) whatever the model's inputs: from its producer. */
function provablyNonNegative(g: Graph, value: string, depth = 0): boolean {
  const c = g.constant(value);
  if (c) return c.data.every((v) => !(v < 0));
  const n = g.node(value);
  if (!n || depth > 8) return false;
  const op = n.op_type ?? '';
  if (NONNEGATIVE.has(op)) return true;
  if (op === 'Clip') {
    const min = (n.input ?? []).length > 1 ? scalar(g, n.input?.[1]) : view(n).attr('min') ? attrFloat(view(n), 'min', 0) : undefined;
    return min !== undefined && min >= 0;
  }
  if (op === 'Max') return (n.input ?? []).some((x) => provablyNonNegative(g, x, depth + 1));
  if (['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze'].includes(op)) {
    return provablyNonNegative(g, n.input?.[0] ?? '', depth + 1);
  }
  if (op === 'Mul' || op === 'Add' || op === 'Min') return (n.input ?? []).every((x) => provablyNonNegative(g, x, depth + 1));
  if (n.domain === 'com.lponnx') return true;
  return false;
}

/** a(x) of ops.md in front of a power: what the base of x^p is, as (mode, eps) over the layer's input. */
interface Magnitude {
  x: string;
  mode: 'abs' | 'clamp';
  eps: number;
  nodes: NodeProto[];
}

function clipMin(g: Graph, n: NodeProto): number | undefined {
  const v = view(n);
  if ((n.input ?? []).length > 1 || !v.attr('min')) {
    if (n.input?.[2] || v.attr('max')) return undefined; // a max bound: not a magnitude
    return n.input?.[1] ? scalar(g, n.input[1]) : undefined;
  }
  if (v.attr('max')) return undefined;
  return attrFloat(v, 'min', 0);
}

/**
 * The magnitude in front of Pow(base, p): Clip(x, eps) / Max(x, eps) / Relu(x) (clamp), Abs(x) and
 * Clip(Abs(x), eps) (abs); a bare base only where x^p = |x|^p for every x (p even integers, or x
 * provably >= 0). Returns a reason when the base is signed and p not even.
 */
function magnitudeOf(g: Graph, base: string, p: Float64Array): Magnitude | string {
  const n = g.node(base);
  const lowerBound = (m: NodeProto): number | undefined => {
    if (opOf(m) === 'Clip') return clipMin(g, m);
    if (opOf(m) === 'Max' && (m.input ?? []).length === 2) return scalar(g, m.input?.[1]) ?? scalar(g, m.input?.[0]);
    if (opOf(m) === 'Relu') return 0;
    return undefined;
  };
  const inputOf = (m: NodeProto) => (opOf(m) === 'Max' && g.constant(m.input?.[0]) ? m.input?.[1] : m.input?.[0]) ?? '';
  if (n) {
    const eps = lowerBound(n);
    if (eps !== undefined) {
      if (!(eps >= 0) || !Number.isFinite(eps)) return `the clamp's lower bound ${eps} is negative`;
      const inner = g.node(inputOf(n));
      if (isOp(inner, 'Abs')) return { x: inner.input?.[0] ?? '', mode: 'abs', eps, nodes: [n, inner] };
      return { x: inputOf(n), mode: 'clamp', eps, nodes: [n] };
    }
    if (isOp(n, 'Abs')) return { x: n.input?.[0] ?? '', mode: 'abs', eps: 0, nodes: [n] };
  }
  const even = [...p].every((v) => Number.isInteger(v) && v % 2 === 0);
  if (even || provablyNonNegative(g, base)) return { x: base, mode: 'abs', eps: 0, nodes: [] };
  return `x^p of an input that may be negative, with p = ${[...p].slice(0, 4).join(', ')}${p.length > 4 ? ', ...' : ''} not an even integer (not |x|^p)`;
}

/** The exponent of a pooled power as LpPool's p attribute or P input ([C]). */
function exponentInput(p: Float64Array, namer: Namer, scope: string): { attrs: Record<string, number>; input?: TensorProto } {
  if (p.length === 1) return { attrs: { p: Math.fround(p[0]) } };
  const name = namer.fresh(`${scope}LpPool.P`);
  return { attrs: {}, input: tensorToProto(makeTensor('float32', [p.length], Float32Array.from(p)), name) };
}

/** All-zero Pad in front of a pooling (torch writes one for lp_pool): seen through. */
function throughZeroPad(g: Graph, value: string): { value: string; pad?: NodeProto } | string {
  const n = g.node(value);
  if (!isOp(n, 'Pad')) return { value };
  const mode = attrString(view(n), 'mode', 'constant');
  const pads = n.input?.[1] ? g.constant(n.input[1])?.data : attrInts(view(n), 'pads')?.map(Number);
  const fill = n.input?.[2] ? scalar(g, n.input[2]) : 0;
  if (mode !== 'constant' || !pads || [...pads].some((v) => v !== 0) || (n.input?.[3] ?? '') !== '') {
    return fill === 0 && mode === 'constant' && pads ? 'the pooling reads an explicitly padded input' : 'the pooling reads a padded input';
  }
  return { value: n.input?.[0] ?? '', pad: n };
}

/** Pooled power: root = Pow(pool(Pow(a(x), P)), 1/P) (GeM, local GeM) or nn.LPPool's form. */
function matchPool(g: Graph, root: NodeProto, namer: Namer): Match {
  const rootLabel = nodeLabel(root);
  const r = g.constant(root.input?.[1]);
  if (!r) return undefined;
  let top = g.node(root.input?.[0]);
  const layer: NodeProto[] = [root];
  // nn.LPPool: Mul(Mul(Sign(a), Relu(Abs(a))), kernel size) with a = AveragePool(Pow(x, p))
  let lpPoolScale: number | undefined;
  if (isOp(top, 'Mul')) {
    const [u, v] = top.input ?? [];
    const k = scalar(g, v) ?? scalar(g, u);
    const inner = g.node(scalar(g, v) !== undefined ? u : v);
    if (k === undefined || !isOp(inner, 'Mul')) return undefined;
    const [s, t] = (inner.input ?? []).map((x) => g.node(x));
    const sign = isOp(s, 'Sign') ? s : isOp(t, 'Sign') ? t : undefined;
    const relu = isOp(s, 'Relu') ? s : isOp(t, 'Relu') ? t : undefined;
    const abs = relu ? g.node(relu.input?.[0]) : undefined;
    if (!sign || !relu || !isOp(abs, 'Abs') || g.source(sign.input?.[0] ?? '') !== g.source(abs.input?.[0] ?? '')) return undefined;
    lpPoolScale = k;
    layer.push(top, inner, sign, relu, abs);
    top = g.node(sign.input?.[0]);
  }
  if (!isOp(top, 'AveragePool', 'GlobalAveragePool', 'ReduceMean')) return undefined;
  const pool = top;
  const padded = throughZeroPad(g, pool.input?.[0] ?? '');
  const powNode = g.node(typeof padded === 'string' ? undefined : padded.value);
  if (!isOp(powNode, 'Pow')) return undefined;
  const pattern = lpPoolScale !== undefined ? 'nn.LPPool (Pow, AveragePool, Sign * Relu(Abs), Mul by the kernel size, Pow)' : `GeM (Pow, ${pool.op_type}, Pow)`;
  const miss = (why: string): NearMiss => ({ node: rootLabel, pattern, why });
  if (typeof padded === 'string') return miss(padded);
  layer.push(pool, powNode, ...(padded.pad ? [padded.pad] : []));
  const base = powNode.input?.[0] ?? '';
  const pc = g.constant(powNode.input?.[1]);
  if (!pc) return miss('the exponent is not a constant');
  const rank = g.rank(base) ?? g.rank(pool.output?.[0] ?? '');
  if (rank === undefined || rank < 3 || rank > 5) return miss(`the pooled tensor's rank is ${rank ?? 'unknown'} (expected N, C and 1 to 3 spatial dims)`);
  const channels = g.shape(base)?.[1];
  const cdim = typeof channels === 'number' ? channels : undefined;
  const p = alongAxis(pc, rank, 1, cdim);
  if (!p) return miss(`the exponent's shape [${pc.dims}] is not one value per channel`);
  if ([...p].some((v) => !(v > 0) || !Number.isFinite(v))) return miss(`the exponent ${[...p].find((v) => !(v > 0) || !Number.isFinite(v))} is not a finite value > 0`);
  if (cdim === undefined && p.length > 1) return miss('the channel count is unknown');
  // the root's exponent, against the pooled output (rank, or rank 2 after ReduceMean keepdims = 0)
  const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 2);
  let squeeze = false;
  const pooling: Record<string, number | string | number[]> = {};
  if (opOf(pool) === 'GlobalAveragePool') {
    pooling.global = 1;
  } else if (opOf(pool) === 'ReduceMean') {
    const axes = pool.input?.[1] ? g.constant(pool.input[1])?.data : attrInts(view(pool), 'axes')?.map(Number);
    const norm = axes ? [...axes].map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b) : undefined;
    if (!norm || norm.join() !== spatial.join()) return miss(`ReduceMean over axes [${axes ? [...axes] : 'all'}], not the spatial axes [${spatial}]`);
    pooling.global = 1;
    squeeze = attrInt(view(pool), 'keepdims', 1) === 0;
  } else {
    const v = view(pool);
    const kernel = attrInts(v, 'kernel_shape') ?? [];
    const strides = attrInts(v, 'strides') ?? kernel.map(() => 1);
    const pads = attrInts(v, 'pads') ?? kernel.map(() => 0).concat(kernel.map(() => 0));
    const dilations = attrInts(v, 'dilations') ?? kernel.map(() => 1);
    const autoPad = attrString(v, 'auto_pad', 'NOTSET');
    const ceil = attrInt(v, 'ceil_mode', 0);
    const cip = attrInt(v, 'count_include_pad', 0);
    if (kernel.length !== rank - 2) return miss('the AveragePool kernel does not match the spatial rank');
    const dims = g.shape(base)?.slice(2);
    const staticDims = dims && dims.every((d): d is number => typeof d === 'number') ? dims : undefined;
    const whole =
      staticDims &&
      autoPad === 'NOTSET' &&
      pads.every((q) => q === 0) &&
      kernel.every((k, i) => k === staticDims[i]) &&
      dilations.every((d) => d === 1);
    if (whole && lpPoolScale === undefined) {
      pooling.global = 1;
    } else {
      Object.assign(pooling, { kernel_shape: kernel, strides, dilations });
      if (autoPad !== 'NOTSET') pooling.auto_pad = autoPad;
      else pooling.pads = pads;
      if (ceil) pooling.ceil_mode = 1;
      if (cip && lpPoolScale === undefined) pooling.count_include_pad = 1;
    }
    if (lpPoolScale !== undefined) {
      // sum = average x kernel size only where every window's divisor is the kernel size
      const size = kernel.reduce((a, b) => a * b, 1);
      if (Math.abs(lpPoolScale - size) > 1e-6 * size) return miss(`the average is scaled by ${lpPoolScale}, not by the kernel size ${size}`);
      if (autoPad !== 'NOTSET' || pads.some((q) => q !== 0)) return miss('the AveragePool pads its input (torch divides padded windows differently)');
      if (dilations.some((d) => d !== 1)) return miss('the AveragePool is dilated');
      if (ceil) {
        if (!staticDims) return miss('ceil_mode with spatial dims unknown at export: border windows may be partial (torch scales them by the full kernel size)');
        // a partial window is one that ceil_mode adds (ONNX pooling geometry, ops/geometry)
        const windows = (ceil_mode: number) => outputDims('pool', staticDims, { kernel_shape: kernel, strides, pads, dilations, auto_pad: autoPad, ceil_mode });
        const floor = windows(0);
        const partial = windows(1).some((o, i) => o !== floor[i]);
        if (partial) return miss('ceil_mode gives partial border windows, which torch scales by the full kernel size (not an Lp norm of the window)');
        delete pooling.ceil_mode;
      }
    }
  }
  const outRank = squeeze ? 2 : rank;
  const rv = alongAxis(r, outRank, 1, cdim);
  if (!rv || !isReciprocal(rv, p, g.isHalf(root.input?.[1]))) return miss(`the root's exponent [${[...r.data].slice(0, 4).map((x) => x.toPrecision(6))}] is not 1/p for p = [${[...p].slice(0, 4)}]`);
  const m = magnitudeOf(g, base, p);
  if (typeof m === 'string') return miss(m);
  const mean = lpPoolScale === undefined ? 1 : 0;
  layer.push(...m.nodes);
  const scope = scopeOf(root.name);
  const name = namer.fresh(`${scope}LpPool`);
  const ex = exponentInput(p, namer, scope);
  const { proto, shown: attrs } = lpAttributes('LpPool', { ...pooling, ...ex.attrs, eps: m.eps, mean, mode: m.mode });
  const out = root.output?.[0] ?? '';
  const pooled = squeeze ? namer.fresh(`${out}_pooled`) : out;
  const nodes: NodeProto[] = [
    { op_type: 'LpPool', domain: 'com.lponnx', name, input: [m.x, ...(ex.input ? [ex.input.name ?? ''] : [])], output: [pooled], attribute: proto },
  ];
  const initializers = ex.input ? [ex.input] : [];
  if (squeeze) {
    const axes = tensorToProto(makeTensor('int64', [spatial.length], BigInt64Array.from(spatial.map(BigInt))), namer.fresh(`${scope}LpPool.squeeze_axes`));
    initializers.push(axes);
    nodes.push({ op_type: 'Squeeze', domain: '', name: namer.fresh(`${scope}LpPool/Squeeze`), input: [pooled, axes.name ?? ''], output: [out] });
  }
  return { fusion: { name, op: 'LpPool', pattern, attrs: { ...attrs, ...(ex.input ? { P: [p.length] } : {}) }, output: out }, nodes, initializers, layer, root };
}

/**
 * Learned-norm layer: root = Pow(ReduceSum(Pow(Unsqueeze(a(x), -2), P) * W, -1) [+ sum_eps], 1/P)
 * (the seed's LpNormLayer), or for a shared p Pow(MatMul(Pow(a(x), p), W^T) [+ sum_eps], 1/p).
 */
function matchNorm(g: Graph, root: NodeProto, namer: Namer): Match {
  const rootLabel = nodeLabel(root);
  const r = g.constant(root.input?.[1]);
  if (!r) return undefined;
  const layer: NodeProto[] = [root];
  let top = g.node(root.input?.[0]);
  let sumEps = 0;
  if (isOp(top, 'Add')) {
    const [u, v] = top.input ?? [];
    const e = scalar(g, v) ?? scalar(g, u);
    if (e === undefined) return undefined;
    layer.push(top);
    sumEps = e;
    top = g.node(scalar(g, v) !== undefined ? u : v);
  }
  let x: string;
  let w: Float64Array;
  let p: Float64Array;
  let m: number;
  let k: number;
  let pattern: string;
  if (top && opOf(top) === 'ReduceSum') {
    pattern = 'learned-norm layer (Pow of Unsqueeze, Mul by W, ReduceSum over the last axis, Pow)';
    const miss = (why: string): NearMiss => ({ node: rootLabel, pattern, why });
    const reduce = top;
    const mul = g.node(reduce.input?.[0]);
    if (!isOp(mul, 'Mul')) return undefined;
    const [a, b] = mul.input ?? [];
    const wc = g.constant(b) ?? g.constant(a);
    const pn = g.node(g.constant(b) ? a : b);
    if (!wc || !isOp(pn, 'Pow')) return undefined;
    const unsq = g.node(pn.input?.[0]);
    if (!isOp(unsq, 'Unsqueeze')) return undefined;
    const xr = g.rank(unsq.input?.[0] ?? '');
    if (xr === undefined) return miss("the input's rank is unknown");
    const ur = xr + 1;
    const uAxes = unsq.input?.[1] ? g.constant(unsq.input[1])?.data : attrInts(view(unsq), 'axes')?.map(Number);
    if (!uAxes || uAxes.length !== 1 || (uAxes[0] < 0 ? uAxes[0] + ur : uAxes[0]) !== ur - 2) return miss('the Unsqueeze does not insert the unit axis before the last');
    const axes = reduce.input?.[1] ? g.constant(reduce.input[1])?.data : attrInts(view(reduce), 'axes')?.map(Number);
    if (!axes || axes.length !== 1 || (axes[0] < 0 ? axes[0] + ur : axes[0]) !== ur - 1 || attrInt(view(reduce), 'keepdims', 1) !== 0) {
      return miss('the ReduceSum is not over the last axis with keepdims = 0');
    }
    if (attrInt(view(reduce), 'noop_with_empty_axes', 0)) return miss('ReduceSum with noop_with_empty_axes');
    // W: [..., M, K] with unit leading dims
    const wd = [...new Array(Math.max(0, ur - wc.dims.length)).fill(1), ...wc.dims];
    if (wd.length !== ur || wd.slice(0, -2).some((d) => d !== 1)) return miss(`W's shape [${wc.dims}] is not [M, K]`);
    [m, k] = wd.slice(-2);
    const xk = g.shape(unsq.input?.[0] ?? '')?.[xr - 1];
    if (typeof xk === 'number' && xk !== k) return miss(`W has K = ${k}, the input ${xk}`);
    const pc = g.constant(pn.input?.[1]);
    if (!pc) return miss('the exponent is not a constant');
    const pv = alongAxis(pc, ur, ur - 2, m);
    if (!pv) return miss(`the exponent's shape [${pc.dims}] is not one value per unit`);
    x = unsq.input?.[0] ?? '';
    w = wc.data;
    p = pv;
    layer.push(reduce, mul, pn, unsq);
  } else if (top && opOf(top) === 'MatMul') {
    pattern = 'learned-norm layer (Pow, MatMul by W^T, Pow)';
    const miss = (why: string): NearMiss => ({ node: rootLabel, pattern, why });
    const mm = top;
    const wt = g.constant(mm.input?.[1]);
    const pn = g.node(mm.input?.[0]);
    if (!wt || !isOp(pn, 'Pow') || wt.dims.length !== 2) return undefined;
    const pc = g.constant(pn.input?.[1]);
    if (!pc || pc.data.length !== 1) return miss('the exponent is not one constant value');
    [k, m] = wt.dims;
    const t = new Float64Array(m * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) t[j * k + i] = wt.data[i * m + j];
    x = pn.input?.[0] ?? '';
    w = t;
    p = pc.data;
    layer.push(mm, pn);
  } else {
    return undefined;
  }
  const miss = (why: string): NearMiss => ({ node: rootLabel, pattern, why });
  if ([...p].some((v) => !(v > 0) || !Number.isFinite(v))) return miss(`the exponent ${[...p].find((v) => !(v > 0) || !Number.isFinite(v))} is not a finite value > 0`);
  if (!(sumEps >= 0) || !Number.isFinite(sumEps)) return miss(`the added constant ${sumEps} is negative`);
  const bad = w.findIndex((v) => !(v >= 0));
  if (bad >= 0) return miss(`W[${Math.floor(bad / k)},${bad % k}] = ${w[bad]} is negative (LpNorm's weights are >= 0)`);
  const rr = g.rank(root.input?.[0] ?? '') ?? (g.rank(x) ?? 2);
  const rv = alongAxis(r, rr, rr - 1, m);
  if (!rv || !isReciprocal(rv, p, g.isHalf(root.input?.[1]))) return miss(`the root's exponent is not 1/p`);
  const mag = magnitudeOf(g, x, p);
  if (typeof mag === 'string') return miss(mag);
  layer.push(...mag.nodes);
  const scope = scopeOf(root.name);
  const name = namer.fresh(`${scope}LpNorm`);
  const wt = weightTensor(g, mag.x, [m, k], w, namer.fresh(`${scope}LpNorm.W`));
  const initializers = [wt];
  const inputs = [mag.x, wt.name ?? ''];
  const given: Record<string, number | string | number[]> = { eps: Math.fround(mag.eps), sum_eps: Math.fround(sumEps), mode: mag.mode };
  if (p.length === 1) given.p = Math.fround(p[0]);
  else {
    const pt = tensorToProto(makeTensor('float32', [m], Float32Array.from(p)), namer.fresh(`${scope}LpNorm.P`));
    initializers.push(pt);
    inputs.push(pt.name ?? '');
  }
  const { proto, shown: attrs } = lpAttributes('LpNorm', given);
  const out = root.output?.[0] ?? '';
  return {
    fusion: { name, op: 'LpNorm', pattern, attrs: { ...attrs, W: [m, k], ...(p.length > 1 ? { P: [m] } : {}) }, output: out },
    nodes: [{ op_type: 'LpNorm', domain: 'com.lponnx', name, input: inputs, output: [out], attribute: proto }],
    initializers,
    layer,
    root,
  };
}

/**
 * Fuses until nothing more is found: a layer's types can be known only once the layer before it is
 * one node (inference does not see through every op of a decomposition). `infer`: the graph's types.
 */
export function fuseAll(model: ModelProto, infer: () => ReadonlyMap<string, ValueType>, readExternal?: ExternalReader): FuseReport {
  const fused: Fusion[] = [];
  let nearMisses: NearMiss[] = [];
  for (let round = 0; round < 256; round++) {
    const r = fuseRound(model, infer(), readExternal);
    fused.push(...r.fused);
    nearMisses = r.nearMisses;
    if (r.fused.length === 0) break;
  }
  return { fused, nearMisses };
}

/** One pass over the graph, in place. `types`: ranks, channel counts, static spatial dims. */
function fuseRound(model: ModelProto, types: ReadonlyMap<string, ValueType>, readExternal?: ExternalReader): FuseReport {
  const graph = model.graph ?? {};
  const g = new Graph(model, types, readExternal);
  const namer = new Namer(model);
  const plans: Plan[] = [];
  const nearMisses: NearMiss[] = [];
  for (const n of graph.node ?? []) {
    if (!isStdDomain(n.domain) || (n.op_type !== 'Pow' && n.op_type !== 'ReduceSum')) continue;
    let match: Match;
    try {
      match = n.op_type === 'ReduceSum' ? matchL1(g, n, namer, types) : (matchPool(g, n, namer) ?? matchNorm(g, n, namer));
    } catch (e) {
      // a subgraph the matchers cannot analyse is left as it is: export never fails on it
      match = { node: nodeLabel(n), pattern: 'Lp layer', why: `could not be analysed (${(e as Error).message})` };
    }
    if (!match) continue;
    if ('why' in match) nearMisses.push(match);
    else plans.push(settleTypes(match, g, namer));
  }
  if (plans.length === 0) return { fused: [], nearMisses };
  // new nodes stand where their layer's last node stood (all their inputs come earlier)
  const byRoot = new Map(plans.map((p) => [p.root, p]));
  graph.node = (graph.node ?? []).flatMap((n) => byRoot.get(n)?.nodes ?? [n]);
  graph.initializer = [...(graph.initializer ?? []), ...plans.flatMap((p) => p.initializers)];
  const removed = removeDeadNodes(model);
  // a node shared by two layers (a common im2col) counts for the first of them
  const counted = new Set<NodeProto>();
  const fused = plans.map((p) => {
    const mine = [...new Set(p.layer)].filter((n) => (removed.has(n) || n === p.root) && !counted.has(n));
    for (const n of mine) counted.add(n);
    return { ...p.fusion, replaced: mine.length };
  });
  return { fused, nearMisses };
}

/**
 * The fused node's T is its layer's output type (ops.md: X, W, B and Y of one type). Where the
 * matcher's X is of the other type (a float16 export upcasts before a reduction): a float16 value
 * cast to float is read as it was (exact); else the node computes in its X's type and a Cast gives
 * the layer's output type, as the export's own Cast did.
 */
function settleTypes(plan: Plan, g: Graph, namer: Namer): Plan {
  const node = plan.nodes.find((n) => n.domain === 'com.lponnx');
  const op = lpOp(node?.op_type ?? '');
  if (!node || !op) return plan;
  const x = node.input?.[0] ?? '';
  const out = node.output?.[0] ?? '';
  if (g.isHalf(out) === g.isHalf(x)) return plan;
  const cast = g.producer.get(x);
  const upcastOf = cast && g.passesOn(cast) && cast.op_type === 'Cast' && g.isHalf(cast.input?.[0]) ? cast.input?.[0] : undefined;
  if (g.isHalf(out) && upcastOf) {
    node.input = [upcastOf, ...(node.input ?? []).slice(1)];
    // W and B follow X (their values are float16 ones: the export's float16 constants)
    (node.input ?? []).forEach((name, i) => {
      const t = plan.initializers.find((init) => init.name === name);
      if (!t || (op.inputs[i]?.name !== 'W' && op.inputs[i]?.name !== 'B') || t.data_type !== 1) return;
      Object.assign(t, halfTensor(t));
    });
    return plan;
  }
  const inner = namer.fresh(`${out}_${g.isHalf(x) ? 'float16' : 'float32'}`);
  node.output = [inner];
  const to = g.isHalf(out) ? 10 : 1;
  plan.nodes.push({ op_type: 'Cast', name: namer.fresh(`${node.name}_cast`), input: [inner], output: [out], attribute: [{ name: 'to', type: 2, i: to }] });
  return plan;
}

/** Removes standard nodes nothing reads (and initializers nothing reads); returns the removed nodes. */
function removeDeadNodes(model: ModelProto): Set<NodeProto> {
  const graph = model.graph ?? {};
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const removed = new Set<NodeProto>();
  for (let changed = true; changed; ) {
    changed = false;
    const read = new Set((graph.node ?? []).flatMap((n) => [...(n.input ?? []), ...subgraphInputs(n)]));
    graph.node = (graph.node ?? []).filter((n) => {
      const dead = isStdDomain(n.domain) && (n.output ?? []).every((o) => !o || (!read.has(o) && !outputs.has(o)));
      if (dead) {
        removed.add(n);
        changed = true;
      }
      return !dead;
    });
  }
  const read = new Set([...(graph.node ?? []).flatMap((n) => [...(n.input ?? []), ...subgraphInputs(n)]), ...outputs]);
  const inputs = new Set((graph.input ?? []).map((i) => i.name ?? ''));
  graph.initializer = (graph.initializer ?? []).filter((t) => read.has(t.name ?? '') || inputs.has(t.name ?? ''));
  return removed;
}

/** Names a node's subgraphs (If, Loop, Scan bodies) read from the outer scope. */
function subgraphInputs(n: NodeProto): string[] {
  const out: string[] = [];
  for (const a of n.attribute ?? []) {
    for (const sub of [a.g, ...(a.graphs ?? [])]) {
      if (!sub) continue;
      for (const m of sub.node ?? []) {
        out.push(...(m.input ?? []));
        out.push(...subgraphInputs(m));
      }
    }
  }
  return out;
}

/** The report in lines, for the CLI: what export fused, or (inspect) what it would fuse. Empty when there is nothing to say. */
export function formatFusion(r: FuseReport, mode: 'export' | 'inspect' = 'export'): string {
  const lines: string[] = [];
  const value = (v: number | string | number[]) => (Array.isArray(v) ? `[${v.join(',')}]` : typeof v === 'number' ? String(Number(v.toPrecision(7))) : `'${v}'`);
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  if (r.fused.length > 0) {
    lines.push(`${mode === 'export' ? 'fused' : 'fusable:'} ${plural(r.fused.length, 'Lp layer')} written with standard ops:`);
    for (const f of r.fused) {
      const attrs = Object.entries(f.attrs)
        .map(([k, v]) => `${k}=${value(v)}`)
        .join(' ');
      const replaced = mode === 'export' ? `; replaced ${plural(f.replaced, 'standard node')}` : `; replaces ${plural(f.replaced, 'standard node')}`;
      lines.push(`  ${f.name}: ${f.op} ${attrs} <- ${f.pattern}${replaced}`);
    }
  }
  if (r.nearMisses.length > 0) {
    lines.push(`${mode === 'export' ? `left as ${r.nearMisses.length === 1 ? 'it is' : 'they are'}` : 'not fusable'} (not exactly an Lp layer):`);
    for (const m of r.nearMisses) lines.push(`  ${m.node}: ${m.pattern}: ${m.why}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
