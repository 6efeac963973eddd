// The graph view the fusion matchers share (src/export/fuse.ts, fuse-l1.ts): producers and
// consumers of values, constants seen through Identity and Cast, the report's types, the planned
// replacement of a layer, fresh names.
import { attributeProto } from '../../ops/attributes';
import { lpOp } from '../../ops/index';
import type { NdArray, ValueType } from '../../ops/types';
import { isStdDomain } from '../graph/infer';
import { constantInitializers, nodeLabel, toNdArray } from '../graph/model';
import { attrInt, constantOf, nodeView } from '../graph/std-ops';
import type { AttributeProto, ModelProto, NodeProto, TensorProto } from '../onnx/proto';
import { type ExternalReader, floatToHalf, makeTensor, tensorToProto } from '../onnx/tensor';

export type FusedOp = 'LpNorm' | 'LpPool' | 'L1Conv';

export interface Fusion {
  /** the new node's name */
  name: string;
  op: FusedOp;
  /** what was recognised, in words (e.g. "GeM (AveragePool over the whole plane)") */
  pattern: string;
  /** the new node's attributes (P, W as the inputs say) */
  attrs: Record<string, number | string | number[]>;
  /** standard nodes the fusion made unnecessary (removed) */
  replaced: number;
  /** the value the layer produces */
  output: string;
}

export interface NearMiss {
  /** the node where the layer would end */
  node: string;
  pattern: string;
  why: string;
}

export interface FuseReport {
  fused: Fusion[];
  nearMisses: NearMiss[];
}

/** The float values of a constant (initializer or Constant node, through Identity and float Cast). */
export class Graph {
  readonly producer = new Map<string, NodeProto>();
  readonly consumers = new Map<string, NodeProto[]>();
  readonly outputs: Set<string>;
  private readonly inits: Map<string, TensorProto>;
  private readonly cache = new Map<string, NdArray | null>();

  constructor(
    readonly model: ModelProto,
    readonly types: ReadonlyMap<string, ValueType>,
    private readonly readExternal?: ExternalReader,
  ) {
    const graph = model.graph ?? {};
    this.inits = constantInitializers(graph);
    this.outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
    for (const n of graph.node ?? []) {
      for (const o of n.output ?? []) if (o) this.producer.set(o, n);
      for (const i of n.input ?? []) if (i) this.consumers.set(i, [...(this.consumers.get(i) ?? []), n]);
    }
  }

  /**
   * Whether a node only passes a value on, for matching: Identity, and a Cast between float16 and
   * float (the upcasts and roundings a float16 export writes around a reduction or an Abs; the fused
   * node computes in float32 and rounds once, ops.md "float16").
   */
  passesOn(n: NodeProto | undefined): boolean {
    if (!n || !isStdDomain(n.domain)) return false;
    if (n.op_type === 'Identity') return true;
    if (n.op_type !== 'Cast') return false;
    const to = attrInt(nodeView(n, ''), 'to', 0);
    const from = this.types.get(n.input?.[0] ?? '')?.elemType;
    return (to === 1 || to === 10) && (from === 1 || from === 10);
  }

  /** The node producing a value, seen through Identity nodes and float16 / float Casts. */
  node(value: string | undefined): NodeProto | undefined {
    let n = value ? this.producer.get(value) : undefined;
    while (n && this.passesOn(n)) n = this.producer.get(n.input?.[0] ?? '');
    return n && isStdDomain(n.domain) ? n : undefined;
  }

  /** A value seen through Identity nodes and float16 / float Casts: the name it had before them. */
  source(value: string): string {
    let v = value;
    for (let n = this.producer.get(v); n && this.passesOn(n); n = this.producer.get(v)) v = n.input?.[0] ?? '';
    return v;
  }

  constant(value: string | undefined): NdArray | undefined {
    if (!value) return undefined;
    const hit = this.cache.get(value);
    if (hit !== undefined) return hit ?? undefined;
    let out: NdArray | undefined;
    const t = this.inits.get(value);
    if (t) {
      if (t.data_type === 1 || t.data_type === 11 || t.data_type === 10 || t.data_type === 7 || t.data_type === 6) out = toNdArray(t, this.readExternal);
    } else {
      const n = this.producer.get(value);
      if (n && isStdDomain(n.domain)) {
        if (n.op_type === 'Constant') out = constantOf(nodeView(n, nodeLabel(n)))?.value;
        else if (n.op_type === 'Identity') out = this.constant(n.input?.[0]);
        else if (n.op_type === 'Cast' && [1, 11, 10].includes(attrInt(nodeView(n, ''), 'to', 0))) out = this.constant(n.input?.[0]);
      }
    }
    this.cache.set(value, out ?? null);
    return out;
  }

  /** Whether a constant has an integer element type (shape arithmetic). */
  isIntConstant(value: string): boolean {
    const t = this.inits.get(value);
    if (t) return [2, 3, 4, 5, 6, 7, 12, 13].includes(t.data_type ?? 0);
    const n = this.producer.get(value);
    if (n && n.op_type === 'Constant') {
      const c = constantOf(nodeView(n, nodeLabel(n)));
      return !!c && [2, 3, 4, 5, 6, 7, 12, 13].includes(c.elemType);
    }
    if (n && (n.op_type === 'Identity' || n.op_type === 'Cast')) return n.op_type === 'Identity' ? this.isIntConstant(n.input?.[0] ?? '') : false;
    return false;
  }

  /** Whether a value is float16 (a layer of a `model.half()` export computes in float16). */
  isHalf(value: string | undefined): boolean {
    return !!value && (this.types.get(value)?.elemType ?? this.types.get(this.source(value))?.elemType) === 10;
  }

  rank(value: string): number | undefined {
    return this.types.get(this.source(value))?.shape?.length ?? this.types.get(value)?.shape?.length;
  }

  shape(value: string): ValueType['shape'] {
    return this.types.get(value)?.shape ?? this.types.get(this.source(value))?.shape;
  }
}


export const view = (n: NodeProto) => nodeView(n, nodeLabel(n));
export const isOp = (n: NodeProto | undefined, ...ops: string[]): n is NodeProto => !!n && ops.includes(n.op_type ?? '');
/** The op of a node known to exist (no narrowing: isOp's false branch would exclude it). */
export const opOf = (n: NodeProto): string => n.op_type ?? '';

/** A scalar constant (any shape of one element). */
export function scalar(g: Graph, value: string | undefined): number | undefined {
  const c = g.constant(value);
  return c && c.data.length === 1 ? c.data[0] : undefined;
}

/** A planned replacement: new nodes producing `output`, the nodes of the layer, initializers. */
export interface Plan {
  fusion: Omit<Fusion, 'replaced'>;
  nodes: NodeProto[];
  initializers: TensorProto[];
  layer: NodeProto[];
  root: NodeProto;
}

export type Match = Plan | NearMiss | undefined;

/**
 * A fused node's attributes as ops/ declares them: each encoded with its schema kind, and only those
 * that differ from their default (or, for a per-axis list, from its fill), p always. `shown` is what
 * stays, for the report.
 */
export function lpAttributes(op: FusedOp, attrs: Record<string, number | string | number[]>): { proto: AttributeProto[]; shown: Record<string, number | string | number[]> } {
  const schema = lpOp(op)?.attributes ?? {};
  const shown: Record<string, number | string | number[]> = {};
  const proto: AttributeProto[] = [];
  for (const [name, v] of Object.entries(attrs)) {
    const spec = schema[name];
    if (!spec) throw new Error(`${op} has no attribute '${name}'`);
    const isDefault = Array.isArray(v) ? spec.fill !== undefined && v.every((e) => e === spec.fill) : v === spec.default;
    if (isDefault && name !== 'p') continue; // the exponent is stated even at its default: it is the layer's point
    shown[name] = v;
    proto.push(attributeProto(name, spec.kind, v));
  }
  return { proto, shown };
}

export class Namer {
  private readonly used: Set<string>;
  constructor(model: ModelProto) {
    const g = model.graph ?? {};
    this.used = new Set([
      ...(g.node ?? []).flatMap((n) => [n.name ?? '', ...(n.output ?? [])]),
      ...(g.initializer ?? []).map((t) => t.name ?? ''),
      ...(g.input ?? []).map((i) => i.name ?? ''),
    ]);
  }
  fresh(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }
}

/** "/head/pool/Pow_1" -> "/head/pool/" */
export const scopeOf = (name: string | undefined) => (name && name.includes('/') ? name.slice(0, name.lastIndexOf('/') + 1) : '');


/**
 * A fused node's W or B, in the node's T (ops.md: X, W, B of one type): float16 where X is (the
 * values come from the layer's float16 constants, so they are float16 values), else float32.
 */
export function weightTensor(g: Graph, x: string, dims: number[], values: ArrayLike<number>, name: string): TensorProto {
  if (g.isHalf(x)) return tensorToProto(makeTensor('float16', dims, Uint16Array.from(values, (v) => floatToHalf(v))), name);
  return tensorToProto(makeTensor('float32', dims, Float32Array.from(values)), name);
}
