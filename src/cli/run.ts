// `lp-onnx run`: run a model on one backend, with given or seeded random inputs.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LP_DOMAIN } from '../../ops/index';
import type { NdArray } from '../../ops/types';
import { ModelError } from '../graph/infer';
import { valueTypeOf } from '../graph/model';
import { encodeModel } from '../onnx/codec';
import type { ModelProto } from '../onnx/proto';
import { dtypeFromCode, makeTensor, type Tensor, toFloat64 } from '../onnx/tensor';
import { formatNpy, parseNpy } from '../runtime/npy';
import { runOrt } from '../runtime/ort';
import { runReference } from '../runtime/reference';
import { UsageError } from './model-io';

export const BACKENDS = ['reference', 'ort', 'ort-web', 'native', 'webgpu'] as const;
export type Backend = (typeof BACKENDS)[number];
/** What each backend runs, in the words `lp-onnx run` prints. */
export const BACKEND_LABELS: Record<Backend, string> = {
  reference: 'the float64 TypeScript reference',
  ort: 'stock onnxruntime-node, function bodies',
  'ort-web': 'stock onnxruntime-web wasm, function bodies',
  native: 'lp-onnx/node, fused kernels',
  webgpu: 'lp-onnx/web, WGSL kernels',
};

/** mulberry32: a small seeded generator, so runs are repeatable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function parseAssignments(items: readonly string[], flag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) throw new UsageError(`${flag} ${item}: expected NAME=VALUE`);
    out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return out;
}

/** Feeds for every graph input that is not an initializer: from .npy files or seeded random. */
export function makeFeeds(model: ModelProto, file: string, inputFiles: Map<string, string>, dims: Map<string, number>, seed: number): Record<string, Tensor> {
  const graph = model.graph ?? {};
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !inits.has(i.name));
  for (const name of inputFiles.keys()) {
    if (!inputs.some((i) => i.name === name)) {
      throw new UsageError(`--input ${name}=...: ${file} has no input '${name}' (inputs: ${inputs.map((i) => i.name).join(', ')})`);
    }
  }
  const rand = seededRandom(seed);
  const feeds: Record<string, Tensor> = {};
  for (const i of inputs) {
    const name = i.name ?? '';
    const t = valueTypeOf(i);
    const given = inputFiles.get(name);
    if (given) {
      let tensor: Tensor;
      try {
        tensor = parseNpy(new Uint8Array(readFileSync(given)), given);
      } catch (e) {
        throw new UsageError(`--input ${name}=${given}: ${(e as Error).message.replace(`${given}: `, '')}`);
      }
      if (t?.shape) {
        const ok = t.shape.length === tensor.dims.length && t.shape.every((d, k) => typeof d !== 'number' || d === tensor.dims[k]);
        if (!ok) throw new UsageError(`--input ${name}=${given}: shape [${tensor.dims}] does not match the model's [${t.shape.map((d) => d ?? '?')}]`);
      }
      const want = dtypeFromCode(t?.elemType ?? 1);
      if (want && want !== tensor.dtype) throw new UsageError(`--input ${name}=${given}: dtype ${tensor.dtype}, the model expects ${want}`);
      feeds[name] = tensor;
      continue;
    }
    if (!t?.shape) throw new UsageError(`input '${name}' has no declared shape; pass it with --input ${name}=file.npy`);
    const shape = t.shape.map((d) => {
      if (typeof d === 'number') return d;
      if (typeof d === 'string' && dims.has(d)) return dims.get(d) as number;
      return 1;
    });
    const dtype = dtypeFromCode(t.elemType);
    if (dtype !== 'float32' && dtype !== 'float64') {
      throw new UsageError(`input '${name}' is ${dtype}; random inputs are made for float tensors only, pass it with --input`);
    }
    const n = shape.reduce((a, b) => a * b, 1);
    feeds[name] = makeTensor(
      dtype,
      shape,
      Array.from({ length: n }, () => rand() * 2 - 1),
    );
  }
  return feeds;
}

export async function runModel(
  model: ModelProto,
  file: string,
  backend: Backend,
  feeds: Record<string, Tensor>,
  readExternal?: Parameters<typeof runReference>[3],
): Promise<Record<string, Tensor>> {
  if (backend === 'reference') {
    const nd: Record<string, NdArray> = {};
    for (const [k, t] of Object.entries(feeds)) nd[k] = { dims: t.dims, data: toFloat64(t) };
    const out = runReference(model, nd, file, readExternal);
    const result: Record<string, Tensor> = {};
    const types = new Map((model.graph?.output ?? []).map((o) => [o.name, valueTypeOf(o)]));
    for (const [k, v] of Object.entries(out)) {
      const dt = dtypeFromCode(types.get(k)?.elemType ?? 1);
      result[k] = dt === 'float64' ? { dtype: 'float64', dims: v.dims, data: v.data } : makeTensor('float32', v.dims, v.data);
    }
    return result;
  }
  if (backend === 'native') return runNative(model, file, feeds);
  if (backend === 'webgpu') return runWebGpu(model, file, feeds);
  const bare = (model.graph?.node ?? []).find(
    (n) => n.domain === LP_DOMAIN && !(model.functions ?? []).some((f) => f.domain === LP_DOMAIN && f.name === n.op_type && (f.overload ?? '') === (n.overload ?? '')),
  );
  if (bare) {
    throw new ModelError(`${file}: node '${bare.name}' (${bare.op_type}) has no function body, so stock onnxruntime cannot run it; run 'lp-onnx export' first (or use --backend reference)`);
  }
  try {
    return await runOrt(backend, encodeModel(model), feeds);
  } catch (e) {
    throw new ModelError(`${file}: onnxruntime (${backend === 'ort' ? 'onnxruntime-node' : 'onnxruntime-web wasm'}) failed: ${(e as Error).message}`);
  }
}

export function summarize(name: string, t: Tensor): string {
  const data = t.dtype === 'string' ? [] : Array.from(toFloat64(t));
  const finite = data.filter(Number.isFinite);
  const nan = data.length - finite.length;
  const min = finite.length ? Math.min(...finite) : Number.NaN;
  const max = finite.length ? Math.max(...finite) : Number.NaN;
  const mean = finite.reduce((a, b) => a + b, 0) / (finite.length || 1);
  const head = data
    .slice(0, 4)
    .map((v) => v.toPrecision(6))
    .join(', ');
  return `${name}: ${t.dtype}[${t.dims.join(', ')}] min ${min.toPrecision(6)} max ${max.toPrecision(6)} mean ${mean.toPrecision(6)}${nan ? ` non-finite ${nan}` : ''} [${head}${data.length > 4 ? ', ...' : ''}]`;
}

/** Writes each output as DIR/NAME.npy; each file appears whole (written aside, then renamed). */
export function writeOutputs(dir: string, outputs: Record<string, Tensor>): string[] {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`--out ${dir}: is a file, expected a folder`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`--out ${dir}: cannot create the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return Object.entries(outputs).map(([name, t]) => {
    const path = join(dir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.npy`);
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, formatNpy(t));
      renameSync(tmp, path);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new UsageError(`--out ${dir}: cannot write ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    return path;
  });
}

/** lp-onnx/node: lp nodes on the fused CPU kernels inside onnxruntime-node's runtime. */
export async function runNative(model: ModelProto, file: string, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const lpNode = require('../node/index') as typeof import('../node/index');
  const status = lpNode.nativeStatus();
  if (!status.available) throw new ModelError(`${file}: --backend native is not available: ${status.reason} (see 'lp-onnx doctor')`);
  try {
    const session = await lpNode.InferenceSession.create(encodeModel(model));
    const input: Record<string, InstanceType<typeof lpNode.Tensor>> = {};
    for (const [k, t] of Object.entries(feeds)) input[k] = new lpNode.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims);
    const out = await session.run(input);
    await session.release();
    const result: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(out)) result[k] = { dtype: t.type as Tensor['dtype'], dims: [...t.dims], data: t.data as Tensor['data'] };
    return result;
  } catch (e) {
    throw new ModelError(`${file}: lp-onnx/node failed: ${(e as Error).message}`);
  }
}

/** lp-onnx/web in Node: lp nodes on the WGSL kernels, the rest on onnxruntime-web WebGPU (Dawn for Node). */
export async function runWebGpu(model: ModelProto, file: string, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  // V8's optimising tier-up of onnxruntime-web's 26 MB WebGPU (asyncify) wasm costs about 35 s of
  // CPU on its first run; the baseline compiler alone starts in well under a second
  require('node:v8').setFlagsFromString('--liftoff-only');
  const web = require('../runtime/web/index') as typeof import('../runtime/web/index');
  web.env.wasm.numThreads = 1;
  let session: import('../runtime/web/index').InferenceSession;
  try {
    session = await web.InferenceSession.create(encodeModel(model));
  } catch (e) {
    throw new ModelError(`${file}: lp-onnx/web failed: ${(e as Error).message}`);
  }
  try {
    if (session.mode !== 'webgpu-fused' && session.lpNodes > 0) throw new ModelError(`${file}: --backend webgpu is not available: ${session.reason}`);
    const input: Record<string, import('../runtime/web/index').Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) input[k] = new web.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims);
    const out = await session.run(input);
    const result: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(out)) result[k] = { dtype: t.type as Tensor['dtype'], dims: [...t.dims], data: t.data as Tensor['data'] };
    return result;
  } catch (e) {
    throw e instanceof ModelError ? e : new ModelError(`${file}: lp-onnx/web failed: ${(e as Error).message}`);
  } finally {
    await session.release();
  }
}
