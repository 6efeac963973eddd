// A typed, fluent graph builder: standard ONNX ops plus the lp-onnx ops. Every node is checked
// and its output typed as it is added, so a mistake is reported where it is made.
import { attributeProto, encodeAttributes } from '../../ops/attributes';
import type { Dim } from '../../ops/geometry';
import { LP_DOMAIN, LP_OPSET_VERSION, lpOp } from '../../ops/index';
import type { L1ConvAttrs } from '../../ops/l1-conv';
import type { LpNormAttrs } from '../../ops/lp-norm';
import type { LpPoolAttrs } from '../../ops/lp-pool';
import type { NdArray, ValueType } from '../../ops/types';
import type { AttributeProto, ModelProto, NodeProto, TensorProto } from '../onnx/proto';
import { type DType, dtypeCode, makeTensor, type TypedArray, tensorToProto, toFloat64 } from '../onnx/tensor';
import { PRODUCER_NAME, PRODUCER_VERSION } from '../version';
import { type DualPathOptions, dualPathModel } from './dual-path';
import { formatType, valueInfo } from './model';
import { nodeView, STD_OPS } from './std-ops';

export class BuilderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuilderError';
  }
}

/** Attributes of standard ops that are floats (all other numbers are ints). */
const FLOAT_ATTRS = new Set(['alpha', 'beta', 'epsilon', 'momentum', 'ratio', 'gamma', 'lambd', 'bias']);

export type AttrInput = number | string | readonly number[];
type Conv2Attrs = {
  kernel_shape?: number[];
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  auto_pad?: string;
  group?: number;
};
type PoolAttrs = {
  kernel_shape: number[];
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  auto_pad?: string;
  ceil_mode?: number;
  count_include_pad?: number;
};

/** A value in the graph being built; ops on it add nodes to its builder. */
export class Value {
  constructor(
    readonly builder: GraphBuilder,
    readonly name: string,
    readonly type: ValueType,
  ) {}
  get shape(): Dim[] | undefined {
    return this.type.shape;
  }
  toString(): string {
    return `${this.name}: ${formatType(this.type)}`;
  }
  relu(): Value {
    return this.builder.op('Relu', [this]);
  }
  sigmoid(): Value {
    return this.builder.op('Sigmoid', [this]);
  }
  tanh(): Value {
    return this.builder.op('Tanh', [this]);
  }
  gelu(): Value {
    return this.builder.gelu(this);
  }
  neg(): Value {
    return this.builder.op('Neg', [this]);
  }
  add(o: Value): Value {
    return this.builder.op('Add', [this, o]);
  }
  sub(o: Value): Value {
    return this.builder.op('Sub', [this, o]);
  }
  mul(o: Value): Value {
    return this.builder.op('Mul', [this, o]);
  }
  div(o: Value): Value {
    return this.builder.op('Div', [this, o]);
  }
  matmul(o: Value): Value {
    return this.builder.op('MatMul', [this, o]);
  }
  softmax(axis = -1): Value {
    return this.builder.op('Softmax', [this], { axis });
  }
  flatten(axis = 1): Value {
    return this.builder.op('Flatten', [this], { axis });
  }
  reshape(shape: readonly number[]): Value {
    return this.builder.reshape(this, shape);
  }
  transpose(perm: readonly number[]): Value {
    return this.builder.op('Transpose', [this], { perm });
  }
  lpNorm(w: Value, p?: Value, attrs: Partial<LpNormAttrs> = {}): Value {
    return this.builder.lpNorm(this, w, p, attrs);
  }
  lpPool(p?: Value, attrs?: Partial<LpPoolAttrs>): Value;
  /** @deprecated inputs first, then attributes: `lpPool(p, attrs)`, as lpNorm and l1Conv take them */
  lpPool(attrs: Partial<LpPoolAttrs>, p?: Value): Value;
  lpPool(a?: Value | Partial<LpPoolAttrs>, b?: Value | Partial<LpPoolAttrs>): Value {
    return this.builder.lpPool(this, a as Value, b as Partial<LpPoolAttrs>);
  }
  l1Conv(w: Value, b?: Value, attrs: Partial<L1ConvAttrs> = {}): Value {
    return this.builder.l1Conv(this, w, b, attrs);
  }
}

let warnedLpPoolOrder = false;

export interface BuilderOptions {
  name?: string;
  /** default-domain opset (13 to 23; the function bodies use it too); default 18 */
  opset?: number;
  docString?: string;
}

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly inputs: { name: string; type: ValueType }[] = [];
  private readonly outputs: { name: string; type: ValueType }[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly constValues = new Map<string, NdArray>();
  private readonly names = new Set<string>();
  private readonly counts = new Map<string, number>();
  readonly opset: number;

  constructor(readonly options: BuilderOptions = {}) {
    this.opset = options.opset ?? 18;
  }

  private fresh(base: string): string {
    let k = this.counts.get(base) ?? 0;
    let name: string;
    do name = `${base}_${k++}`;
    while (this.names.has(name));
    this.counts.set(base, k);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new BuilderError(`the name '${name}' is already used in this graph`);
    this.names.add(name);
    return name;
  }

  /** A graph input; string dims are symbolic (for example 'N' for the batch). */
  input(name: string, dtype: DType, shape: readonly Dim[]): Value {
    const type: ValueType = { elemType: dtypeCode(dtype), shape: [...shape] };
    this.inputs.push({ name: this.claim(name), type });
    return new Value(this, name, type);
  }

  /** A weight tensor stored in the model. */
  initializer(name: string, data: TypedArray | readonly number[], dims: readonly number[], dtype?: Exclude<DType, 'string'>): Value {
    const dt = dtype ?? dtypeOfArray(data);
    const expected = dims.reduce((a, b) => a * b, 1);
    if (data.length !== expected) {
      throw new BuilderError(`initializer '${name}': ${data.length} values for dims [${dims}] (expected ${expected})`);
    }
    const tensor = makeTensor(dt, [...dims], data as ArrayLike<number>);
    const proto = tensorToProto(tensor, this.claim(name));
    this.initializers.push(proto);
    // the values (float16 / bfloat16 tensors hold bit patterns: decoded)
    this.constValues.set(name, { dims: [...dims], data: dt === 'float16' || dt === 'bfloat16' ? toFloat64(tensor) : Float64Array.from(data as ArrayLike<number>, Number) });
    return new Value(this, name, { elemType: dtypeCode(dt), shape: [...dims] });
  }

  /** An int64 1-D initializer (shapes, axes). */
  ints(values: readonly number[], name = this.fresh('const')): Value {
    return this.initializer(name, BigInt64Array.from(values.map((v) => BigInt(v))), [values.length], 'int64');
  }

  output(v: Value, name?: string): this {
    if (name && name !== v.name) {
      const out = this.op('Identity', [v], {}, { name });
      this.outputs.push({ name: out.name, type: out.type });
    } else {
      this.outputs.push({ name: v.name, type: v.type });
    }
    return this;
  }

  /** Adds any node; checks it and types its output. `domain` '' is the ONNX domain. */
  op(opType: string, inputs: readonly (Value | undefined)[], attrs: Record<string, AttrInput> = {}, opts: { name?: string; domain?: string } = {}): Value {
    const domain = opts.domain ?? '';
    const nodeName = opts.name ? this.claim(opts.name) : this.fresh(opType);
    const outName = nodeName;
    if (opts.name === undefined) this.names.add(outName);
    for (const v of inputs) if (v && v.builder !== this) throw new BuilderError(`node '${nodeName}': input '${v.name}' belongs to another graph`);
    const attribute = domain === LP_DOMAIN ? lpAttributes(opType, attrs, nodeName) : stdAttributes(attrs);
    const node: NodeProto = {
      name: nodeName,
      op_type: opType,
      domain: domain || undefined,
      input: trimOptional(inputs.map((v) => v?.name ?? '')),
      output: [outName],
      attribute,
    };
    const type = this.infer(node, inputs);
    this.nodes.push(node);
    return new Value(this, outName, type);
  }

  private infer(node: NodeProto, inputs: readonly (Value | undefined)[]): ValueType {
    const label = node.name ?? '';
    try {
      if (node.domain === LP_DOMAIN) {
        const op = lpOp(node.op_type ?? '');
        if (!op) throw new BuilderError(`unknown lp-onnx op '${node.op_type}'`);
        const attrs = op.parse(node.attribute ?? [], label);
        return op.inferShape(attrs, {
          node: label,
          inputs: inputs.map((v) => v?.type),
          constants: inputs.map((v) => (v ? this.constValues.get(v.name) : undefined)),
          present: inputs.map((v) => v !== undefined),
        });
      }
      const std = STD_OPS[node.op_type ?? ''];
      if (!std) throw new BuilderError(`the builder has no shape rule for '${node.op_type}'`);
      const outs = std.infer(
        nodeView(node, label),
        inputs.map((v) => v?.type),
        inputs.map((v) => (v ? this.constValues.get(v.name) : undefined)),
      );
      return outs[0];
    } catch (e) {
      const msg = (e as Error).message;
      const types = inputs
        .filter((v) => v !== undefined)
        .map((v) => v.toString())
        .join(', ');
      const text = msg.startsWith(`${label}: `)
        ? `node '${label}' (${node.op_type}): ${msg.slice(label.length + 2)}`
        : msg.includes(label)
          ? msg
          : `node '${label}' (${node.op_type}): ${msg}`;
      throw new BuilderError(`${text} [inputs: ${types}]`);
    }
  }

  // --- standard ops -----------------------------------------------------------------------------

  gemm(a: Value, b: Value, c?: Value, attrs: { alpha?: number; beta?: number; transA?: number; transB?: number } = {}): Value {
    return this.op('Gemm', [a, b, c], attrs);
  }
  conv(x: Value, w: Value, b?: Value, attrs: Conv2Attrs = {}): Value {
    return this.op('Conv', [x, w, b], attrs as Record<string, AttrInput>);
  }
  batchNorm(x: Value, scale: Value, bias: Value, mean: Value, variance: Value, epsilon = 1e-5): Value {
    return this.op('BatchNormalization', [x, scale, bias, mean, variance], { epsilon });
  }
  maxPool(x: Value, attrs: PoolAttrs): Value {
    return this.op('MaxPool', [x], attrs as Record<string, AttrInput>);
  }
  averagePool(x: Value, attrs: PoolAttrs): Value {
    return this.op('AveragePool', [x], attrs as Record<string, AttrInput>);
  }
  globalAveragePool(x: Value): Value {
    return this.op('GlobalAveragePool', [x]);
  }
  concat(values: readonly Value[], axis: number): Value {
    return this.op('Concat', values, { axis });
  }
  reshape(x: Value, shape: readonly number[]): Value {
    return this.op('Reshape', [x, this.ints(shape)]);
  }
  squeeze(x: Value, axes: readonly number[]): Value {
    return this.op('Squeeze', [x, this.ints(axes)]);
  }
  unsqueeze(x: Value, axes: readonly number[]): Value {
    return this.op('Unsqueeze', [x, this.ints(axes)]);
  }
  /** ReduceMean: axes as an input from opset 18, as an attribute before. */
  reduceMean(x: Value, axes: readonly number[], keepdims = true): Value {
    if (this.opset < 18) return this.op('ReduceMean', [x], { keepdims: keepdims ? 1 : 0, axes });
    return this.op('ReduceMean', [x, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  }
  /** Gelu (exact, erf form): the Gelu op from opset 20, Erf arithmetic before. */
  gelu(x: Value): Value {
    if (this.opset >= 20) return this.op('Gelu', [x]);
    const half = this.initializer(this.fresh('half'), [0.5], []);
    const one = this.initializer(this.fresh('one'), [1], []);
    const rsqrt2 = this.initializer(this.fresh('rsqrt2'), [Math.SQRT1_2], []);
    const e = this.op('Erf', [this.op('Mul', [x, rsqrt2])]);
    return this.op('Mul', [this.op('Mul', [x, half]), this.op('Add', [e, one])]);
  }

  // --- lp-onnx ops ------------------------------------------------------------------------------

  lpNorm(x: Value, w: Value, p?: Value, attrs: Partial<LpNormAttrs> = {}, name?: string): Value {
    return this.op('LpNorm', [x, w, p], attrs as Record<string, AttrInput>, { domain: LP_DOMAIN, name });
  }
  /** LpPool of X, with exponents P (per channel) or the attribute p; inputs first, then attributes, as lpNorm and l1Conv. */
  lpPool(x: Value, p?: Value, attrs?: Partial<LpPoolAttrs>, name?: string): Value;
  /** @deprecated inputs first, then attributes: `lpPool(x, p, attrs, name)`, as lpNorm and l1Conv take them */
  lpPool(x: Value, attrs: Partial<LpPoolAttrs>, p?: Value, name?: string): Value;
  lpPool(x: Value, a?: Value | Partial<LpPoolAttrs>, b?: Value | Partial<LpPoolAttrs>, name?: string): Value {
    let p = a as Value | undefined;
    let attrs = (b ?? {}) as Partial<LpPoolAttrs>;
    if (a !== undefined && !(a instanceof Value)) {
      // the form before 0.2: (x, attrs, p)
      if (!warnedLpPoolOrder) {
        warnedLpPoolOrder = true;
        if (typeof process !== 'undefined') process.emitWarning('GraphBuilder.lpPool(x, attrs, p) is deprecated: pass lpPool(x, p, attrs), inputs first as lpNorm and l1Conv take them', 'DeprecationWarning');
      }
      attrs = a;
      p = b as Value | undefined;
    }
    return this.op('LpPool', [x, p], attrs as Record<string, AttrInput>, { domain: LP_DOMAIN, name });
  }
  l1Conv(x: Value, w: Value, b?: Value, attrs: Partial<L1ConvAttrs> = {}, name?: string): Value {
    return this.op('L1Conv', [x, w, b], attrs as Record<string, AttrInput>, { domain: LP_DOMAIN, name });
  }

  // --- results ----------------------------------------------------------------------------------

  /** The model with single lp nodes only (no function bodies); see `buildDualPath`. */
  build(): ModelProto {
    if (this.outputs.length === 0) throw new BuilderError('the graph has no outputs: call output(value) first');
    const usesLp = this.nodes.some((n) => n.domain === LP_DOMAIN);
    return {
      ir_version: 10,
      producer_name: PRODUCER_NAME,
      producer_version: PRODUCER_VERSION,
      doc_string: this.options.docString,
      opset_import: [{ domain: '', version: this.opset }, ...(usesLp ? [{ domain: LP_DOMAIN, version: LP_OPSET_VERSION }] : [])],
      graph: {
        name: this.options.name ?? 'lp_onnx_graph',
        node: structuredClone(this.nodes),
        input: this.inputs.map((i) => valueInfo(i.name, i.type)),
        output: this.outputs.map((o) => valueInfo(o.name, o.type)),
        initializer: [...this.initializers],
      },
    };
  }

  /** The dual-path model: lp nodes plus their function bodies. */
  buildDualPath(options: DualPathOptions = {}): ModelProto {
    return dualPathModel(this.build(), { opset: this.opset, what: this.options.name ?? 'graph', ...options });
  }
}

function dtypeOfArray(data: TypedArray | readonly number[]): Exclude<DType, 'string'> {
  if (Array.isArray(data) || data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  throw new BuilderError('pass dtype for this typed array');
}

function trimOptional(names: string[]): string[] {
  let n = names.length;
  while (n > 0 && names[n - 1] === '') n--;
  return names.slice(0, n);
}

function stdAttributes(attrs: Record<string, AttrInput>): AttributeProto[] {
  return Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([name, v]) => {
      if (typeof v === 'string') return attributeProto(name, 'string', v);
      if (Array.isArray(v)) return attributeProto(name, 'ints', v);
      return attributeProto(name, FLOAT_ATTRS.has(name) ? 'float' : 'int', v as number);
    });
}

function lpAttributes(opType: string, attrs: Record<string, AttrInput>, node: string): AttributeProto[] {
  const op = lpOp(opType);
  if (!op) throw new BuilderError(`node '${node}': unknown lp-onnx op '${opType}'`);
  for (const k of Object.keys(attrs)) {
    if (!(k in op.attributes)) {
      throw new BuilderError(`${opType} node '${node}': unknown attribute '${k}' (expected one of ${Object.keys(op.attributes).join(', ')})`);
    }
  }
  return encodeAttributes(op.attributes, attrs);
}
