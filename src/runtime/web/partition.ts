// Splits a dual-path model at its com.lponnx nodes for the hybrid WebGPU session: standard
// segments (each one onnxruntime-web session) and lp steps (one WGSL kernel each), in stages.
//
// Stages keep the number of segments small. A standard node's stage is the largest over its
// inputs of: the producer's stage (standard producer) or the producer's stage + 1 (lp producer);
// an lp node's stage is the largest over its inputs of the same, so it runs after the standard
// segment of its own stage. A run executes, for each stage, its segment and then its lp nodes.
import { lpOp } from '../../../ops/index';
import type { NdArray, ValueType } from '../../../ops/types';
import { inferTypes, isLpNode, ModelError } from '../../graph/infer';
import { constantInitializers, nodeLabel, toNdArray, topologicalOrder, valueInfo } from '../../graph/model';
import type { GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from '../../onnx/proto';

export interface Segment {
  kind: 'segment';
  stage: number;
  nodes: NodeProto[];
  /** values the segment reads from outside itself (graph inputs, earlier segments, lp outputs) */
  inputs: string[];
  /** values it produces that later steps or the graph outputs read */
  outputs: string[];
  initializers: TensorProto[];
}

export interface LpStep {
  kind: 'lp';
  stage: number;
  node: NodeProto;
  label: string;
  opType: string;
  attrs: Record<string, unknown>;
  /** input names in op order, '' for an absent optional input */
  inputs: string[];
  output: string;
}

export type Step = Segment | LpStep;

export interface Plan {
  steps: Step[];
  /** lp-node inputs that are constant initializers, by name */
  constants: Map<string, NdArray>;
  /** value types known before running (graph declarations and inference) */
  types: Map<string, ValueType>;
  /** for each value read by a step, the index of the last step that reads it */
  lastUse: Map<string, number>;
  graphInputs: ValueInfoProto[];
  graphOutputs: string[];
}

/** Names a node reads, including outer-scope names its subgraphs (If, Loop, Scan) use. */
export function readsOf(n: NodeProto): string[] {
  const names = (n.input ?? []).filter((x) => x);
  for (const a of n.attribute ?? []) for (const g of [a.g, ...(a.graphs ?? [])]) if (g) names.push(...outerReads(g));
  return names;
}

function outerReads(g: GraphProto): string[] {
  const local = new Set<string>([...(g.input ?? []).map((i) => i.name ?? ''), ...(g.initializer ?? []).map((t) => t.name ?? '')]);
  for (const n of g.node ?? []) for (const o of n.output ?? []) local.add(o);
  return (g.node ?? []).flatMap(readsOf).filter((x) => !local.has(x));
}

export function planModel(model: ModelProto, what: string): Plan {
  const graph = model.graph ?? {};
  const types = inferTypes(model, what);
  const order = topologicalOrder(graph, what);
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const constants = constantInitializers(graph);

  const stageOf = new Map<string, { stage: number; lp: boolean }>();
  const stages: { segment: NodeProto[]; lp: LpStep[] }[] = [];
  order.forEach((n, index) => {
    const lp = isLpNode(n.domain);
    let stage = 0;
    for (const x of readsOf(n)) {
      const p = stageOf.get(x);
      if (p) stage = Math.max(stage, p.stage + (p.lp ? 1 : 0));
    }
    for (const o of n.output ?? []) if (o) stageOf.set(o, { stage, lp });
    while (stages.length <= stage) stages.push({ segment: [], lp: [] });
    if (!lp) {
      stages[stage].segment.push(n);
      return;
    }
    const label = nodeLabel(n, index);
    const op = lpOp(n.op_type ?? '');
    if (!op) throw new ModelError(`${what}: node '${label}': unknown op '${n.op_type}' in domain com.lponnx (expected LpNorm, LpPool or L1Conv)`);
    const output = n.output?.[0] ?? '';
    stages[stage].lp.push({ kind: 'lp', stage, node: n, label, opType: op.opType, attrs: op.parse(n.attribute ?? [], label) as Record<string, unknown>, inputs: [...(n.input ?? [])], output });
  });

  const graphOutputs = (graph.output ?? []).map((o) => o.name ?? '');
  const steps: Step[] = [];
  for (const [stage, s] of stages.entries()) {
    if (s.segment.length) steps.push({ kind: 'segment', stage, nodes: s.segment, inputs: [], outputs: [], initializers: [] });
    steps.push(...s.lp);
  }

  // who reads what: segment inputs/outputs, initializers, last uses
  const producedBy = new Map<string, number>();
  steps.forEach((st, i) => {
    for (const n of st.kind === 'segment' ? st.nodes : [st.node]) for (const o of n.output ?? []) if (o) producedBy.set(o, i);
  });
  const readers = new Map<string, Set<number>>();
  const lastUse = new Map<string, number>();
  const lpConstants = new Map<string, NdArray>();
  steps.forEach((st, i) => {
    const reads = st.kind === 'segment' ? st.nodes.flatMap(readsOf) : st.inputs.filter((x) => x);
    for (const x of new Set(reads)) {
      if (!readers.has(x)) readers.set(x, new Set());
      readers.get(x)?.add(i);
      lastUse.set(x, i);
      if (st.kind === 'segment' && producedBy.get(x) !== i) {
        const init = inits.get(x);
        if (init && constants.has(x)) st.initializers.push(init);
        else st.inputs.push(x);
      }
      if (st.kind === 'lp' && constants.has(x) && !lpConstants.has(x)) lpConstants.set(x, toNdArray(constants.get(x) as TensorProto));
    }
  });
  for (const o of graphOutputs) lastUse.set(o, steps.length);
  steps.forEach((st, i) => {
    if (st.kind !== 'segment') return;
    const outs = new Set<string>();
    for (const n of st.nodes) {
      for (const o of n.output ?? []) {
        if (!o) continue;
        if (graphOutputs.includes(o) || [...(readers.get(o) ?? [])].some((r) => r !== i)) outs.add(o);
      }
    }
    st.outputs = [...outs];
  });
  return { steps, constants: lpConstants, types, lastUse, graphInputs: graph.input ?? [], graphOutputs };
}

/**
 * A segment as a model of its own: the model's opsets, IR version and non-lp functions, the
 * segment's nodes and initializers; inputs typed from `typeOf` (declared, inferred, or what an
 * earlier segment's session reported).
 */
export function segmentModel(model: ModelProto, seg: Segment, typeOf: (name: string) => ValueType | undefined, graphInputs: readonly ValueInfoProto[], what: string): ModelProto {
  const declared = new Map(graphInputs.map((i) => [i.name ?? '', i]));
  const input = seg.inputs.map((name) => {
    const d = declared.get(name);
    if (d?.type) return d;
    const t = typeOf(name);
    if (!t) throw new ModelError(`${what}: the type of '${name}' (an input of a WebGPU segment) is unknown`);
    return valueInfo(name, t);
  });
  const output = seg.outputs.map((name) => {
    const t = typeOf(name);
    return t ? valueInfo(name, { elemType: t.elemType }) : { name };
  });
  return {
    ir_version: model.ir_version,
    opset_import: model.opset_import,
    producer_name: 'lp-onnx/web',
    graph: { name: `${model.graph?.name ?? 'graph'}_stage${seg.stage}`, node: seg.nodes, initializer: seg.initializers, input, output },
    functions: (model.functions ?? []).filter((f) => f.domain !== 'com.lponnx'),
  };
}
