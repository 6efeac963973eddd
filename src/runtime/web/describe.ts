// What a page needs to know about a model before running it: the report `lp-onnx inspect` prints
// (inputs and outputs with element type and dims, lp nodes, function bodies, opsets).
import { type ModelReport, reportModel } from '../../graph/report';
import { decodeModel } from '../../onnx/codec';

export type { ModelReport as ModelDescription, ValueReport as ValueDescription } from '../../graph/report';

export function describeModel(bytes: Uint8Array, what = 'model'): ModelReport {
  return reportModel(decodeModel(bytes, what), what);
}
