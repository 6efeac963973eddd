// lp-onnx/web: onnxruntime-web with the lp-onnx WGSL kernels. Import this instead of
// onnxruntime-web: the same Tensor and env, and an InferenceSession that runs a dual-path model's
// lp nodes as fused WebGPU kernels (the rest on onnxruntime-web's WebGPU provider, one device),
// falls back to the function bodies on wasm where there is no WebGPU, and hands a model without
// lp nodes to onnxruntime-web as it is.
export { env, Tensor } from 'onnxruntime-web/webgpu';
export type { LpKernels, SessionMode, SessionOptions, WebGpuDevice } from './session';
export { InferenceSession } from './session';
export type { ModelDescription, ValueDescription } from './describe';
export { describeModel } from './describe';
/** float <-> float16 bits (round to nearest even), for float16 tensors where the browser has no Float16Array. */
export { floatToHalf, halfToFloat } from '../../onnx/tensor';
