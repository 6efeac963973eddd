// Building function bodies from standard ONNX ops (default domain, opsets 13 and up).
import type { AttributeProto, FunctionProto, GraphProto, NodeProto } from '../src/onnx/proto';
import { AttributeType } from '../src/onnx/proto';
import { attributeProto } from './attributes';
import { FLOAT, FLOAT16 } from './common';
import { AUTO_PADS, type AutoPad, checkWindowAttrs, type WindowAttrs, type WindowKind } from './geometry';
import { LP_DOMAIN } from './types';

/** Bodies are emitted for ONNX opsets 13 and up (onnxruntime inlines them at the model's opset). */
export const MIN_BODY_OPSET = 13;

export const attr = {
  f: (name: string, v: number) => attributeProto(name, 'float', v),
  i: (name: string, v: number) => attributeProto(name, 'int', v),
  is: (name: string, v: readonly number[]) => attributeProto(name, 'ints', v),
  s: (name: string, v: string) => attributeProto(name, 'string', v),
};

/** Emits nodes with unique value names into one function body. */
export class BodyBuilder {
  readonly nodes: NodeProto[] = [];
  private count = 0;
  private branches = 0;

  /** prefix: of the value names, so that a branch's names differ from its parent's */
  constructor(
    readonly opset: number,
    private readonly prefix = 't',
  ) {
    if (opset < MIN_BODY_OPSET) throw new RangeError(`function bodies need ONNX opset >= ${MIN_BODY_OPSET}, got ${opset}`);
  }

  /** One node; returns its output name. */
  op(type: string, inputs: readonly string[], attrs: AttributeProto[] = []): string {
    const out = `${this.prefix}${this.count++}_${type}`;
    this.nodes.push({ input: [...inputs], output: [out], op_type: type, attribute: attrs });
    return out;
  }

  private constant(dataType: number, dims: number[], raw: Uint8Array): string {
    const value = { dims, data_type: dataType, raw_data: raw };
    const a: AttributeProto = { name: 'value', type: 4, t: value };
    return this.op('Constant', [], [a]);
  }

  /** float32 constant; a scalar when dims is []. */
  float(values: readonly number[], dims: number[] = values.length === 1 ? [] : [values.length]): string {
    const f = Float32Array.from(values);
    return this.constant(1, dims, new Uint8Array(f.buffer));
  }

  /** int64 constant (1-D unless dims given). */
  ints(values: readonly number[], dims: number[] = [values.length]): string {
    const v = BigInt64Array.from(values.map((x) => BigInt(x)));
    return this.constant(7, dims, new Uint8Array(v.buffer));
  }

  /** A Constant holding the calling node's attribute (a function's attribute reference). */
  ref(field: 'value_int' | 'value_float' | 'value_ints', name: string): string {
    const type = { value_int: AttributeType.INT, value_float: AttributeType.FLOAT, value_ints: AttributeType.INTS }[field];
    this.referenced.add(name);
    return this.op('Constant', [], [{ name: field, type, ref_attr_name: name }]);
  }

  /** The attributes the body reads by reference (a function declares them: a runtime binds only those). */
  readonly referenced = new Set<string>();

  /** An attribute used as an operator's own attribute by reference (strides of a Conv, ...). */
  refAttr(name: string, type: number, as = name): AttributeProto {
    this.referenced.add(name);
    return { name: as, type, ref_attr_name: name };
  }

  /** An int attribute as a bool scalar (0: false). */
  flag(name: string): string {
    return this.op('Cast', [this.ref('value_int', name)], [attr.i('to', 9)]);
  }

  /** Whether the int attribute `name` equals `value`, a bool scalar (a twin of a string attribute: twinAttribute). */
  intIs(name: string, value: number): string {
    return this.op('Equal', [this.ref('value_int', name), this.ints([value], [])]);
  }

  /** int64 [len(v)] filled with `value`, as long as the 1-D int64 tensor v. */
  filledLike(v: string, value: number): string {
    const t = { dims: [1], data_type: 7, raw_data: new Uint8Array(BigInt64Array.of(BigInt(value)).buffer) };
    return this.op('ConstantOfShape', [this.op('Shape', [v])], [{ name: 'value', type: AttributeType.TENSOR, t }]);
  }

  /** Shape(x)[start:end]; Shape has start/end from opset 15, a Slice does it before. */
  shape(x: string, start?: number, end?: number): string {
    if (start === undefined && end === undefined) return this.op('Shape', [x]);
    if (this.opset < 15) {
      const ends = this.ints([end ?? Number.MAX_SAFE_INTEGER]);
      return this.op('Slice', [this.op('Shape', [x]), this.ints([start ?? 0]), ends]);
    }
    const a: AttributeProto[] = [];
    if (start !== undefined) a.push(attr.i('start', start));
    if (end !== undefined) a.push(attr.i('end', end));
    return this.op('Shape', [x], a);
  }

  concat(parts: readonly string[], axis = 0): string {
    return parts.length === 1 ? parts[0] : this.op('Concat', parts, [attr.i('axis', axis)]);
  }

  /** Reductions take axes as an input from opset 18 (ReduceSum from 13), as an attribute before. */
  reduce(type: string, x: string, axes: readonly number[], keepdims: boolean): string {
    const keep = attr.i('keepdims', keepdims ? 1 : 0);
    if (this.opset >= 18 || type === 'ReduceSum') return this.op(type, [x, this.ints(axes)], [keep]);
    return this.op(type, [x], [keep, attr.is('axes', axes)]);
  }

  /**
   * base ^ exponent. A scalar (or trailing) exponent is one Pow; an exponent that broadcasts along
   * other axes (per unit, per channel) is Exp(exponent * Log(base)), because onnxruntime's WebGPU
   * provider (1.30) fails on such a Pow. Bases here are max-scaled (<= 1, or a sum >= 1/count),
   * so the log form loses nothing that matters; Log(0) = -inf gives 0 as Pow does.
   */
  pow(base: string, exponent: string, broadcastsInside: boolean): string {
    if (!broadcastsInside) return this.op('Pow', [base, exponent]);
    return this.op('Exp', [this.op('Mul', [this.op('Log', [base]), exponent])]);
  }

  /** 1 where x is NaN, else 0 (float): reduced as x is, it says whether a maximum met a NaN. */
  nanMask(x: string): string {
    return this.op('Cast', [this.op('IsNaN', [x])], [attr.i('to', 1)]);
  }

  /**
   * MAX where NANS (the NaN mask reduced as MAX was) is 0, else NaN: onnxruntime's ReduceMax and
   * MaxPool drop a NaN that is not first (ops.md: a maximum that meets a NaN is NaN).
   */
  nanAware(max: string, nans: string): string {
    return this.op('Where', [this.op('Greater', [nans, this.float([0])]), this.float([Number.NaN]), max]);
  }

  /**
   * If(cond): the float tensor `then` builds in a branch of its own, else `otherwise` (a value of
   * this body). A branch reads this body's values by name; its own names carry a prefix of their own.
   */
  ifElse(cond: string, then: (branch: BodyBuilder) => string, otherwise: string): string {
    const graph = (name: string, build: (branch: BodyBuilder) => string): GraphProto => {
      const branch = new BodyBuilder(this.opset, `${this.prefix}${this.count}_${name}${this.branches++}_`);
      const out = build(branch);
      for (const r of branch.referenced) this.referenced.add(r);
      return { name, node: branch.nodes, output: [{ name: out, type: { tensor_type: { elem_type: FLOAT } } }] };
    };
    const yes = graph('then', then);
    const no = graph('else', (branch) => branch.op('Identity', [otherwise]));
    return this.op('If', [cond], [
      { name: 'then_branch', type: AttributeType.GRAPH, g: yes },
      { name: 'else_branch', type: AttributeType.GRAPH, g: no },
    ]);
  }

  /** Whether any element of x is true, a bool scalar. */
  any(x: string): string {
    const max = this.op('ReduceMax', [this.op('Cast', [x], [attr.i('to', FLOAT)])], [attr.i('keepdims', 0)]);
    return this.op('Greater', [max, this.float([0])]);
  }

  /** x where x > 0, else 1: a safe divisor for the max-scaling. */
  positiveOrOne(x: string): string {
    return this.op('Where', [this.op('Greater', [x, this.float([0])]), x, this.float([1])]);
  }

  /** The function proto: inputs/outputs are the given names in order. */
  finish(name: string, overload: string, inputs: string[], outputs: string[], doc: string): FunctionProto {
    return {
      name,
      domain: LP_DOMAIN,
      ...(overload ? { overload } : {}),
      input: inputs,
      output: outputs,
      ...(this.referenced.size > 0 ? { attribute: [...this.referenced] } : {}),
      node: this.nodes,
      doc_string: doc,
      opset_import: [{ domain: '', version: this.opset }],
    };
  }
}

/** a(x): the magnitude of ops.md, from the mode and eps attributes. */
export function emitMagnitude(b: BodyBuilder, x: string, mode: string, eps: number): string {
  if (mode === 'abs') {
    const ax = b.op('Abs', [x]);
    return eps > 0 ? b.op('Max', [ax, b.float([eps])]) : ax;
  }
  return b.op('Max', [x, b.float([eps])]);
}

/**
 * a(x) with eps by reference. The mode is baked in where every node of the body has the same one;
 * otherwise it comes from its numeric twin mode_index (no standard op tests a string attribute in
 * every runtime: onnxruntime-web's browser builds have no TfIdfVectorizer, Equal takes strings from
 * opset 19), and a(x) for either mode costs one more pass over x.
 */
export function emitMagnitudeByReference(b: BodyBuilder, x: string, mode: string | undefined): string {
  const eps = b.ref('value_float', 'eps');
  let v: string;
  if (mode === 'abs') v = b.op('Abs', [x]);
  else if (mode === 'clamp') v = x;
  else v = b.op('Where', [b.intIs('mode_index', 0), b.op('Abs', [x]), x]);
  return b.op('Max', [v, eps]);
}

/** The window geometry of emitWindow, read from the node's attributes by reference. */
export interface ReferencedWindow {
  /** int64 [r] kernel_shape, and [prod(k), 1, k...] one-hot filters (a Conv with them lays every window out along channels) */
  kernel: string;
  oneHot: string;
  /** int64 [2 * (2 + r)] pads for Pad over N, C and the spatial axes, with the ceil_mode overhang */
  pads: string;
  /** the same without the overhang, begin and end of the spatial axes (count_include_pad) */
  padBegin: string;
  padEnd: string;
  /** int64 [r] output sizes */
  outSizes: string;
  /** int64 [r] ones */
  ones: string;
  /** Conv attributes strides and dilations by reference */
  convAttrs: AttributeProto[];
}

/**
 * Pads and output sizes in the graph from the input's shape and the node's kernel_shape, strides,
 * pads, dilations (and ceil_mode for 'pool', unless `ceilMode` is 0 for every node), all by
 * reference; auto_pad is baked in where every node has the same (`autoPad`), else read from its
 * numeric twin auto_pad_index. Mirrors
 * ops/geometry.ts resolveWindow for every rank.
 */
export function emitWindowByReference(b: BodyBuilder, x: string, kind: WindowKind, autoPad: string | undefined, ceilMode?: number): ReferencedWindow {
  const kernel = b.ref('value_ints', 'kernel_shape');
  const strides = b.ref('value_ints', 'strides');
  const dilations = b.ref('value_ints', 'dilations');
  const pads = b.ref('value_ints', 'pads');
  const ones = b.filledLike(kernel, 1);
  const zeros = b.filledLike(kernel, 0);
  const spatial = b.shape(x, 2);
  const half = b.op('Div', [b.op('Shape', [pads]), b.ints([2])]);
  const explicitBegin = b.op('Slice', [pads, b.ints([0]), half]);
  const explicitEnd = b.op('Slice', [pads, half, b.ints([Number.MAX_SAFE_INTEGER])]);
  // SAME_*: total = max(0, (ceil(in / s) - 1) * s + span - in), the odd one at the end for UPPER
  const dilatedSpan = b.op('Add', [b.op('Mul', [dilations, b.op('Sub', [kernel, ones])]), ones]);
  const sm1 = b.op('Sub', [strides, ones]);
  const same = () => {
    const outs = b.op('Div', [b.op('Add', [spatial, sm1]), strides]);
    const needed = b.op('Sub', [b.op('Add', [b.op('Mul', [b.op('Sub', [outs, ones]), strides]), kind === 'pool' ? kernel : dilatedSpan]), spatial]);
    const total = b.op('Max', [needed, zeros]);
    const small = b.op('Div', [total, b.op('Add', [ones, ones])]);
    return { small, large: b.op('Sub', [total, small]) };
  };
  let padBegin: string;
  let padEnd: string;
  if (autoPad === 'NOTSET') [padBegin, padEnd] = [explicitBegin, explicitEnd];
  else if (autoPad === 'VALID') [padBegin, padEnd] = [zeros, zeros];
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const { small, large } = same();
    [padBegin, padEnd] = autoPad === 'SAME_UPPER' ? [small, large] : [large, small];
  } else {
    const { small, large } = same();
    const is = (v: AutoPad) => b.intIs('auto_pad_index', AUTO_PADS.indexOf(v));
    const [upper, lower, valid] = [is('SAME_UPPER'), is('SAME_LOWER'), is('VALID')];
    const choose = (u: string, l: string, explicit: string) => b.op('Where', [upper, u, b.op('Where', [lower, l, b.op('Where', [valid, zeros, explicit])])]);
    padBegin = choose(small, large, explicitBegin);
    padEnd = choose(large, small, explicitEnd);
  }
  const room = b.op('Sub', [b.op('Add', [b.op('Add', [spatial, padBegin]), padEnd]), dilatedSpan]);
  let outSizes = b.op('Add', [b.op('Div', [room, strides]), ones]);
  let end = padEnd;
  if (kind === 'pool' && ceilMode !== 0) {
    // ceil_mode: ceil(room / s) + 1, minus one when the last window starts inside the end padding;
    // the overhang is (s - 1) zeros more at each end so that those windows exist
    const ceil = b.ref('value_int', 'ceil_mode');
    const ceilOut = b.op('Add', [b.op('Div', [b.op('Add', [room, sm1]), strides]), ones]);
    const lastStart = b.op('Mul', [b.op('Sub', [ceilOut, ones]), strides]);
    const drop = b.op('Cast', [b.op('GreaterOrEqual', [lastStart, b.op('Add', [spatial, padBegin])])], [attr.i('to', 7)]);
    outSizes = b.op('Where', [b.op('Cast', [ceil], [attr.i('to', 9)]), b.op('Sub', [ceilOut, drop]), outSizes]);
    end = b.op('Add', [padEnd, b.op('Mul', [sm1, ceil])]);
  }
  const zeros2 = b.ints([0, 0]);
  const taps = b.reduce('ReduceProd', kernel, [0], true);
  const range = b.op('Range', [b.ints([0], []), b.op('Squeeze', [taps, b.ints([0])]), b.ints([1], [])]);
  const eye = b.op('Equal', [b.op('Unsqueeze', [range, b.ints([1])]), b.op('Unsqueeze', [range, b.ints([0])])]);
  const oneHot = b.op('Cast', [b.op('Reshape', [eye, b.concat([taps, b.ints([1]), kernel])])], [attr.i('to', 1)]);
  return {
    kernel,
    oneHot,
    pads: b.concat([zeros2, padBegin, zeros2, end]),
    padBegin,
    padEnd,
    outSizes,
    ones,
    convAttrs: [b.refAttr('strides', AttributeType.INTS), b.refAttr('dilations', AttributeType.INTS)],
  };
}

/** The in-graph window geometry of one node: pads to apply with Pad and output sizes to Slice to. */
export interface EmittedWindow {
  /** int64 [2 * (2 + r)] pads for Pad over N, C and the spatial axes (zeros for N and C) */
  pads: string;
  /** int64 [r]: the output spatial sizes when the Conv result must be cut (ceil_mode), else undefined */
  outSizes?: string;
  /** int64 [r] pads begin / end of the spatial axes, for a second Pad (count_include_pad) */
  padBegin: string;
  padEnd: string;
  /** extra zeros appended at the end of each spatial axis so that ceil_mode windows exist */
  extraEnd: number[];
}

/**
 * Pads and output sizes computed in the graph from the input's shape (so one body serves every
 * input size); mirrors ops/geometry.ts resolveWindow.
 */
export function emitWindow(b: BodyBuilder, x: string, kind: WindowKind, attrs: WindowAttrs, rank: number): EmittedWindow {
  const { kernel, strides, dilations, pads, autoPad } = checkWindowAttrs(attrs, rank);
  const ceil = kind === 'pool' && (attrs.ceil_mode ?? 0) !== 0;
  const extraEnd = ceil ? strides.map((s) => s - 1) : strides.map(() => 0);
  let padBegin: string;
  let padEnd: string;
  const spatial = b.shape(x, 2);
  if (autoPad === 'NOTSET' || autoPad === 'VALID') {
    padBegin = b.ints(autoPad === 'VALID' ? kernel.map(() => 0) : pads.slice(0, rank));
    padEnd = b.ints(autoPad === 'VALID' ? kernel.map(() => 0) : pads.slice(rank));
  } else {
    ({ padBegin, padEnd } = emitSamePads(b, spatial, kind, kernel, strides, dilations, autoPad));
  }
  const zeros2 = b.ints([0, 0]);
  const endWithExtra = extraEnd.some((e) => e > 0) ? b.op('Add', [padEnd, b.ints(extraEnd)]) : padEnd;
  const allPads = b.concat([zeros2, padBegin, zeros2, endWithExtra]);
  let outSizes: string | undefined;
  if (ceil) {
    // out = ceil(room / s) + 1, minus one when the last window starts inside the end padding.
    const span = b.ints(kernel.map((k, i) => dilations[i] * (k - 1) + 1));
    const s = b.ints(strides);
    const sm1 = b.ints(strides.map((v) => v - 1));
    const one = b.ints(rank === 1 ? [1] : kernel.map(() => 1));
    const room = b.op('Sub', [b.op('Add', [b.op('Add', [spatial, padBegin]), padEnd]), span]);
    const out = b.op('Add', [b.op('Div', [b.op('Add', [room, sm1]), s]), one]);
    const lastStart = b.op('Mul', [b.op('Sub', [out, one]), s]);
    const drop = b.op('Cast', [b.op('GreaterOrEqual', [lastStart, b.op('Add', [spatial, padBegin])])], [attr.i('to', 7)]);
    outSizes = b.op('Sub', [out, drop]);
  }
  return { pads: allPads, outSizes, padBegin, padEnd, extraEnd };
}

function emitSamePads(
  b: BodyBuilder,
  spatial: string,
  kind: WindowKind,
  kernel: number[],
  strides: number[],
  dilations: number[],
  autoPad: AutoPad,
): { padBegin: string; padEnd: string } {
  const span = b.ints(kernel.map((k, i) => (kind === 'pool' ? k : dilations[i] * (k - 1) + 1)));
  const s = b.ints(strides);
  const sm1 = b.ints(strides.map((v) => v - 1));
  const two = b.ints(kernel.map(() => 2));
  const zero = b.ints(kernel.map(() => 0));
  const outs = b.op('Div', [b.op('Add', [spatial, sm1]), s]);
  const needed = b.op('Sub', [b.op('Add', [b.op('Mul', [b.op('Sub', [outs, b.ints(kernel.map(() => 1))]), s]), span]), spatial]);
  const total = b.op('Max', [needed, zero]);
  const small = b.op('Div', [total, two]);
  const large = b.op('Sub', [total, small]);
  return autoPad === 'SAME_UPPER' ? { padBegin: small, padEnd: large } : { padBegin: large, padEnd: small };
}

/** Cuts the spatial axes (2..) of x to outSizes. */
export function emitCut(b: BodyBuilder, x: string, outSizes: string, rank: number): string {
  const axes = Array.from({ length: rank }, (_, i) => i + 2);
  return b.op('Slice', [x, b.ints(axes.map(() => 0)), outSizes, b.ints(axes)]);
}

/** One-hot filters [prod(k), 1, k...]: a Conv with them lays every window out along channels. */
export function emitUnfoldFilters(b: BodyBuilder, kernel: readonly number[]): string {
  const taps = kernel.reduce((a, k) => a * k, 1);
  const values = new Array<number>(taps * taps).fill(0);
  for (let t = 0; t < taps; t++) values[t * taps + t] = 1;
  return b.float(values, [taps, 1, ...kernel]);
}

/** Whether NAME is read by any of NODES or by a node of their subgraphs (If, Loop, Scan). */
function reads(nodes: readonly NodeProto[], name: string): boolean {
  return nodes.some((n) => (n.input ?? []).includes(name) || (n.attribute ?? []).some((a) => [a.g, ...(a.graphs ?? [])].some((g) => g && reads(g.node ?? [], name))));
}

/** The element type a float16 body's output is cast back to: every node's T, or 'like X' when they differ. */
export type BodyOutputType = 'float' | 'float16' | 'like-x';

/**
 * A float body made right for float16 nodes too (ops.md, "float16"): every input the body reads is
 * cast to float first (X, W, B of T; P of float or float16; a Cast to the same type is a no-op),
 * the float body runs, and Y is cast back once: to float16 when every node of the op is float16,
 * like X (CastLike, opset 15) when the model mixes float and float16 nodes of the op. The body
 * keeps its names inside: the formal inputs become `<name>__in`, the output `Y__out`.
 */
export function castBody(body: FunctionProto, output: BodyOutputType, opset: number): FunctionProto {
  if (output === 'like-x' && opset < 15) {
    throw new RangeError(
      `${body.name}: the model holds float and float16 ${body.name} nodes, whose one function body casts Y back with CastLike (ONNX opset 15); the model is at opset ${opset}: export it at opset 15 or later`,
    );
  }
  const nodes = body.node ?? [];
  const inputs = body.input ?? [];
  const casts: NodeProto[] = inputs
    .filter((name) => reads(nodes, name))
    .map((name) => ({ input: [`${name}__in`], output: [name], op_type: 'Cast', attribute: [attr.i('to', FLOAT)] }));
  const [y] = body.output ?? ['Y'];
  const back: NodeProto[] =
    output === 'float'
      ? []
      : [
          output === 'float16'
            ? { input: [y], output: [`${y}__out`], op_type: 'Cast', attribute: [attr.i('to', FLOAT16)] }
            : { input: [y, `${inputs[0]}__in`], output: [`${y}__out`], op_type: 'CastLike', attribute: [] },
        ];
  return {
    ...body,
    input: inputs.map((name) => `${name}__in`),
    output: output === 'float' ? [y] : [`${y}__out`],
    node: [...casts, ...nodes, ...back],
    doc_string: `${body.doc_string ?? ''}\nfloat16: inputs cast to float, Y cast back ${output === 'like-x' ? 'like X' : `to ${output}`}`,
  };
}
