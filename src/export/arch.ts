// `lp-onnx export arch.json --weights FILE`: an architecture spec (lp-onnx/arch@1) plus a
// PyTorch state_dict becomes a dual-path model. Layer arguments use PyTorch's constructor names;
// sizes come from the weights; parametrisations (abs, softplus + 1, L1 weight norm) are folded.
import type { Dim } from '../../ops/geometry';
import { GraphBuilder, type Value } from '../graph/builder';
import type { ModelProto } from '../onnx/proto';
import { type Tensor, toFloat64 } from '../onnx/tensor';

export const ARCH_FORMAT = 'lp-onnx/arch@1';

export class ArchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchError';
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface LayerSpec {
  type: string;
  params?: string;
  name?: string;
  inputs?: string[];
  [arg: string]: Json | undefined;
}

export interface ArchSpec {
  format: string;
  name?: string;
  inputs: { name: string; shape: (number | string)[]; dtype?: string }[];
  layers: LayerSpec[];
  outputs?: string[];
}

interface Ctx {
  b: GraphBuilder;
  layer: LayerSpec;
  where: string;
  /** the state_dict tensor `${params}.${key}` (float32, f16/bf16/f64 converted), marking it used */
  param(key: string): { data: Float64Array; dims: number[] };
  hasParam(key: string): boolean;
  arg<T extends Json>(name: string, fallback: T): T;
  ins: Value[];
}

const COMMON = new Set(['type', 'params', 'name', 'inputs']);

/** Per type: its allowed arguments and its emitter. */
interface LayerType {
  args: string[];
  params?: boolean;
  emit(c: Ctx): Value;
}

const ntuple = (v: Json, n: number, what: string, where: string): number[] => {
  const arr = Array.isArray(v) ? v : [v];
  if (arr.length === 1 && n > 1) return new Array(n).fill(arr[0]);
  if (arr.length !== n || arr.some((x) => typeof x !== 'number' || !Number.isInteger(x))) {
    throw new ArchError(`${where}: ${what} must be an int or a tuple of ${n} ints, got ${JSON.stringify(v)}`);
  }
  return arr as number[];
};

/** PyTorch padding (int, tuple, "same", "valid") -> ONNX pads [begin..., end...]. */
function pads(c: Ctx, kernel: number[], dilation: number[], stride: number[]): number[] {
  const p = c.arg<Json>('padding', 0);
  const r = kernel.length;
  if (p === 'valid') return new Array(2 * r).fill(0);
  if (p === 'same') {
    if (stride.some((s) => s !== 1)) throw new ArchError(`${c.where}: padding "same" needs stride 1 (as in PyTorch)`);
    const total = kernel.map((k, i) => dilation[i] * (k - 1));
    return [...total.map((t) => Math.floor(t / 2)), ...total.map((t) => t - Math.floor(t / 2))];
  }
  const t = ntuple(p, r, 'padding', c.where);
  return [...t, ...t];
}

function weightDims(c: Ctx, key: string, rank: number): number[] {
  const w = c.param(key);
  if (w.dims.length !== rank) throw new ArchError(`${c.where}: '${c.layer.params}.${key}' has shape [${w.dims}], expected rank ${rank}`);
  return w.dims;
}

function checkSize(c: Ctx, arg: string, actual: number): void {
  const v = c.layer[arg];
  if (v !== undefined && v !== actual) throw new ArchError(`${c.where}: ${arg} = ${v} but the weights give ${actual}`);
}

function init(c: Ctx, key: string, data: ArrayLike<number>, dims: number[]): Value {
  return c.b.initializer(`${c.layer.params}.${key}`, Float32Array.from(data), dims);
}

function biasOf(c: Ctx, out: number): Value | undefined {
  const flag = c.arg<Json>('bias', null);
  const has = c.hasParam('bias');
  if (flag === true && !has) throw new ArchError(`${c.where}: bias = true but '${c.layer.params}.bias' is missing from the weights`);
  if (flag === false && has) throw new ArchError(`${c.where}: bias = false but the weights hold '${c.layer.params}.bias'`);
  if (!has) return undefined;
  const bias = c.param('bias');
  if (bias.dims.length !== 1 || bias.dims[0] !== out) throw new ArchError(`${c.where}: '${c.layer.params}.bias' has shape [${bias.dims}], expected [${out}]`);
  return init(c, 'bias', bias.data, bias.dims);
}

/** y = x W^T + b: Gemm for 2-D x, MatMul + Add otherwise. */
function linear(c: Ctx, w: Float64Array | ArrayLike<number>, out: number, inF: number, bias: Value | undefined, wKey: string): Value {
  const x = c.ins[0];
  if (x.shape && x.shape[x.shape.length - 1] !== inF && typeof x.shape[x.shape.length - 1] === 'number') {
    throw new ArchError(`${c.where}: the input has ${x.shape[x.shape.length - 1]} features, the weights expect ${inF}`);
  }
  const W = init(c, wKey, w, [out, inF]);
  if (x.shape?.length === 2) return c.b.gemm(x, W, bias, { transB: 1 });
  const y = x.matmul(W.transpose([1, 0]));
  return bias ? y.add(bias) : y;
}

function conv(kind: 'Conv' | 'L1Conv', r: number): LayerType {
  return {
    params: true,
    args: ['in_channels', 'out_channels', 'kernel_size', 'stride', 'padding', 'dilation', 'groups', 'bias', 'padding_mode'],
    emit(c) {
      const [out, cg, ...k] = weightDims(c, 'weight', r + 2);
      const groups = c.arg<number>('groups', 1);
      checkSize(c, 'out_channels', out);
      checkSize(c, 'in_channels', cg * groups);
      if (c.layer.kernel_size !== undefined && ntuple(c.layer.kernel_size, r, 'kernel_size', c.where).some((v, i) => v !== k[i])) {
        throw new ArchError(`${c.where}: kernel_size ${JSON.stringify(c.layer.kernel_size)} but the weights give [${k}]`);
      }
      if (c.arg<string>('padding_mode', 'zeros') !== 'zeros') throw new ArchError(`${c.where}: only padding_mode "zeros" is supported`);
      const stride = ntuple(c.arg<Json>('stride', 1), r, 'stride', c.where);
      const dilation = ntuple(c.arg<Json>('dilation', 1), r, 'dilation', c.where);
      const w = c.param('weight');
      const W = init(c, 'weight', w.data, w.dims);
      const attrs = { strides: stride, dilations: dilation, pads: pads(c, k, dilation, stride), group: groups };
      const bias = biasOf(c, out);
      return kind === 'Conv' ? c.b.conv(c.ins[0], W, bias, attrs) : c.b.l1Conv(c.ins[0], W, bias, attrs, c.layer.params);
    },
  };
}

function batchNorm(r: number): LayerType {
  return {
    params: true,
    args: ['num_features', 'eps', 'momentum', 'affine', 'track_running_stats'],
    emit(c) {
      if (c.arg<boolean>('track_running_stats', true) === false) throw new ArchError(`${c.where}: track_running_stats = false has no inference form`);
      const mean = c.param('running_mean');
      const n = mean.dims[0];
      checkSize(c, 'num_features', n);
      const x = c.ins[0];
      if (x.shape && x.shape.length !== r + 2 && !(r === 1 && x.shape.length === 2)) {
        throw new ArchError(`${c.where}: BatchNorm${r}d expects rank ${r + 2} input, got [${x.shape}]`);
      }
      if (c.hasParam('num_batches_tracked')) c.param('num_batches_tracked');
      const affine = c.arg<boolean>('affine', true);
      const scale = affine ? c.param('weight').data : new Float64Array(n).fill(1);
      const shift = affine ? c.param('bias').data : new Float64Array(n);
      const v = c.param('running_var');
      const key = (k: string) => (affine ? k : `${k}(affine=false)`);
      return c.b.batchNorm(x, init(c, key('weight'), scale, [n]), init(c, key('bias'), shift, [n]), init(c, 'running_mean', mean.data, [n]), init(c, 'running_var', v.data, [n]), c.arg<number>('eps', 1e-5));
    },
  };
}

function pool(kind: 'MaxPool' | 'AveragePool', r: number): LayerType {
  return {
    args: kind === 'MaxPool' ? ['kernel_size', 'stride', 'padding', 'dilation', 'ceil_mode', 'return_indices'] : ['kernel_size', 'stride', 'padding', 'ceil_mode', 'count_include_pad', 'divisor_override'],
    emit(c) {
      const k = ntuple(c.arg<Json>('kernel_size', null), r, 'kernel_size', c.where);
      const stride = c.layer.stride === undefined || c.layer.stride === null ? k : ntuple(c.layer.stride, r, 'stride', c.where);
      const p = ntuple(c.arg<Json>('padding', 0), r, 'padding', c.where);
      if (c.arg<boolean>('return_indices', false)) throw new ArchError(`${c.where}: return_indices is not supported`);
      if (c.arg<Json>('divisor_override', null) !== null) throw new ArchError(`${c.where}: divisor_override is not supported`);
      const attrs = { kernel_shape: k, strides: stride, pads: [...p, ...p], ceil_mode: c.arg<boolean>('ceil_mode', false) ? 1 : 0 };
      if (kind === 'MaxPool') return c.b.maxPool(c.ins[0], { ...attrs, dilations: ntuple(c.arg<Json>('dilation', 1), r, 'dilation', c.where) });
      return c.b.averagePool(c.ins[0], { ...attrs, count_include_pad: c.arg<boolean>('count_include_pad', true) ? 1 : 0 });
    },
  };
}

function lpPool(r: number): LayerType {
  return {
    params: true,
    args: ['kernel_size', 'stride', 'padding', 'dilation', 'ceil_mode', 'norm_type', 'mean', 'learn_p', 'eps', 'mode'],
    emit(c) {
      const k = ntuple(c.arg<Json>('kernel_size', null), r, 'kernel_size', c.where);
      const stride = c.layer.stride === undefined || c.layer.stride === null ? k : ntuple(c.layer.stride, r, 'stride', c.where);
      const p = ntuple(c.arg<Json>('padding', 0), r, 'padding', c.where);
      const learn = c.arg<number>('learn_p', 0);
      let P: Value | undefined;
      if (learn) {
        const w = c.param('p');
        if (w.data.length !== learn) throw new ArchError(`${c.where}: learn_p = ${learn} but '${c.layer.params}.p' has ${w.data.length} values`);
        P = init(c, 'p', w.data, [learn]);
      }
      const attrs = {
        kernel_shape: k,
        strides: stride,
        pads: [...p, ...p],
        dilations: ntuple(c.arg<Json>('dilation', 1), r, 'dilation', c.where),
        ceil_mode: c.arg<boolean>('ceil_mode', false) ? 1 : 0,
        mean: c.arg<boolean>('mean', false) ? 1 : 0,
        eps: c.arg<number>('eps', 0),
        mode: c.arg<string>('mode', 'abs'),
        ...(learn ? {} : { p: c.arg<number>('norm_type', 2) }),
      };
      return c.b.lpPool(c.ins[0], P, attrs, c.layer.params);
    },
  };
}

const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

const unary = (op: string): LayerType => ({ args: ['inplace'], emit: (c) => c.b.op(op, [c.ins[0]]) });

const TYPES: Record<string, LayerType> = {
  Linear: {
    params: true,
    args: ['in_features', 'out_features', 'bias'],
    emit(c) {
      const [out, inF] = weightDims(c, 'weight', 2);
      checkSize(c, 'out_features', out);
      checkSize(c, 'in_features', inF);
      return linear(c, c.param('weight').data, out, inF, biasOf(c, out), 'weight');
    },
  },
  L1WeightNormLinear: {
    params: true,
    args: ['in_features', 'out_features', 'bias'],
    emit(c) {
      const [out, inF] = weightDims(c, 'weight_v', 2);
      checkSize(c, 'out_features', out);
      checkSize(c, 'in_features', inF);
      const v = c.param('weight_v').data;
      const g = c.param('weight_g');
      if (g.data.length !== out) throw new ArchError(`${c.where}: '${c.layer.params}.weight_g' has ${g.data.length} values, expected ${out}`);
      // W = g * v / sum |v| row-wise (PSiLON's L1 weight normalisation), folded
      const w = new Float64Array(out * inF);
      for (let j = 0; j < out; j++) {
        let s = 0;
        for (let i = 0; i < inF; i++) s += Math.abs(v[j * inF + i]);
        if (s === 0) throw new ArchError(`${c.where}: row ${j} of '${c.layer.params}.weight_v' is all zeros (the L1 norm is 0)`);
        for (let i = 0; i < inF; i++) w[j * inF + i] = (g.data[j] * v[j * inF + i]) / s;
      }
      return linear(c, w, out, inF, biasOf(c, out), 'weight(l1-normalised)');
    },
  },
  LpNormLayer: {
    params: true,
    args: ['in_dim', 'out_dim', 'eps', 'p_init'],
    emit(c) {
      const [out, inF] = weightDims(c, '_w', 2);
      checkSize(c, 'out_dim', out);
      checkSize(c, 'in_dim', inF);
      const p = c.param('_p');
      if (p.data.length !== out) throw new ArchError(`${c.where}: '${c.layer.params}._p' has ${p.data.length} values, expected ${out}`);
      const eps = c.arg<number>('eps', 1e-6);
      const W = init(c, 'weight(abs)', c.param('_w').data.map(Math.abs), [out, inF]);
      const P = init(c, 'p(softplus+1)', p.data.map((v) => softplus(v) + 1), [out]);
      return c.b.lpNorm(c.ins[0], W, P, { eps, sum_eps: eps }, c.layer.params);
    },
  },
  GeM: {
    params: true,
    args: ['p', 'eps', 'per_channel'],
    emit(c) {
      const p = c.param('p');
      const per = c.arg<number>('per_channel', 0);
      if (p.data.length !== (per || 1)) throw new ArchError(`${c.where}: per_channel = ${per} but '${c.layer.params}.p' has ${p.data.length} values`);
      const P = init(c, 'p', p.data, [p.data.length]);
      return c.b.lpPool(c.ins[0], P, { global: 1, mean: 1, mode: 'clamp', eps: c.arg<number>('eps', 1e-6) }, c.layer.params);
    },
  },
  Conv1d: conv('Conv', 1),
  Conv2d: conv('Conv', 2),
  Conv3d: conv('Conv', 3),
  L1Conv1d: conv('L1Conv', 1),
  L1Conv2d: conv('L1Conv', 2),
  L1Conv3d: conv('L1Conv', 3),
  BatchNorm1d: batchNorm(1),
  BatchNorm2d: batchNorm(2),
  BatchNorm3d: batchNorm(3),
  MaxPool1d: pool('MaxPool', 1),
  MaxPool2d: pool('MaxPool', 2),
  MaxPool3d: pool('MaxPool', 3),
  AvgPool1d: pool('AveragePool', 1),
  AvgPool2d: pool('AveragePool', 2),
  AvgPool3d: pool('AveragePool', 3),
  LpPool1d: lpPool(1),
  LpPool2d: lpPool(2),
  LpPool3d: lpPool(3),
  ...Object.fromEntries(
    [1, 2, 3].map((r) => [
      `AdaptiveAvgPool${r}d`,
      {
        args: ['output_size'],
        emit(c: Ctx) {
          const o = c.arg<Json>('output_size', null);
          if (ntuple(o, r, 'output_size', c.where).some((v) => v !== 1)) throw new ArchError(`${c.where}: only output_size 1 is supported`);
          return c.b.globalAveragePool(c.ins[0]);
        },
      },
    ]),
  ),
  ReLU: unary('Relu'),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  Identity: { args: [], emit: (c) => c.b.op('Identity', [c.ins[0]]) },
  Dropout: { args: ['p', 'inplace'], emit: (c) => c.b.op('Identity', [c.ins[0]]) },
  CReLU: { args: [], emit: (c) => c.b.concat([c.ins[0].relu(), c.ins[0].neg().relu()], 1) },
  GELU: {
    args: ['approximate'],
    emit(c) {
      const a = c.arg<string>('approximate', 'none');
      if (a === 'none') return c.b.gelu(c.ins[0]);
      if (a !== 'tanh') throw new ArchError(`${c.where}: approximate must be "none" or "tanh"`);
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      const x = c.ins[0];
      const k = (v: number, n: string) => c.b.initializer(`${c.where}.${n}`.replace(/[^A-Za-z0-9_.]/g, '_'), [v], []);
      const inner = x.add(x.mul(x).mul(x).mul(k(0.044715, 'c'))).mul(k(Math.sqrt(2 / Math.PI), 's'));
      return x.mul(k(0.5, 'h')).mul(inner.tanh().add(k(1, 'one')));
    },
  },
  Softmax: { args: ['dim'], emit: (c) => c.ins[0].softmax(c.arg<number>('dim', -1)) },
  Flatten: {
    args: ['start_dim', 'end_dim'],
    emit(c) {
      if (c.arg<number>('end_dim', -1) !== -1) throw new ArchError(`${c.where}: only end_dim = -1 is supported`);
      return c.ins[0].flatten(c.arg<number>('start_dim', 1));
    },
  },
  Add: { args: [], emit: (c) => c.ins.slice(1).reduce((a, v) => a.add(v), c.ins[0]) },
  Mul: { args: [], emit: (c) => c.ins.slice(1).reduce((a, v) => a.mul(v), c.ins[0]) },
  Concat: { args: ['dim'], emit: (c) => c.b.concat(c.ins, c.arg<number>('dim', 1)) },
};

export const LAYER_TYPES = Object.keys(TYPES);

export interface ArchOptions {
  /** names the spec in messages */
  what: string;
  weightsWhat: string;
  /** a static batch size instead of the spec's symbolic one */
  batch?: number;
  opset?: number;
}

/** Builds the model (lp nodes only; the caller attaches function bodies). */
export function buildFromArch(specJson: unknown, weights: Map<string, Tensor>, o: ArchOptions): ModelProto {
  const spec = checkSpec(specJson, o.what);
  const b = new GraphBuilder({ name: spec.name ?? 'model', opset: o.opset ?? 18 });
  const named = new Map<string, Value>();
  for (const i of spec.inputs) {
    if ((i.dtype ?? 'float32') !== 'float32') throw new ArchError(`${o.what}: input '${i.name}': dtype ${i.dtype} (only float32)`);
    const shape: Dim[] = i.shape.map((d, k) => (k === 0 && o.batch !== undefined ? o.batch : d));
    named.set(i.name, b.input(i.name, 'float32', shape));
  }
  const used = new Set<string>();
  let prev: Value | undefined = named.get(spec.inputs[0]?.name);
  spec.layers.forEach((layer, index) => {
    const where = `${o.what}: layer ${index} (${layer.type}${layer.name ? ` '${layer.name}'` : layer.params ? ` '${layer.params}'` : ''})`;
    const t = TYPES[layer.type];
    if (!t) throw new ArchError(`${where}: unknown layer type '${layer.type}' (known: ${LAYER_TYPES.join(', ')})`);
    for (const k of Object.keys(layer)) {
      if (!COMMON.has(k) && !t.args.includes(k)) throw new ArchError(`${where}: unknown argument '${k}' (${layer.type} takes ${t.args.join(', ') || 'none'})`);
    }
    if (t.params && !layer.params) throw new ArchError(`${where}: needs "params" (the state_dict prefix of its weights)`);
    if (!t.params && layer.params) throw new ArchError(`${where}: ${layer.type} has no weights, but "params" is given`);
    const ins = (layer.inputs ?? []).map((n) => {
      const v = named.get(n);
      if (!v) throw new ArchError(`${where}: input '${n}' is not an earlier layer's name or a graph input`);
      return v;
    });
    if (!layer.inputs) {
      if (!prev) throw new ArchError(`${where}: no previous layer or graph input to take`);
      ins.push(prev);
    }
    const multi = ['Add', 'Mul', 'Concat'].includes(layer.type);
    if (multi && ins.length < 2) throw new ArchError(`${where}: ${layer.type} needs "inputs" with at least two names`);
    if (!multi && ins.length !== 1) throw new ArchError(`${where}: takes one input, got ${ins.length}`);
    const ctx: Ctx = {
      b,
      layer,
      where,
      ins,
      hasParam: (key) => weights.has(`${layer.params}.${key}`),
      param(key) {
        const full = `${layer.params}.${key}`;
        const tensor = weights.get(full);
        if (!tensor) throw new ArchError(`${where}: weight '${full}' is missing from ${o.weightsWhat}`);
        used.add(full);
        return { data: toFloat64(tensor), dims: tensor.dims };
      },
      arg<T extends Json>(name: string, fallback: T): T {
        const v = layer[name];
        return (v === undefined ? fallback : v) as T;
      },
    };
    let y: Value;
    try {
      y = t.emit(ctx);
    } catch (e) {
      if (e instanceof ArchError) throw e;
      throw new ArchError(`${where}: ${(e as Error).message}`);
    }
    const name = layer.name ?? layer.params ?? String(index);
    if (named.has(name)) throw new ArchError(`${where}: the name '${name}' is already taken`);
    named.set(name, y);
    prev = y;
  });
  const surplus = [...weights.keys()].filter((k) => !used.has(k) && !k.endsWith('num_batches_tracked'));
  if (surplus.length) {
    throw new ArchError(`${o.what}: ${o.weightsWhat} holds weights no layer uses: ${surplus.slice(0, 8).join(', ')}${surplus.length > 8 ? `, ... (${surplus.length})` : ''}`);
  }
  const outputs = spec.outputs ?? [spec.layers.length ? (spec.layers[spec.layers.length - 1].name ?? spec.layers[spec.layers.length - 1].params ?? String(spec.layers.length - 1)) : ''];
  for (const n of outputs) {
    const v = named.get(n);
    if (!v) throw new ArchError(`${o.what}: output '${n}' is not a layer name`);
    b.output(v, n);
  }
  return b.build();
}

function checkSpec(j: unknown, what: string): ArchSpec {
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new ArchError(`${what}: not a JSON object`);
  const s = j as Partial<ArchSpec>;
  if (s.format !== ARCH_FORMAT) throw new ArchError(`${what}: "format" is ${JSON.stringify(s.format)}; expected "${ARCH_FORMAT}"`);
  if (!Array.isArray(s.inputs) || s.inputs.length === 0) throw new ArchError(`${what}: "inputs" must be a non-empty list of {name, shape}`);
  for (const [k, i] of s.inputs.entries()) {
    if (typeof i?.name !== 'string' || !Array.isArray(i.shape) || i.shape.some((d) => typeof d !== 'number' && typeof d !== 'string')) {
      throw new ArchError(`${what}: inputs[${k}] must be {name: string, shape: (int | string)[]}`);
    }
  }
  if (!Array.isArray(s.layers) || s.layers.length === 0) throw new ArchError(`${what}: "layers" must be a non-empty list`);
  s.layers.forEach((l, k) => {
    if (typeof l?.type !== 'string') throw new ArchError(`${what}: layer ${k} has no "type"`);
  });
  if (s.outputs !== undefined && (!Array.isArray(s.outputs) || s.outputs.some((o) => typeof o !== 'string'))) {
    throw new ArchError(`${what}: "outputs" must be a list of layer names`);
  }
  for (const k of Object.keys(s)) {
    if (!['format', 'name', 'inputs', 'layers', 'outputs'].includes(k)) throw new ArchError(`${what}: unknown top-level key "${k}"`);
  }
  return s as ArchSpec;
}
