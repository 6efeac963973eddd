// Shape inference over a whole graph: lp nodes through ops/, standard ops through std-ops,
// anything else keeps what the model declares.
import type { Dim } from '../../ops/geometry';
import { checkFloatInput, FLOAT16, nodeElemType } from '../../ops/common';
import { LP_DOMAIN, lpOp } from '../../ops/index';
import type { NdArray, ValueType } from '../../ops/types';
import type { ModelProto, NodeProto, TensorProto } from '../onnx/proto';
import type { ExternalReader } from '../onnx/tensor';
import { constantInitializers, declaredTypes, ModelError, nodeContext, nodeLabel, toNdArray, topologicalOrder } from './model';
import { constantOf, nodeView, STD_OPS } from './std-ops';

export { ModelError };

function mergeType(declared: ValueType | undefined, inferred: ValueType): ValueType {
  const elemType = inferred.elemType || declared?.elemType || 0;
  if (!declared?.shape || !inferred.shape || declared.shape.length !== inferred.shape.length) {
    return inferred.shape ? { ...inferred, elemType } : { ...(declared ?? inferred), elemType };
  }
  const shape: Dim[] = inferred.shape.map((d, i) => (d === null ? (declared.shape as Dim[])[i] : d));
  return { elemType, shape };
}

export function isLpNode(domain: string | undefined): boolean {
  return domain === LP_DOMAIN;
}

export function isStdDomain(domain: string | undefined): boolean {
  return !domain || domain === 'ai.onnx';
}

/**
 * The attributes of every lp node of a model (the graph, its subgraphs and its functions) against
 * ops/: unknown names, kinds, allowed values and bounds. For runtimes whose kernels cannot see a
 * node's attribute names (onnxruntime custom ops); throws ModelError naming the file and node.
 */
export function checkLpAttributes(model: ModelProto, what: string): void {
  // inside a function an attribute may refer to the function's own (resolved when it is inlined)
  const visit = (nodes: readonly NodeProto[] | undefined, inFunction = false) => {
    (nodes ?? []).forEach((n, index) => {
      for (const a of n.attribute ?? []) {
        if (a.g) visit(a.g.node, inFunction);
        for (const g of a.graphs ?? []) visit(g.node, inFunction);
      }
      if (!isLpNode(n.domain)) return;
      const label = nodeLabel(n, index);
      const op = lpOp(n.op_type ?? '');
      try {
        if (!op) throw new ModelError(`node '${label}': unknown op '${n.op_type}' in domain ${LP_DOMAIN} (expected LpNorm, LpPool or L1Conv)`);
        const attrs = (n.attribute ?? []).filter((a) => !(inFunction && a.ref_attr_name));
        op.checkAttributes(op.parse(attrs, label), label);
      } catch (e) {
        throw new ModelError(`${what}: ${(e as Error).message}`);
      }
    });
  };
  visit(model.graph?.node);
  for (const f of model.functions ?? []) visit(f.node, true);
}

/**
 * The element types of the main graph's lp nodes, from the declared types (graph inputs, value_info,
 * initializers): X, W and B of one node share one T, float32 or float16, and P is either (ops.md).
 * onnxruntime would say only "no kernel def matches node inputs"; this names the tensors and types.
 */
export function checkLpTypes(model: ModelProto, what: string): void {
  const graph = model.graph ?? {};
  const types = declaredTypes(graph);
  (graph.node ?? []).forEach((n, index) => {
    const op = isLpNode(n.domain) ? lpOp(n.op_type ?? '') : undefined;
    if (!op) return;
    const label = nodeLabel(n, index);
    const named = (n.input ?? []).map((name, i) => [op.inputs[i]?.name ?? `input ${i}`, name ? types.get(name) : undefined] as [string, ValueType | undefined]);
    try {
      nodeElemType(op.opType, label, named.filter(([name]) => name !== 'P'));
      for (const [name, t] of named) if (name === 'P') checkFloatInput(op.opType, label, name, t);
    } catch (e) {
      throw new ModelError(`${what}: ${(e as Error).message}`);
    }
  });
}

/**
 * The lp nodes of the main graph that have a float16 input (label and op), from the declared types
 * (graph inputs, value_info, initializers), which an exported model carries for every lp node.
 */
export function float16LpNodes(model: ModelProto): string[] {
  const graph = model.graph ?? {};
  const types = declaredTypes(graph);
  const out: string[] = [];
  (graph.node ?? []).forEach((n, index) => {
    if (isLpNode(n.domain) && (n.input ?? []).some((i) => i && types.get(i)?.elemType === FLOAT16)) out.push(`'${nodeLabel(n, index)}' (${n.op_type})`);
  });
  return out;
}

/** Every input of every node must be a graph input, an initializer or another node's output. */
export function checkConnected(model: ModelProto, what: string): void {
  const graph = model.graph ?? {};
  const known = new Set<string>([
    ...(graph.input ?? []).map((i) => i.name ?? ''),
    ...(graph.initializer ?? []).map((t) => t.name ?? ''),
    ...(graph.sparse_initializer ?? []).map((t) => t.values?.name ?? ''),
    ...(graph.node ?? []).flatMap((n) => n.output ?? []),
  ]);
  (graph.node ?? []).forEach((n, index) => {
    for (const x of n.input ?? []) {
      if (x && !known.has(x)) {
        throw new ModelError(`${what}: node '${nodeLabel(n, index)}' (${n.op_type}): input '${x}' is not a graph input, an initializer or any node's output (missing weights?)`);
      }
    }
  });
  for (const o of graph.output ?? []) {
    if (!known.has(o.name ?? '')) throw new ModelError(`${what}: graph output '${o.name}' is not produced by any node`);
  }
}

/** Types of every value that can be inferred. `what` names the file in messages. */
export function inferTypes(model: ModelProto, what: string, readExternal?: ExternalReader): Map<string, ValueType> {
  const graph = model.graph ?? {};
  const types = declaredTypes(graph);
  const constants: Map<string, TensorProto> = constantInitializers(graph);
  const values = new Map<string, NdArray>();
  const constantValue = (name: string): NdArray | undefined => {
    if (values.has(name)) return values.get(name);
    const c = constants.get(name);
    if (!c) return undefined;
    const v = toNdArray(c, readExternal);
    values.set(name, v);
    return v;
  };
  const nodes = topologicalOrder(graph, what);
  nodes.forEach((n, index) => {
    const label = nodeLabel(n, index);
    const outputs = n.output ?? [];
    try {
      if (isLpNode(n.domain)) {
        const op = lpOp(n.op_type ?? '');
        if (!op) throw new ModelError(`unknown op '${n.op_type}' in domain ${LP_DOMAIN} (expected LpNorm, LpPool or L1Conv)`);
        const attrs = op.parse(n.attribute ?? [], label);
        const out = op.inferShape(attrs, nodeContext(n, label, types, constants, readExternal));
        if (outputs[0]) types.set(outputs[0], mergeType(types.get(outputs[0]), out));
        return;
      }
      const std = isStdDomain(n.domain) ? STD_OPS[n.op_type ?? ''] : undefined;
      if (!std) return;
      const view = nodeView(n, label);
      const ins = (n.input ?? []).map((x) => (x ? types.get(x) : undefined));
      const vals = (n.input ?? []).map((x) => (x ? constantValue(x) : undefined));
      const outs = std.infer(view, ins, vals);
      outs.forEach((t, i) => {
        if (outputs[i]) types.set(outputs[i], mergeType(types.get(outputs[i]), t));
      });
      const constant = n.op_type === 'Constant' ? constantOf(view) : undefined;
      if (constant && outputs[0]) values.set(outputs[0], constant.value);
    } catch (e) {
      if (e instanceof ModelError) throw new ModelError(`${what}: node '${label}': ${e.message}`);
      const msg = (e as Error).message;
      const text = msg.startsWith(`${label}: `)
        ? `node '${label}' (${n.op_type}): ${msg.slice(label.length + 2)}`
        : msg.includes(label)
          ? msg
          : `node '${label}' (${n.op_type}): ${msg}`;
      throw new ModelError(`${what}: ${text}`);
    }
  });
  return types;
}
