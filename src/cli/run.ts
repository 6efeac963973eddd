// `lp-onnx run`: run a model on one backend, with given or seeded random inputs.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { LP_DOMAIN } from '../../ops/index';
import type { NdArray } from '../../ops/types';
import { ModelError } from '../graph/infer';
import { valueTypeOf } from '../graph/model';
import { encodeModel } from '../onnx/codec';
import type { ModelProto } from '../onnx/proto';
import { bytesPerElement, dtypeFromCode, floatToHalf, makeTensor, sizeOf, type Tensor, type TypedArray, toFloat64 } from '../onnx/tensor';
import { formatNpy, parseNpy } from '../runtime/npy';
import { type OrtRunner, openOrt } from '../runtime/ort';
import { runReference } from '../runtime/reference';
import { checkOutputFolder, makeFolder, UsageError, why } from './model-io';

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

/** Where a symbolic dim's size came from, for the errors that name a conflict. */
interface Binding {
  size: number;
  from: string;
}

/** Bytes as a person reads them (1.2 GB). */
export function formatBytes(n: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let k = 0;
  while (n >= 1000 && k < units.length - 1) {
    n /= 1000;
    k++;
  }
  return k === 0 ? `${n} bytes` : `${n.toPrecision(3)} ${units[k]}`;
}

export interface FeedOptions {
  /** the most bytes the inputs may take (default: the memory the system has free) */
  maxBytes?: number;
}

function readInput(name: string, path: string): Tensor {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, expected a .npy file' : code === 'EACCES' ? 'not readable (permission denied)' : (e as Error).message;
    throw new UsageError(`--input ${name}=${path}: ${why}`);
  }
  try {
    return parseNpy(bytes, path);
  } catch (e) {
    throw new UsageError(`--input ${name}=${path}: ${(e as Error).message.replace(`${path}: `, '')}`);
  }
}

/**
 * Feeds for every graph input that is not an initializer: from .npy files or seeded random.
 * A symbolic dim is bound by the first given input that has it, and every other input that names
 * it must agree; --dim sets the others (a dim no input has, or one a given input fixes otherwise,
 * is an error); what is left is 1. Random inputs are refused before they are made when they would
 * not fit in memory.
 */
export function makeFeeds(
  model: ModelProto,
  file: string,
  inputFiles: Map<string, string>,
  dims: Map<string, number>,
  seed: number,
  options: FeedOptions = {},
): Record<string, Tensor> {
  const graph = model.graph ?? {};
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !inits.has(i.name));
  for (const name of inputFiles.keys()) {
    if (!inputs.some((i) => i.name === name)) {
      throw new UsageError(`--input ${name}=...: ${file} has no input '${name}' (inputs: ${inputs.map((i) => i.name).join(', ')})`);
    }
  }
  const symbolic = new Set<string>();
  for (const i of inputs) for (const d of valueTypeOf(i)?.shape ?? []) if (typeof d === 'string') symbolic.add(d);
  for (const [k, v] of dims) {
    if (!symbolic.has(k)) {
      const known = symbolic.size ? `its inputs' symbolic dims are ${[...symbolic].join(', ')}` : 'its inputs have no symbolic dims';
      throw new UsageError(`--dim ${k}=${v}: ${file} has no dim '${k}' (${known})`);
    }
  }
  const bound = new Map<string, Binding>();
  const feeds: Record<string, Tensor> = {};
  for (const i of inputs) {
    const name = i.name ?? '';
    const given = inputFiles.get(name);
    if (!given) continue;
    const t = valueTypeOf(i);
    const tensor = readInput(name, given);
    const from = `--input ${name}=${given}`;
    if (t?.shape) {
      const ok = t.shape.length === tensor.dims.length && t.shape.every((d, k) => typeof d !== 'number' || d === tensor.dims[k]);
      if (!ok) throw new UsageError(`${from}: shape [${tensor.dims}] does not match the model's [${t.shape.map((d) => d ?? '?')}]`);
      t.shape.forEach((d, k) => {
        if (typeof d !== 'string') return;
        const size = tensor.dims[k];
        const before = bound.get(d);
        if (before && before.size !== size) throw new UsageError(`${from}: dim ${d} is ${size} there, but ${before.size} in ${before.from}`);
        if (!before) bound.set(d, { size, from });
      });
    }
    const want = dtypeFromCode(t?.elemType ?? 1);
    if (want && want !== tensor.dtype) throw new UsageError(`${from}: dtype ${tensor.dtype}, the model expects ${want}`);
    feeds[name] = tensor;
  }
  for (const [k, v] of dims) {
    const before = bound.get(k);
    if (before && before.size !== v) throw new UsageError(`--dim ${k}=${v}: ${before.from} fixes ${k} = ${before.size}`);
  }
  // the random inputs' shapes and types first, so that their size is checked before any is made
  const planned: { name: string; dtype: 'float32' | 'float64' | 'float16'; shape: number[] }[] = [];
  for (const i of inputs) {
    const name = i.name ?? '';
    if (feeds[name]) continue;
    const t = valueTypeOf(i);
    if (!t?.shape) throw new UsageError(`input '${name}' has no declared shape; pass it with --input ${name}=file.npy`);
    const shape = t.shape.map((d) => (typeof d === 'number' ? d : typeof d === 'string' ? (bound.get(d)?.size ?? dims.get(d) ?? 1) : 1));
    const dtype = dtypeFromCode(t.elemType);
    if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'float16') {
      throw new UsageError(`input '${name}' is ${dtype}; random inputs are made for float tensors only, pass it with --input`);
    }
    planned.push({ name, dtype, shape });
  }
  const bytes = planned.reduce((sum, p) => sum + sizeOf(p.shape) * bytesPerElement(p.dtype), 0);
  const budget = options.maxBytes ?? freemem();
  const tooLong = planned.find((p) => sizeOf(p.shape) > MAX_ELEMENTS);
  if (bytes > budget || tooLong) {
    const list = planned.map((p) => `${p.name}: ${p.dtype}[${p.shape.join(', ')}]`).join(', ');
    const limit = tooLong ? `an array of at most ${MAX_ELEMENTS.toLocaleString('en-US')} elements` : `${formatBytes(budget)} of free memory here`;
    throw new UsageError(`the random inputs would need ${formatBytes(bytes)} (${list}), more than ${limit}: choose smaller --dim values`);
  }
  const rand = seededRandom(seed);
  for (const p of planned) {
    const t = makeTensor(p.dtype, p.shape);
    const data = t.data as Float32Array | Float64Array | Uint16Array;
    if (p.dtype === 'float16') for (let k = 0; k < data.length; k++) data[k] = floatToHalf(rand() * 2 - 1);
    else for (let k = 0; k < data.length; k++) data[k] = rand() * 2 - 1;
    feeds[p.name] = t;
  }
  return Object.fromEntries(inputs.map((i) => [i.name ?? '', feeds[i.name ?? '']]));
}

/** The longest typed array V8 makes (Node 20, 64-bit: "Invalid typed array length" past it). */
const MAX_ELEMENTS = 2 ** 32;

/** One line on a tensor: type, shape, min / max / mean of its finite values, the first values. In one pass, for tensors of any size. */
export function summarize(name: string, t: Tensor): string {
  if (t.dtype === 'string') return `${name}: string[${t.dims.join(', ')}] [${(t.data as string[]).slice(0, 4).map((v) => JSON.stringify(v)).join(', ')}${t.data.length > 4 ? ', ...' : ''}]`;
  const data = t.dtype === 'float16' || t.dtype === 'bfloat16' ? toFloat64(t) : (t.data as TypedArray);
  const at = (k: number) => Number(data[k]);
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  let finite = 0;
  for (let k = 0; k < data.length; k++) {
    const v = at(k);
    if (!Number.isFinite(v)) continue;
    finite++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const nonFinite = data.length - finite;
  const head = Array.from({ length: Math.min(4, data.length) }, (_, k) => at(k).toPrecision(6)).join(', ');
  const stat = (v: number) => (finite ? v.toPrecision(6) : 'NaN');
  return `${name}: ${t.dtype}[${t.dims.join(', ')}] min ${stat(min)} max ${stat(max)} mean ${stat(sum / (finite || 1))}${nonFinite ? ` non-finite ${nonFinite}` : ''} [${head}${data.length > 4 ? ', ...' : ''}]`;
}

/** The file an output is written to: its name with characters other than letters, digits, '_', '.' and '-' as '_' (a bare index such as 6 stays 6.npy). */
export function outputFileName(name: string): string {
  return `${name.replace(/[^A-Za-z0-9_.-]/g, '_') || '_'}.npy`;
}

/** Writes each output as DIR/NAME.npy (folders made); each file appears whole (written aside, then renamed). */
export function writeOutputs(dir: string, outputs: Record<string, Tensor>): string[] {
  checkOutputFolder(dir, '--out');
  makeFolder(dir, `--out ${dir}`);
  return Object.entries(outputs).map(([name, t]) => {
    const path = join(dir, outputFileName(name));
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, formatNpy(t));
      renameSync(tmp, path);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new UsageError(`--out ${dir}: cannot write ${path} (${why(e)})`);
    }
    return path;
  });
}

/** A session on one backend, created once and run as often as asked. */
export interface BackendSession {
  /** milliseconds to create it: load, optimise, compile kernels, set up the device */
  createMs: number;
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

export interface SessionOptions {
  readExternal?: Parameters<typeof runReference>[3];
  /** onnxruntime's own log lines (warnings and errors) on stderr; off, only lp-onnx's error is printed */
  verbose?: boolean;
}

/** onnxruntime's log severity: 2 warnings and errors (--verbose), else 4 fatal only (lp-onnx prints the error). */
const logLevel = (o: SessionOptions) => (o.verbose ? 2 : 4);

/**
 * Dawn (the webgpu package) prints warnings about its adapter's limits to stderr the first time an
 * adapter is found; the CLI finds it with stderr quiet, so they show under --verbose only.
 */
export async function quietAdapterDiscovery(): Promise<GPUAdapter | null> {
  const { withQuietStderr } = require('../node/binding') as typeof import('../node/binding');
  const { nodeNavigatorGpu } = require('../runtime/webgpu') as typeof import('../runtime/webgpu');
  return withQuietStderr(async () => {
    const { gpu } = await nodeNavigatorGpu();
    return gpu ? gpu.requestAdapter().catch(() => null) : null;
  });
}

/** onnxruntime's environment loggers (they print what fails while a session is made) at the same level. */
function setOrtLogLevel(backend: Backend, options: SessionOptions): void {
  const level = options.verbose ? 'warning' : 'fatal';
  if (backend === 'ort' || backend === 'native') (require('onnxruntime-node') as typeof import('onnxruntime-node')).env.logLevel = level;
  if (backend === 'ort-web' || backend === 'webgpu') (require('onnxruntime-web') as typeof import('onnxruntime-web')).env.logLevel = level;
}

export async function openSession(model: ModelProto, file: string, backend: Backend, options: SessionOptions = {}): Promise<BackendSession> {
  setOrtLogLevel(backend, options);
  const t0 = performance.now();
  const created = (s: Omit<BackendSession, 'createMs'>): BackendSession => ({ ...s, createMs: performance.now() - t0 });
  if (backend === 'reference') {
    const types = new Map((model.graph?.output ?? []).map((o) => [o.name, valueTypeOf(o)]));
    return created({
      run: async (feeds) => {
        const nd: Record<string, NdArray> = {};
        for (const [k, t] of Object.entries(feeds)) nd[k] = { dims: t.dims, data: toFloat64(t) };
        const out = runReference(model, nd, file, options.readExternal);
        const result: Record<string, Tensor> = {};
        for (const [k, v] of Object.entries(out)) {
          const dt = dtypeFromCode(types.get(k)?.elemType ?? 1);
          result[k] = dt === 'float64' ? { dtype: 'float64', dims: v.dims, data: v.data } : makeTensor('float32', v.dims, v.data);
        }
        return result;
      },
      release: async () => {},
    });
  }
  if (backend === 'native') return created(await nativeSession(model, file, logLevel(options)));
  if (backend === 'webgpu') {
    if (!options.verbose) await quietAdapterDiscovery();
    return created(await webGpuSession(model, file, logLevel(options)));
  }
  const bare = (model.graph?.node ?? []).find(
    (n) => n.domain === LP_DOMAIN && !(model.functions ?? []).some((f) => f.domain === LP_DOMAIN && f.name === n.op_type && (f.overload ?? '') === (n.overload ?? '')),
  );
  if (bare) {
    throw new ModelError(`${file}: node '${bare.name}' (${bare.op_type}) has no function body, so stock onnxruntime cannot run it; run 'lp-onnx export' first (or use --backend reference)`);
  }
  const which = backend === 'ort' ? 'onnxruntime-node' : 'onnxruntime-web wasm';
  const failed = (e: unknown) => new ModelError(`${file}: onnxruntime (${which}) failed: ${(e as Error).message}`);
  let session: OrtRunner;
  try {
    session = await openOrt(backend, encodeModel(model), { logSeverityLevel: logLevel(options) });
  } catch (e) {
    throw failed(e);
  }
  return created({
    run: (feeds) => session.run(feeds).catch((e) => Promise.reject(failed(e))),
    release: () => session.release(),
  });
}

/** Runs a model once on a fresh session. */
export async function runModel(
  model: ModelProto,
  file: string,
  backend: Backend,
  feeds: Record<string, Tensor>,
  readExternal?: Parameters<typeof runReference>[3],
  options: Omit<SessionOptions, 'readExternal'> = {},
): Promise<Record<string, Tensor>> {
  const session = await openSession(model, file, backend, { ...options, readExternal });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

type LpNode = typeof import('../node/index');
type LpWeb = typeof import('../runtime/web/index');

/** lp-onnx/node: lp nodes on the fused CPU kernels inside onnxruntime-node's runtime. */
async function nativeSession(model: ModelProto, file: string, logSeverityLevel: number): Promise<Omit<BackendSession, 'createMs'>> {
  const lpNode = require('../node/index') as LpNode;
  const status = lpNode.nativeStatus();
  if (!status.available) throw new ModelError(`${file}: --backend native is not available: ${status.reason} (see 'lp-onnx doctor')`);
  const failed = (e: unknown) => new ModelError(`${file}: lp-onnx/node failed: ${(e as Error).message}`);
  let session: Awaited<ReturnType<LpNode['InferenceSession']['create']>>;
  try {
    session = await lpNode.InferenceSession.create(encodeModel(model), { logSeverityLevel: logSeverityLevel as 0 | 1 | 2 | 3 | 4 });
  } catch (e) {
    throw failed(e);
  }
  return {
    run: async (feeds) => {
      const input: Record<string, InstanceType<LpNode['Tensor']>> = {};
      for (const [k, t] of Object.entries(feeds)) input[k] = new lpNode.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims);
      let out: Awaited<ReturnType<typeof session.run>>;
      try {
        out = await session.run(input);
      } catch (e) {
        throw failed(e);
      }
      const result: Record<string, Tensor> = {};
      for (const [k, t] of Object.entries(out)) result[k] = { dtype: t.type as Tensor['dtype'], dims: [...t.dims], data: t.data as Tensor['data'] };
      return result;
    },
    release: () => session.release(),
  };
}

/** lp-onnx/web in Node: lp nodes on the WGSL kernels, the rest on onnxruntime-web WebGPU (Dawn for Node). */
async function webGpuSession(model: ModelProto, file: string, logSeverityLevel: number): Promise<Omit<BackendSession, 'createMs'>> {
  // V8's optimising tier-up of onnxruntime-web's 26 MB WebGPU (asyncify) wasm costs about 35 s of
  // CPU on its first run; the baseline compiler alone starts in well under a second
  require('node:v8').setFlagsFromString('--liftoff-only');
  const web = require('../runtime/web/index') as LpWeb;
  web.env.wasm.numThreads = 1;
  const failed = (e: unknown) => (e instanceof ModelError ? e : new ModelError(`${file}: lp-onnx/web failed: ${(e as Error).message}`));
  let session: import('../runtime/web/index').InferenceSession;
  try {
    session = await web.InferenceSession.create(encodeModel(model), { logSeverityLevel: logSeverityLevel as 0 | 1 | 2 | 3 | 4 });
  } catch (e) {
    throw failed(e);
  }
  if (session.mode !== 'webgpu-fused' && session.lpNodes > 0) {
    await session.release();
    throw new ModelError(`${file}: --backend webgpu is not available: ${session.reason}`);
  }
  return {
    run: async (feeds) => {
      const input: Record<string, import('../runtime/web/index').Tensor> = {};
      for (const [k, t] of Object.entries(feeds)) input[k] = new web.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims);
      try {
        const out = await session.run(input);
        const result: Record<string, Tensor> = {};
        for (const [k, t] of Object.entries(out)) result[k] = { dtype: t.type as Tensor['dtype'], dims: [...t.dims], data: t.data as Tensor['data'] };
        return result;
      } catch (e) {
        throw failed(e);
      }
    },
    release: () => session.release(),
  };
}
