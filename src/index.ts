// lp-onnx: the public TypeScript API.

export type { NdArray, NodeContext, OpDefinition, ValueType } from '../ops/index';
export { LP_DOMAIN, LP_OPS, LP_OPSET_VERSION, LpOpError, l1Conv, lpNorm, lpOp, lpPool } from '../ops/index';
export { type ExportOptions, exportDualPath } from './export/dual-path';
export { lowerModel } from './export/lower';
export { BuilderError, GraphBuilder, Value } from './graph/builder';
export { inferTypes, ModelError } from './graph/infer';
export { decodeModel, encodeModel, OnnxFormatError } from './onnx/codec';
export { readModelFile, writeModelFile } from './onnx/model-file';
export type * from './onnx/proto';
export { makeTensor, type Tensor, tensorFromProto, tensorToProto } from './onnx/tensor';
export { formatNpy, parseNpy } from './runtime/npy';
export { runOrt } from './runtime/ort';
export { runReference } from './runtime/reference';
