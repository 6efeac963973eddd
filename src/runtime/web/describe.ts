// What a page needs to know about a model before running it: `lp-onnx inspect`'s report
// (inputs and outputs with element type and dims, lp nodes, function bodies, opsets).
import { type InspectReport, inspectModel } from '../../cli/inspect';
import { decodeModel } from '../../onnx/codec';

export type { InspectReport as ModelDescription, ValueReport as ValueDescription } from '../../cli/inspect';

export function describeModel(bytes: Uint8Array, what = 'model'): InspectReport {
  return inspectModel(decodeModel(bytes, what), what);
}
