// The exporter's main job: a model (or what the sources made of a spec) with its constant
// parametrisations folded and its Lp layers written in standard ops fused into lp nodes, then
// given its function bodies (src/graph/dual-path.ts: one per op, the lowest IR).
import { addFunctionBodies, checkForBodies, type DualPathOptions } from '../graph/dual-path';
import { inferTypes, isLpNode } from '../graph/infer';
import type { ModelProto } from '../onnx/proto';
import { foldConstants } from './fold';
import { type FuseReport, fuseAll } from './fuse';

export { DEFAULT_OPSET, MAX_OPSET, setMetadata, setOpset } from '../graph/dual-path';

export interface ExportOptions extends DualPathOptions {
  /** fuse Lp layers written with standard ops into com.lponnx nodes (default true) */
  fuse?: boolean;
}

export interface ExportReport {
  lpNodes: { name: string; opType: string }[];
  functions: number;
  /** nodes folded into constants (parametrisations) */
  folded: number;
  /** Lp layers written with standard ops that became lp nodes, and near misses left alone */
  fusion: FuseReport;
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
  const { lpNodes, functions } = addFunctionBodies(model, opset, options);
  return { model, report: { lpNodes, functions, folded, fusion } };
}
