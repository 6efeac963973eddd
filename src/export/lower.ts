// `lower`: inline every call of a model-local function, so the model uses the default ONNX
// domain only (for runtimes that do not read model-local functions). An lp node without a body
// is given its own first, so a model that `export` refuses can still be lowered.
import { lpOp } from '../../ops/index';
import { LP_DOMAIN } from '../../ops/types';
import { inferTypes, isLpNode, ModelError } from '../graph/infer';
import { constantInitializers, nodeContext, nodeLabel, opsetVersion } from '../graph/model';
import type { ExternalReader } from '../onnx/tensor';
import type { AttributeProto, FunctionProto, GraphProto, ModelProto, NodeProto } from '../onnx/proto';
import { lowestIrVersion } from '../onnx/ir-version';
import { int64ToNumber } from '../onnx/proto';
import { DEFAULT_OPSET, setOpset } from './dual-path';

const key = (domain: string | undefined, name: string | undefined, overload: string | undefined) => `${domain ?? ''}::${name ?? ''}::${overload ?? ''}`;

/**
 * Every com.lponnx node that has no function body (a model not yet exported, or one `export`
 * refuses because its nodes cannot share one body) gets its own specialised body, chosen by a
 * per-node overload: right only once inlined, or on onnxruntime 1.27 and later.
 */
export function withNodeBodies(source: ModelProto, what = 'model', readExternal?: ExternalReader): ModelProto {
  const has = (n: NodeProto) => (source.functions ?? []).some((f) => key(f.domain, f.name, f.overload) === key(n.domain, n.op_type, n.overload));
  if (!(source.graph?.node ?? []).some((n) => isLpNode(n.domain) && !has(n))) return source;
  const model = structuredClone(source);
  const graph = model.graph ?? {};
  const types = inferTypes(model, what, readExternal);
  const constants = constantInitializers(graph);
  const opset = opsetVersion(model, '') ?? DEFAULT_OPSET;
  const taken = new Set((model.functions ?? []).map((f) => f.overload ?? ''));
  (graph.node ?? []).forEach((n, i) => {
    if (!isLpNode(n.domain) || has(n)) return;
    const op = lpOp(n.op_type ?? '');
    const label = nodeLabel(n, i);
    if (!op) throw new ModelError(`${what}: node '${label}': unknown op '${n.op_type}' in domain ${LP_DOMAIN} (expected LpNorm, LpPool or L1Conv)`);
    let overload = `node${i}`;
    for (let k = 2; taken.has(overload); k++) overload = `node${i}_${k}`;
    taken.add(overload);
    try {
      const attrs = op.parse(n.attribute ?? [], label);
      const ctx = nodeContext(n, label, types, constants, readExternal);
      op.validate(attrs, ctx);
      (model.functions ??= []).push(op.functionBody(attrs, ctx, { opset, name: op.opType, overload }));
    } catch (e) {
      throw new ModelError(`${what}: ${(e as Error).message}`);
    }
    n.overload = overload;
  });
  if (opsetVersion(model, '') === undefined) setOpset(model, '', opset);
  return model;
}

export function lowerModel(source: ModelProto, what = 'model', readExternal?: ExternalReader): { model: ModelProto; inlined: number } {
  const model = structuredClone(withNodeBodies(source, what, readExternal));
  const functions = new Map((model.functions ?? []).map((f) => [key(f.domain, f.name, f.overload), f]));
  let inlined = 0;
  let uid = 0;
  const bodyOpsets = new Map<string, number>();

  const expand = (nodes: NodeProto[], depth: number): NodeProto[] => {
    if (depth > 32) throw new ModelError(`${what}: model-local functions nest more than 32 deep (recursive?)`);
    const out: NodeProto[] = [];
    nodes.forEach((n, index) => {
      const f = functions.get(key(n.domain, n.op_type, n.overload));
      if (!f) {
        out.push(n);
        return;
      }
      inlined++;
      for (const o of f.opset_import ?? []) {
        const v = int64ToNumber(o.version ?? 0, 'opset version');
        bodyOpsets.set(o.domain ?? '', Math.max(bodyOpsets.get(o.domain ?? '') ?? 0, v));
      }
      out.push(...expand(instantiate(f, n, `${nodeLabel(n, index)}__${uid++}`, what), depth + 1));
    });
    return out;
  };

  const graph = model.graph ?? {};
  graph.node = expand(graph.node ?? [], 0);
  const used = new Set(graph.node.map((n) => n.domain ?? ''));
  model.functions = [];
  model.opset_import = (model.opset_import ?? []).filter((o) => used.has(o.domain ?? '') || !o.domain);
  for (const [domain, v] of bodyOpsets) {
    const current = opsetVersion(model, domain);
    if (current === undefined || current < v) setOpset(model, domain, v);
  }
  // no functions are left: the file declares what its contents need (runtimes before onnxruntime 1.18 read IR 9 at most)
  model.ir_version = lowestIrVersion(model);
  return { model, inlined };
}

/** The body of f with values renamed for one call site and attribute references resolved. */
function instantiate(f: FunctionProto, call: NodeProto, prefix: string, what: string): NodeProto[] {
  const rename = new Map<string, string>();
  (f.input ?? []).forEach((name, i) => {
    rename.set(name, call.input?.[i] ?? '');
  });
  (f.output ?? []).forEach((name, i) => {
    rename.set(name, call.output?.[i] ?? '');
  });
  const callAttrs = new Map((call.attribute ?? []).map((a) => [a.name ?? '', a]));
  const defaults = new Map((f.attribute_proto ?? []).map((a) => [a.name ?? '', a]));
  const mapName = (name: string) => {
    if (name === '') return '';
    const r = rename.get(name);
    if (r !== undefined) return r;
    const fresh = `${prefix}/${name}`;
    rename.set(name, fresh);
    return fresh;
  };
  const resolve = (attrs: readonly AttributeProto[]): AttributeProto[] => {
    const attribute: AttributeProto[] = [];
    for (const a of attrs) {
      if (!a.ref_attr_name) {
        // an If's or Loop's body: its values renamed with the function's, its references resolved too
        attribute.push(a.g ? { ...a, g: graph(a.g) } : a.graphs ? { ...a, graphs: a.graphs.map(graph) } : a);
        continue;
      }
      const v = callAttrs.get(a.ref_attr_name) ?? defaults.get(a.ref_attr_name);
      if (!v) {
        if ((f.attribute ?? []).includes(a.ref_attr_name)) continue; // optional attribute not given
        throw new ModelError(`${what}: function ${f.name} refers to attribute '${a.ref_attr_name}' that the call does not give`);
      }
      attribute.push({ ...v, name: a.name });
    }
    return attribute;
  };
  const nodes = (list: readonly NodeProto[]): NodeProto[] =>
    list.map((n, i) => ({
      ...n,
      name: `${prefix}/${n.name || `${n.op_type}_${i}`}`,
      input: (n.input ?? []).map(mapName),
      output: (n.output ?? []).map(mapName),
      attribute: resolve(n.attribute ?? []),
    }));
  const graph = (g: GraphProto): GraphProto => ({
    ...g,
    node: nodes(g.node ?? []),
    input: (g.input ?? []).map((v) => ({ ...v, name: mapName(v.name ?? '') })),
    output: (g.output ?? []).map((v) => ({ ...v, name: mapName(v.name ?? '') })),
  });
  return nodes(f.node ?? []);
}
