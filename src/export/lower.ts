// `lower`: inline every call of a model-local function, so the model uses the default ONNX
// domain only (for runtimes that do not read model-local functions).
import { ModelError } from '../graph/infer';
import { nodeLabel, opsetVersion } from '../graph/model';
import type { AttributeProto, FunctionProto, GraphProto, ModelProto, NodeProto } from '../onnx/proto';
import { lowestIrVersion } from '../onnx/ir-version';
import { int64ToNumber } from '../onnx/proto';
import { setOpset } from './dual-path';

const key = (domain: string | undefined, name: string | undefined, overload: string | undefined) => `${domain ?? ''}::${name ?? ''}::${overload ?? ''}`;

export function lowerModel(source: ModelProto, what = 'model'): { model: ModelProto; inlined: number } {
  const model = structuredClone(source);
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
