// The exporter's main job: a model (or what the sources made of a spec) with its constant
// parametrisations folded and its Lp layers written in standard ops fused into lp nodes, then
// given its function bodies (src/graph/dual-path.ts: one per op, the lowest IR).
import { addFunctionBodies, checkForBodies, type DualPathOptions } from '../graph/dual-path';
import { inferTypes, isLpNode } from '../graph/infer';
import type { ModelProto } from '../onnx/proto';
import { encodeModel } from '../onnx/codec';
import { isExternal, protoByteSize } from '../onnx/tensor';
import { convertToFloat16, type Float16Report } from './float16';
import { foldConstants } from './fold';
import { type FuseReport, fuseAll } from './fuse';

export { DEFAULT_OPSET, MAX_OPSET, setMetadata, setOpset } from '../graph/dual-path';

export interface ExportOptions extends DualPathOptions {
  /** fuse Lp layers written with standard ops into com.lponnx nodes (default true) */
  fuse?: boolean;
  /** convert to float16 storage (src/export/float16.ts); io: graph inputs and outputs too */
  float16?: { io?: boolean };
}

export interface ExportReport {
  lpNodes: { name: string; opType: string }[];
  functions: number;
  /** nodes folded into constants (parametrisations) */
  folded: number;
  /** Lp layers written with standard ops that became lp nodes, and near misses left alone */
  fusion: FuseReport;
  /** with options.float16: what changed type, and the file's size as a float32 and a float16 export */
  float16?: Float16Report & { bytesBefore: number; bytesAfter: number };
}

/** A model's size as written: its encoding plus the external data it refers to. */
function modelBytes(model: ModelProto): number {
  const external = (model.graph?.initializer ?? []).filter(isExternal).reduce((s, t) => s + protoByteSize(t), 0);
  return encodeModel(model).length + external;
}

/** Returns a new dual-path model; the input is not modified. */
export function exportDualPath(source: ModelProto, options: ExportOptions = {}): { model: ModelProto; report: ExportReport } {
  const what = options.what ?? 'model';
  // --no-fuse on a model without lp nodes keeps its graph as it is (nothing folded either)
  const keep = options.fuse === false && !(source.graph?.node ?? []).some((n) => isLpNode(n.domain));
  const { model, folded } = keep ? { model: structuredClone(source), folded: 0 } : foldConstants(structuredClone(source), options.readExternal);
  const opset = checkForBodies(model, options);
  const fusion: FuseReport =
    options.fuse === false ? { fused: [], nearMisses: [] } : fuseAll(model, () => inferTypes(model, what, options.readExternal), options.readExternal);
  if (!options.float16) {
    const { lpNodes, functions } = addFunctionBodies(model, opset, options);
    return { model, report: { lpNodes, functions, folded, fusion } };
  }
  const float32 = structuredClone(model);
  addFunctionBodies(float32, opset, options);
  const converted = convertToFloat16(model, { io: options.float16.io, what, readExternal: options.readExternal });
  const { lpNodes, functions } = addFunctionBodies(model, opset, options);
  const float16 = { ...converted, bytesBefore: modelBytes(float32), bytesAfter: modelBytes(model) };
  return { model, report: { lpNodes, functions, folded, fusion, float16 } };
}
