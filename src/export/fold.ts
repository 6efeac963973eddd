// Constant folding: standard nodes whose inputs are all constants (initializers that are not
// graph inputs, Constant nodes) become initializers, evaluated in float64 by the reference
// evaluators and stored as float32 (float16 where the inputs are: a `model.half()` export). This folds parametrisations that exporters leave as ops on the
// weights (torch.onnx writes abs(_w), softplus(_p) + 1, L1 weight normalisation as nodes).
import type { NdArray } from '../../ops/types';
import { isStdDomain } from '../graph/infer';
import { constantInitializers, nodeLabel, toNdArray } from '../graph/model';
import { nodeView, STD_OPS } from '../graph/std-ops';
import type { ModelProto, NodeProto, TensorProto } from '../onnx/proto';
import { type ExternalReader, floatToHalf, halfToFloat, makeTensor, tensorToProto } from '../onnx/tensor';

/** Ops safe to fold: float in, float out, no randomness or shape-dependent integer output. */
const FOLDABLE = new Set([
  'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Softplus', 'Relu', 'Sigmoid', 'Tanh', 'Identity',
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'ReduceSum', 'ReduceMean', 'ReduceMax',
  'Transpose', 'Reshape', 'Unsqueeze', 'Squeeze', 'Clip',
]);

/** Returns a new model with constant subgraphs folded and how many nodes went. */
export function foldConstants(source: ModelProto, readExternal?: ExternalReader): { model: ModelProto; folded: number } {
  const model = structuredClone(source);
  const graph = model.graph ?? {};
  const consts = constantInitializers(graph);
  const values = new Map<string, { nd: NdArray; elemType: number }>();
  const valueOf = (name: string) => {
    if (values.has(name)) return values.get(name);
    const t = consts.get(name);
    if (!t) return undefined;
    const v = { nd: toNdArray(t, readExternal), elemType: t.data_type ?? 0 };
    values.set(name, v);
    return v;
  };
  for (const n of graph.node ?? []) {
    if (n.op_type === 'Constant' && isStdDomain(n.domain) && n.attribute?.[0]?.name === 'value' && n.attribute[0].t) {
      const t = n.attribute[0].t;
      values.set(n.output?.[0] ?? '', { nd: toNdArray(t), elemType: t.data_type ?? 0 });
    }
  }
  const outputs = new Set((graph.output ?? []).map((o) => o.name));
  const kept: NodeProto[] = [];
  const added: TensorProto[] = [];
  let folded = 0;
  (graph.node ?? []).forEach((n, index) => {
    const ins = (n.input ?? []).filter((x) => x !== '');
    const inputs = ins.map(valueOf);
    const foldable =
      isStdDomain(n.domain) &&
      FOLDABLE.has(n.op_type ?? '') &&
      (n.output ?? []).length === 1 &&
      !outputs.has(n.output?.[0]) &&
      inputs.length > 0 &&
      inputs.every((v) => v !== undefined) &&
      (inputs[0]?.elemType === 1 || inputs[0]?.elemType === 10);
    if (!foldable) {
      kept.push(n);
      return;
    }
    const std = STD_OPS[n.op_type ?? ''];
    const full = (n.input ?? []).map((x) => (x ? valueOf(x)?.nd : undefined));
    const [out] = std.evaluate(nodeView(n, nodeLabel(n, index)), full);
    const name = n.output?.[0] ?? '';
    // float16 in, float16 out: the float64 result rounded once (a runtime rounds each float16 op's result)
    const elemType = inputs[0]?.elemType ?? 1;
    const data = elemType === 10 ? Uint16Array.from(out.data, (v) => floatToHalf(v)) : Float32Array.from(out.data);
    values.set(name, { nd: { dims: out.dims, data: elemType === 10 ? Float64Array.from(data, halfToFloat) : Float64Array.from(data) }, elemType });
    added.push(tensorToProto(makeTensor(elemType === 10 ? 'float16' : 'float32', out.dims, data), name));
    folded++;
  });
  if (folded === 0) return { model: source, folded: 0 };
  // Keep only what is still used: folded results and initializers that nodes or outputs read.
  const used = new Set<string>([...kept.flatMap((n) => n.input ?? []), ...outputs].filter((x): x is string => !!x));
  graph.node = kept.filter((n) => !(n.op_type === 'Constant' && !used.has(n.output?.[0] ?? '')));
  const inputNames = new Set((graph.input ?? []).map((i) => i.name));
  graph.initializer = [...(graph.initializer ?? []), ...added].filter((t) => used.has(t.name ?? '') || inputNames.has(t.name));
  graph.value_info = (graph.value_info ?? []).filter((v) => !added.some((t) => t.name === v.name));
  return { model, folded };
}
