// Helpers over ModelProto / GraphProto: value types, constants, topological order.
import type { Dim } from '../../ops/geometry';
import type { NdArray, NodeContext, ValueType } from '../../ops/types';
import type { GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from '../onnx/proto';
import { int64ToNumber } from '../onnx/proto';
import { type ExternalReader, protoDims, tensorFromProto, toFloat64 } from '../onnx/tensor';

/** A model that lp-onnx cannot take: the message names the file and the node. */
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

export function valueTypeOf(vi: ValueInfoProto | undefined): ValueType | undefined {
  const t = vi?.type?.tensor_type;
  if (!t) return undefined;
  const elemType = t.elem_type ?? 0;
  if (!t.shape) return { elemType };
  const shape: Dim[] = (t.shape.dim ?? []).map((d) => {
    if (d.dim_value !== undefined) return int64ToNumber(d.dim_value, `dim of '${vi?.name}'`);
    if (d.dim_param) return d.dim_param;
    return null;
  });
  return { elemType, shape };
}

export function valueInfo(name: string, t: ValueType): ValueInfoProto {
  const tensor: NonNullable<NonNullable<ValueInfoProto['type']>['tensor_type']> = { elem_type: t.elemType };
  if (t.shape) {
    tensor.shape = {
      dim: t.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : typeof d === 'string' ? { dim_param: d } : {})),
    };
  }
  return { name, type: { tensor_type: tensor } };
}

export function formatType(t: ValueType | undefined): string {
  if (!t) return '?';
  const shape = t.shape ? `[${t.shape.map((d) => (d === null ? '?' : d)).join(', ')}]` : '[...]';
  return `${elemTypeName(t.elemType)}${shape}`;
}

const elemNames: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

export function elemTypeName(code: number): string {
  return elemNames[code] ?? `type${code}`;
}

export function initializerType(t: TensorProto): ValueType {
  return { elemType: t.data_type ?? 0, shape: protoDims(t) };
}

/** Initializers that are not graph inputs: their values are fixed. */
export function constantInitializers(graph: GraphProto): Map<string, TensorProto> {
  const inputs = new Set((graph.input ?? []).map((i) => i.name));
  const out = new Map<string, TensorProto>();
  for (const t of graph.initializer ?? []) if (!inputs.has(t.name)) out.set(t.name ?? '', t);
  return out;
}

/** Types known from the graph's declarations: inputs, outputs, value_info, initializers. */
export function declaredTypes(graph: GraphProto): Map<string, ValueType> {
  const types = new Map<string, ValueType>();
  for (const vi of [...(graph.value_info ?? []), ...(graph.output ?? []), ...(graph.input ?? [])]) {
    const t = valueTypeOf(vi);
    if (t) types.set(vi.name ?? '', t);
  }
  for (const t of graph.initializer ?? []) types.set(t.name ?? '', initializerType(t));
  return types;
}

export function toNdArray(t: TensorProto, readExternal?: ExternalReader): NdArray {
  const tensor = tensorFromProto(t, readExternal);
  return { dims: tensor.dims, data: toFloat64(tensor), elemType: t.data_type ?? 0 };
}

/** Nodes in an order where every input is produced before use; throws on a cycle. */
export function topologicalOrder(graph: GraphProto, what: string): NodeProto[] {
  const nodes = graph.node ?? [];
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) if (o) producer.set(o, i);
  });
  const state = new Uint8Array(nodes.length); // 0 new, 1 visiting, 2 done
  const order: NodeProto[] = [];
  const visit = (start: number) => {
    const stack: [number, number][] = [[start, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [i, k] = top;
      if (k === 0) {
        if (state[i] === 2) {
          stack.pop();
          continue;
        }
        state[i] = 1;
      }
      const inputs = nodes[i].input ?? [];
      if (k < inputs.length) {
        top[1]++;
        const p = producer.get(inputs[k]);
        if (p !== undefined) {
          if (state[p] === 1) throw new ModelError(`${what}: the graph has a cycle through node '${nodes[p].name ?? p}'`);
          if (state[p] === 0) stack.push([p, 0]);
        }
        continue;
      }
      state[i] = 2;
      order.push(nodes[i]);
      stack.pop();
    }
  };
  for (let i = 0; i < nodes.length; i++) visit(i);
  return order;
}

export function nodeLabel(n: NodeProto, index?: number): string {
  return n.name || `${n.op_type}#${index ?? '?'}(${(n.output ?? []).join(',')})`;
}

/** What an op module needs to know about a node. */
export function nodeContext(
  n: NodeProto,
  label: string,
  types: ReadonlyMap<string, ValueType>,
  constants: ReadonlyMap<string, TensorProto>,
  readExternal?: ExternalReader,
): NodeContext {
  const names = n.input ?? [];
  return {
    node: label,
    inputs: names.map((x) => (x ? types.get(x) : undefined)),
    constants: names.map((x) => {
      const c = x ? constants.get(x) : undefined;
      return c ? toNdArray(c, readExternal) : undefined;
    }),
    present: names.map((x) => x !== ''),
  };
}

export function opsetVersion(model: ModelProto, domain: string): number | undefined {
  const d = model.opset_import?.find((o) => (o.domain ?? '') === domain || (domain === '' && o.domain === 'ai.onnx'));
  return d ? int64ToNumber(d.version, 'opset version') : undefined;
}
