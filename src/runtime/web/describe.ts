// What a page needs to know about a model before running it: its inputs and outputs (element
// type and dims, symbolic ones by name) and its lp nodes.
import type { Dim } from '../../../ops/geometry';
import { constantInitializers, valueTypeOf } from '../../graph/model';
import { isLpNode } from '../../graph/infer';
import { decodeModel } from '../../onnx/codec';
import { dtypeFromCode, dtypeName } from '../../onnx/tensor';

export interface ValueDescription {
  name: string;
  /** 'float32', 'int64', ... */
  type: string;
  /** undefined: rank unknown; a string: a symbolic dim; null: an unnamed unknown dim */
  dims?: Dim[];
}

export interface ModelDescription {
  inputs: ValueDescription[];
  outputs: ValueDescription[];
  lpNodes: { name: string; opType: string }[];
  /** whether every lp node has a function body (runs on stock onnxruntime) */
  dualPath: boolean;
  opset: number | undefined;
}

export function describeModel(bytes: Uint8Array, what = 'model'): ModelDescription {
  const model = decodeModel(bytes, what);
  const graph = model.graph ?? {};
  const constants = constantInitializers(graph);
  const describe = (vi: { name?: string }) => {
    const t = valueTypeOf(vi);
    return { name: vi.name ?? '', type: t ? (dtypeFromCode(t.elemType) ?? dtypeName(t.elemType)) : 'unknown', dims: t?.shape };
  };
  const lp = (graph.node ?? []).filter((n) => isLpNode(n.domain));
  const bodies = new Set((model.functions ?? []).map((f) => `${f.domain}:${f.name}:${f.overload ?? ''}`));
  const std = model.opset_import?.find((o) => !o.domain || o.domain === 'ai.onnx');
  return {
    inputs: (graph.input ?? []).filter((i) => !constants.has(i.name ?? '')).map(describe),
    outputs: (graph.output ?? []).map(describe),
    lpNodes: lp.map((n, i) => ({ name: n.name || `${n.op_type}#${i}`, opType: n.op_type ?? '' })),
    dualPath: lp.every((n) => bodies.has(`${n.domain}:${n.op_type}:${n.overload ?? ''}`)),
    opset: std ? Number(std.version) : undefined,
  };
}
