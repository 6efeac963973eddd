// Running models on stock onnxruntime: onnxruntime-node (CPU) and onnxruntime-web (wasm, in Node).
import type { Tensor } from '../onnx/tensor';

export type OrtBackend = 'ort' | 'ort-web';

interface OrtTensorLike {
  type: string;
  dims: readonly number[];
  data: unknown;
}
interface OrtSessionLike {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}
interface OrtModule {
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => unknown;
  InferenceSession: { create(model: Uint8Array | string, options?: object): Promise<OrtSessionLike> };
  env: { wasm?: { numThreads?: number }; logLevel?: string };
}

const ortTypes: Record<string, string> = { float32: 'float32', float16: 'float16', float64: 'float64', int64: 'int64', int32: 'int32', uint8: 'uint8', int8: 'int8', bool: 'bool' };

export function loadOrt(backend: OrtBackend): OrtModule {
  if (backend === 'ort') return require('onnxruntime-node') as OrtModule;
  const web = require('onnxruntime-web') as OrtModule;
  if (web.env.wasm) web.env.wasm.numThreads = 1;
  return web;
}

/** A stock onnxruntime session over lp-onnx's tensors. */
export interface OrtRunner {
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

/** Creates a session (options as onnxruntime takes them; CPU or wasm unless they say otherwise). */
export async function openOrt(backend: OrtBackend, model: Uint8Array, options: object = {}): Promise<OrtRunner> {
  const ort = loadOrt(backend);
  const ep = backend === 'ort' ? ['cpu'] : ['wasm'];
  const session = await ort.InferenceSession.create(model, { logSeverityLevel: 3, executionProviders: ep, ...options });
  return {
    async run(feeds) {
      const input: Record<string, unknown> = {};
      for (const [name, t] of Object.entries(feeds)) {
        const type = ortTypes[t.dtype];
        if (!type) throw new TypeError(`input '${name}': dtype ${t.dtype} is not supported by this runner`);
        input[name] = new ort.Tensor(type, t.dtype === 'bool' ? Uint8Array.from(t.data as Uint8Array) : t.data, t.dims);
      }
      const out = await session.run(input);
      const result: Record<string, Tensor> = {};
      for (const name of session.outputNames) {
        const t = out[name];
        result[name] = { dtype: t.type as Tensor['dtype'], dims: [...t.dims], data: t.data as Tensor['data'] };
      }
      return result;
    },
    release: () => session.release(),
  };
}

/** Runs a model (bytes) once; returns every graph output. */
export async function runOrt(backend: OrtBackend, model: Uint8Array, feeds: Record<string, Tensor>, options: object = {}): Promise<Record<string, Tensor>> {
  const session = await openOrt(backend, model, options);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}
