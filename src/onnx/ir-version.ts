// The lowest IR version a model's contents need (ops.md, "Portable form": a file declares the
// lowest IR its contents need, so that older runtimes load it; onnxruntime 1.17 reads IR 9 at most).
import { int64ToNumber, type GraphProto, type ModelProto, type NodeProto, type TypeProto } from './proto';

/** The IR version that came with each default-domain opset (onnx's release table). */
export function irVersionOfOpset(opset: number): number {
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}

/** IR of a tensor element type: float8 types came with IR 9, 4-bit integers with 10, float4 with 11. */
function irOfElemType(t: number | undefined): number {
  if (t === undefined || t <= 16) return 3;
  if (t <= 20) return 9;
  if (t <= 22) return 10;
  if (t === 23) return 11;
  return Number.POSITIVE_INFINITY; // newer than this module knows
}

function irOfType(t: TypeProto | undefined): number {
  if (!t) return 3;
  if (t.tensor_type) return irOfElemType(t.tensor_type.elem_type);
  if (t.sparse_tensor_type) return irOfElemType(t.sparse_tensor_type.elem_type);
  if (t.sequence_type) return irOfType(t.sequence_type.elem_type);
  if (t.map_type) return Math.max(irOfElemType(t.map_type.key_type), irOfType(t.map_type.value_type));
  if (t.optional_type) return Math.max(8, irOfType(t.optional_type.elem_type));
  return 3;
}

function irOfNodes(nodes: readonly NodeProto[] | undefined): number {
  let ir = 3;
  for (const n of nodes ?? []) {
    if (n.overload || n.metadata_props?.length) ir = Math.max(ir, 10);
    for (const a of n.attribute ?? []) {
      if (a.t) ir = Math.max(ir, irOfElemType(a.t.data_type));
      for (const t of a.tensors ?? []) ir = Math.max(ir, irOfElemType(t.data_type));
      if (a.tp) ir = Math.max(ir, irOfType(a.tp));
      for (const g of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) ir = Math.max(ir, irOfGraph(g));
    }
  }
  return ir;
}

function irOfGraph(g: GraphProto): number {
  let ir = irOfNodes(g.node);
  if (g.metadata_props?.length) ir = Math.max(ir, 10);
  for (const t of g.initializer ?? []) ir = Math.max(ir, irOfElemType(t.data_type));
  for (const s of g.sparse_initializer ?? []) ir = Math.max(ir, irOfElemType(s.values?.data_type));
  for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.value_info ?? [])]) ir = Math.max(ir, irOfType(v.type));
  return ir;
}

/**
 * The lowest IR version for the model: the one of its default-domain opset, raised by what its
 * contents use (model-local functions need 8; their overload, value_info and metadata 10; element
 * types). Where it holds something this module does not know, the model's own IR is kept.
 */
export function lowestIrVersion(model: ModelProto): number {
  const own = int64ToNumber(model.ir_version ?? 0, 'ir_version');
  const opset = (model.opset_import ?? []).find((o) => !o.domain)?.version;
  let ir = opset === undefined ? 3 : irVersionOfOpset(int64ToNumber(opset, 'opset version'));
  if (model.graph) ir = Math.max(ir, irOfGraph(model.graph));
  if (model.training_info?.length) ir = Math.max(ir, 7);
  if (model.configuration?.length) return Math.max(own, ir);
  for (const f of model.functions ?? []) {
    ir = Math.max(ir, 8, irOfNodes(f.node));
    if (f.overload || f.value_info?.length || f.metadata_props?.length) ir = Math.max(ir, 10);
    if (f.attribute_proto?.length) ir = Math.max(ir, 9);
  }
  return Number.isFinite(ir) ? ir : Math.max(own, 11);
}
