// The reference backend: evaluates a model in float64 with the ops/ references for lp nodes
// and the std-ops evaluators for standard ops.
import { lpOp } from '../../ops/index';
import type { NdArray } from '../../ops/types';
import { isLpNode, isStdDomain, ModelError } from '../graph/infer';
import { constantInitializers, nodeLabel, toNdArray, topologicalOrder } from '../graph/model';
import { nodeView, STD_OPS } from '../graph/std-ops';
import type { ModelProto } from '../onnx/proto';
import type { ExternalReader } from '../onnx/tensor';

/**
 * Runs MODEL in float64 on the ops' reference implementations and the standard ops' evaluators.
 * FEEDS maps each graph input to `{ dims, data: Float64Array }`; returns every graph output the
 * same way. WHAT names the model in errors; READEXTERNAL reads external data (readModelFile's).
 */
export function runReference(model: ModelProto, feeds: Record<string, NdArray>, what = 'model', readExternal?: ExternalReader): Record<string, NdArray> {
  const graph = model.graph ?? {};
  const values = new Map<string, NdArray>();
  for (const t of graph.initializer ?? []) values.set(t.name ?? '', toNdArray(t, readExternal));
  const constants = constantInitializers(graph);
  for (const i of graph.input ?? []) {
    const name = i.name ?? '';
    if (feeds[name]) values.set(name, feeds[name]);
    else if (!constants.has(name) && !values.has(name)) throw new ModelError(`${what}: input '${name}' is not given`);
  }
  topologicalOrder(graph, what).forEach((n, index) => {
    const label = nodeLabel(n, index);
    const ins = (n.input ?? []).map((x) => {
      if (!x) return undefined;
      const v = values.get(x);
      if (!v) throw new ModelError(`${what}: node '${label}': input '${x}' has no value`);
      return v;
    });
    let outs: NdArray[];
    try {
      if (isLpNode(n.domain)) {
        const op = lpOp(n.op_type ?? '');
        if (!op) throw new ModelError(`unknown op '${n.op_type}'`);
        outs = [op.reference(op.parse(n.attribute ?? [], label), ins, label)];
      } else {
        const std = isStdDomain(n.domain) ? STD_OPS[n.op_type ?? ''] : undefined;
        if (!std) throw new ModelError(`the reference backend does not implement ${n.domain ? `${n.domain}::` : ''}${n.op_type}`);
        outs = std.evaluate(nodeView(n, label), ins);
      }
    } catch (e) {
      const msg = (e as Error).message;
      throw new ModelError(`${what}: ${msg.includes(label) ? msg : `node '${label}': ${msg}`}`);
    }
    (n.output ?? []).forEach((o, i) => {
      if (o && outs[i]) values.set(o, outs[i]);
    });
  });
  const result: Record<string, NdArray> = {};
  for (const o of graph.output ?? []) {
    const v = values.get(o.name ?? '');
    if (!v) throw new ModelError(`${what}: output '${o.name}' was not computed`);
    result[o.name ?? ''] = v;
  }
  return result;
}
