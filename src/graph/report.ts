// What a model holds, as `lp-onnx inspect` prints it and the demo page shows it: inputs and
// outputs, opsets, op counts, every lp node with its attributes and the inputs that carry its
// parameters (W, P, B: shapes, and P's values), parameters and function bodies.
import type { Dim } from '../../ops/geometry';
import { LP_DOMAIN, lpOp } from '../../ops/index';
import type { ValueType } from '../../ops/types';
import { externalLocations } from '../onnx/external';
import type { ModelProto, ValueInfoProto } from '../onnx/proto';
import { int64ToNumber } from '../onnx/proto';
import { type ExternalReader, protoByteSize, protoDims } from '../onnx/tensor';
import { inferTypes, isLpNode } from './infer';
import { constantInitializers, elemTypeName, formatType, nodeLabel, toNdArray, valueTypeOf } from './model';

/** A graph input or output: its type as text, and as element type and dims (symbolic ones by name, null unknown). */
export interface ValueReport {
  name: string;
  type: string;
  dtype: string;
  dims?: Dim[];
}

/** An lp node's input beyond X: W, P or B. */
export interface LpInputReport {
  /** the op's name for it (W, P, B) */
  role: string;
  name: string;
  type: string;
  /** a constant's values: all of them up to 8, else their count, min and max */
  values?: number[];
  count?: number;
  min?: number;
  max?: number;
}

export interface LpNodeReport {
  name: string;
  opType: string;
  overload: string | null;
  /** the attributes as the node means them (defaults filled; `p` left out where a P input overrides it) */
  attributes: Record<string, unknown>;
  inputs: LpInputReport[];
  output: string;
  functionBody: boolean;
}

export interface ModelReport {
  file: string;
  irVersion: number;
  producer: string;
  opsets: Record<string, number>;
  inputs: ValueReport[];
  outputs: ValueReport[];
  opCounts: Record<string, number>;
  lpNodes: LpNodeReport[];
  parameters: { tensors: number; elements: number; bytes: number };
  functions: { domain: string; name: string; overload: string; nodes: number }[];
  dualPath: boolean;
  metadata: Record<string, string>;
  /** the files beside the model that hold external initializers (their locations) */
  externalData: string[];
}

const SHOWN_VALUES = 8;

export function reportModel(model: ModelProto, file: string, readExternal?: ExternalReader): ModelReport {
  const graph = model.graph ?? {};
  const initNames = new Set((graph.initializer ?? []).map((t) => t.name));
  const constants = constantInitializers(graph);
  let types: Map<string, ValueType>;
  try {
    types = inferTypes(model, file, readExternal);
  } catch {
    types = new Map();
  }
  const resolve = (name: string, declared: ValueType | undefined) => (declared?.shape ? declared : (types.get(name) ?? declared));
  const typeOf = (name: string, declared: ValueType | undefined) => formatType(resolve(name, declared));
  const report = (vi: ValueInfoProto): ValueReport => {
    const t = resolve(vi.name ?? '', valueTypeOf(vi));
    return { name: vi.name ?? '', type: formatType(t), dtype: t ? elemTypeName(t.elemType) : 'unknown', ...(t?.shape ? { dims: t.shape } : {}) };
  };
  const opCounts: Record<string, number> = {};
  for (const n of graph.node ?? []) {
    const k = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}::${n.op_type}` : (n.op_type ?? '');
    opCounts[k] = (opCounts[k] ?? 0) + 1;
  }
  const functions = (model.functions ?? []).map((f) => ({
    domain: f.domain ?? '',
    name: f.name ?? '',
    overload: f.overload ?? '',
    nodes: (f.node ?? []).length,
  }));
  const inputReport = (role: string, name: string): LpInputReport => {
    const out: LpInputReport = { role, name, type: typeOf(name, undefined) };
    const c = constants.get(name);
    if (c) {
      out.type = formatType({ elemType: c.data_type ?? 1, shape: protoDims(c) });
      try {
        const data = toNdArray(c, readExternal).data;
        if (data.length <= SHOWN_VALUES) out.values = Array.from(data);
        else {
          let min = Number.POSITIVE_INFINITY;
          let max = Number.NEGATIVE_INFINITY;
          for (const v of data) {
            if (v < min) min = v;
            if (v > max) max = v;
          }
          Object.assign(out, { count: data.length, min, max });
        }
      } catch {
        // values that cannot be read (external data not found): the type alone
      }
    }
    return out;
  };
  const lpNodes = (graph.node ?? []).flatMap((n, i): LpNodeReport[] => {
    if (!isLpNode(n.domain)) return [];
    const label = nodeLabel(n, i);
    const op = lpOp(n.op_type ?? '');
    let attributes: Record<string, unknown> = {};
    const inputs: LpInputReport[] = [];
    if (op) {
      try {
        attributes = op.parse(n.attribute ?? [], label) as Record<string, unknown>;
      } catch (e) {
        attributes = { error: (e as Error).message };
      }
      op.inputs.forEach((spec, k) => {
        const name = n.input?.[k];
        if (k === 0 || !name) return;
        inputs.push(inputReport(spec.name, name));
      });
      if (inputs.some((x) => x.role === 'P')) delete attributes.p;
    }
    const body = functions.some((f) => f.domain === LP_DOMAIN && f.name === n.op_type && f.overload === (n.overload ?? ''));
    return [{ name: label, opType: n.op_type ?? '', overload: n.overload ?? null, attributes, inputs, output: typeOf(n.output?.[0] ?? '', undefined), functionBody: body }];
  });
  let elements = 0;
  let bytes = 0;
  for (const t of graph.initializer ?? []) {
    elements += protoDims(t).reduce((a, b) => a * b, 1);
    bytes += protoByteSize(t);
  }
  const opsets: Record<string, number> = {};
  for (const o of model.opset_import ?? []) opsets[o.domain || 'ai.onnx'] = int64ToNumber(o.version ?? 0, 'opset');
  return {
    file,
    irVersion: int64ToNumber(model.ir_version ?? 0, 'ir_version'),
    producer: `${model.producer_name ?? ''} ${model.producer_version ?? ''}`.trim(),
    opsets,
    inputs: (graph.input ?? []).filter((i) => !initNames.has(i.name)).map(report),
    outputs: (graph.output ?? []).map(report),
    opCounts,
    lpNodes,
    parameters: { tensors: (graph.initializer ?? []).length, elements, bytes },
    functions,
    dualPath: lpNodes.length > 0 && lpNodes.every((n) => n.functionBody),
    metadata: Object.fromEntries((model.metadata_props ?? []).map((m) => [m.key ?? '', m.value ?? ''])),
    externalData: externalLocations(model),
  };
}
