// The backends every op case runs on, with one central list of skip reasons.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lpOp } from '../../ops/index';
import type { NdArray } from '../../ops/types';
import { exportDualPath } from '../../src/export/dual-path';
import { GraphBuilder, type Value } from '../../src/graph/builder';
import { encodeModel } from '../../src/onnx/codec';
import type { ModelProto } from '../../src/onnx/proto';
import { floatToHalf, halfToFloat, makeTensor, type Tensor } from '../../src/onnx/tensor';
import * as lpNode from '../../src/node/index';
import { type NativeSessionOptions, native, nativeVariant } from '../../src/node/binding';
import { nativeStatus } from '../../src/node/index';
import { runOrt } from '../../src/runtime/ort';
import * as lpWeb from '../../src/runtime/web/index';
import { nodeWebGpu, runLpOpWebGpu } from '../../src/runtime/webgpu';
import { inputType, makeInput, type OpCase, roundHalf } from '../cases/types';
import { TOL, type Tolerance } from './compare';

export interface CaseData {
  inputs: (Float32Array | undefined)[];
}

export function caseData(c: OpCase, seed: number): CaseData {
  return {
    inputs: c.inputs.map((s, i) => {
      if (!s) return undefined;
      const v = makeInput(s, seed * 31 + i);
      return inputType(c, i) === 'float16' ? v.map(roundHalf) : v;
    }),
  };
}

/** A case input as a tensor of its element type (float16: the bits of the values, which are float16 already). */
function caseTensor(c: OpCase, i: number, dims: number[], data: Float32Array): Tensor {
  return inputType(c, i) === 'float16' ? makeTensor('float16', dims, Uint16Array.from(data, floatToHalf)) : makeTensor('float32', dims, data);
}

/** Y as float64, whatever its element type. */
function outputValues(y: Tensor | { dims: readonly number[]; data: unknown; type?: string }): NdArray {
  const half = ('dtype' in y && y.dtype === 'float16') || ('type' in y && y.type === 'float16');
  const data = half ? Float64Array.from(y.data as Uint16Array, halfToFloat) : Float64Array.from(y.data as Float32Array);
  return { dims: [...y.dims], data };
}

/** A one-node model: X always a graph input; weights constants unless the case feeds them. */
export function caseModel(c: OpCase, d: CaseData, opset = 18): { model: ModelProto; feeds: Record<string, Tensor> } {
  const b = new GraphBuilder({ name: c.name.replace(/[^A-Za-z0-9]+/g, '_'), opset });
  const feeds: Record<string, Tensor> = {};
  const values: (Value | undefined)[] = c.inputs.map((s, i) => {
    if (!s) return undefined;
    const name = lpOp(c.op)?.inputs[i].name ?? `in${i}`;
    const data = d.inputs[i] as Float32Array;
    const t = caseTensor(c, i, s.dims, data);
    if (i === 0 || c.feedWeights) {
      feeds[name] = t;
      return b.input(name, inputType(c, i), s.dims);
    }
    return b.initializer(name, t.data as Float32Array | Uint16Array, s.dims, inputType(c, i));
  });
  const [x, a1, a2] = values;
  const y =
    c.op === 'LpNorm'
      ? b.lpNorm(x as Value, a1 as Value, a2, c.attrs)
      : c.op === 'LpPool'
        ? b.lpPool(x as Value, a1, c.attrs)
        : b.l1Conv(x as Value, a1 as Value, a2, c.attrs);
  b.output(y, 'Y');
  return { model: b.build(), feeds };
}

export interface Backend {
  name: string;
  tolerance: Tolerance;
  /** the ops it runs (all when absent) */
  ops?: readonly string[];
  /** undefined when available, else why not */
  unavailable?: string;
  /** why the float16 cases are skipped on it (undefined: it runs them) */
  noFloat16?: string;
  /** it runs the function bodies (not a kernel): cases marked kernelsOnly skip it */
  body?: boolean;
  run(c: OpCase, d: CaseData): Promise<NdArray>;
}

async function runBody(kind: 'ort' | 'ort-web', c: OpCase, d: CaseData, opset = 18, options: object = {}): Promise<NdArray> {
  const { model, feeds } = caseModel(c, d, opset);
  const { model: dual } = exportDualPath(model, { what: c.name });
  const out = await runOrt(kind, encodeModel(dual), feeds, options);
  return outputValues(out.Y);
}

/** Whether onnxruntime-node's WebGPU provider runs here (without a GPU: Mesa's lavapipe). */
function probeWebGpu(): string | undefined {
  const missing = probe('onnxruntime-node');
  if (missing) return missing;
  const script = join(__dirname, '..', '..', 'dist', 'scripts', 'probe-webgpu.js');
  if (!existsSync(script)) return 'dist/scripts/probe-webgpu.js is not built (npm run build)';
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 120000 });
  return r.status === 0 ? undefined : (r.stdout || r.stderr).trim().split('\n').pop();
}

/** The dual-path model through lp-onnx/node: onnxruntime runs the fused kernel, not the body. */
async function runNative(c: OpCase, d: CaseData): Promise<NdArray> {
  const { model, feeds } = caseModel(c, d);
  const { model: dual } = exportDualPath(model, { what: c.name });
  const session = await lpNode.InferenceSession.create(encodeModel(dual));
  try {
    const input: Record<string, lpNode.Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) input[k] = t.dtype === 'float16' ? new lpNode.Tensor('float16', t.data as Uint16Array, t.dims) : new lpNode.Tensor('float32', t.data as Float32Array, t.dims);
    const out = await session.run(input);
    return outputValues(out.Y);
  } finally {
    await session.release();
  }
}

/** The dual-path model through an addon directly, with its session options. */
async function runAddon(binding: NonNullable<ReturnType<typeof native>['binding']>, c: OpCase, d: CaseData, options: NativeSessionOptions): Promise<NdArray> {
  const { model, feeds } = caseModel(c, d);
  const { model: dual } = exportDualPath(model, { what: c.name });
  const session = binding.createSession(encodeModel(dual), options);
  try {
    const names = Object.keys(feeds);
    const outs = await binding.run(
      session,
      names,
      names.map((n) => feeds[n].dtype),
      names.map((n) => feeds[n].dims),
      names.map((n) => feeds[n].data as Float32Array | Uint16Array),
      ['Y'],
    );
    return outputValues(outs[0]);
  } finally {
    binding.release(session);
  }
}

/** The fused CPU kernels on one instruction-set path (the addon's cpuIsa, as LP_ONNX_CPU_ISA). */
async function runNativeIsa(c: OpCase, d: CaseData, cpuIsa: NativeSessionOptions['cpuIsa']): Promise<NdArray> {
  const { binding, reason } = native();
  if (!binding) throw new Error(reason);
  return runAddon(binding, c, d, { cpuIsa });
}

// LP_ONNX_CUDA_EMULATION_BUILD: another build of it (the sanitizer run's build/CudaEmulationSanitize)
const CUDA_EMULATION = process.env.LP_ONNX_CUDA_EMULATION_BUILD || join(__dirname, '..', '..', 'build', 'CudaEmulation');
/** The ops whose CUDA kernels the emulation build carries (the others stay on the CPU kernels there). */
const CUDA_OPS = ['LpNorm', 'LpPool', 'L1Conv'];

/**
 * The dual-path model on the CUDA kernels' host code and device code, run by the CPU emulation of
 * the CUDA execution model (kernels/cuda/emulation): the test build build/CudaEmulation, not a GPU.
 */
async function runCudaEmulation(c: OpCase, d: CaseData, sm?: number): Promise<NdArray> {
  const { binding, reason } = nativeVariant(CUDA_EMULATION);
  if (!binding) throw new Error(reason);
  // the compute capability the emulated device reports (90 unless a case asks for another)
  if (sm && !binding.setEmulatedSm) throw new Error('this build has no setEmulatedSm (not the CUDA emulation build?)');
  binding.setEmulatedSm?.(sm ?? 90);
  try {
    return await runAddon(binding, c, d, {});
  } finally {
    binding.setEmulatedSm?.(90);
  }
}

/** Whether the `webgpu` package (Dawn for Node) finds an adapter here. */
function probeWgsl(): string | undefined {
  const code = `import('webgpu').then(async (m) => { const g = m.create([]); const a = await g.requestAdapter(); process.exit(a ? 0 : 3); }).catch((e) => { console.error(e.message); process.exit(2); });`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 60000 });
  if (r.status === 0) return undefined;
  return r.status === 3 ? 'the webgpu package found no adapter (install Mesa lavapipe from bookworm-backports)' : `the webgpu package is not usable here: ${(r.stderr || '').trim().split('\n').pop()}`;
}

/** The case on the WGSL kernels (kernels/webgpu) through the webgpu package. */
async function runWgsl(c: OpCase, d: CaseData): Promise<NdArray> {
  const { ctx, reason } = await nodeWebGpu();
  if (!ctx) throw new Error(reason);
  const { model } = caseModel(c, d);
  const op = lpOp(c.op);
  if (!op) throw new Error(c.op);
  const node = model.graph?.node?.find((n) => n.op_type === c.op);
  const attrs = op.parse(node?.attribute ?? [], c.name) as Record<string, unknown>;
  const ins = c.inputs.map((s, i) => (s ? { dims: s.dims, data: Float64Array.from(d.inputs[i] as Float32Array) } : undefined));
  // float16 inputs go to the GPU as float16 (their values are float16 values) and Y comes back so
  const half = c.inputs.map((s, i) => !!s && inputType(c, i) === 'float16');
  return runLpOpWebGpu(ctx, c.op, attrs, ins, c.name, half);
}

/** The dual-path model through an lp-onnx/web session: the lp node must run on its WGSL kernel. */
async function runWebSession(c: OpCase, d: CaseData): Promise<NdArray> {
  const { model, feeds } = caseModel(c, d);
  const { model: dual } = exportDualPath(model, { what: c.name });
  const session = await lpWeb.InferenceSession.create(encodeModel(dual));
  try {
    if (session.mode !== 'webgpu-fused') throw new Error(`lp-onnx/web ran ${session.mode}: ${session.reason}`);
    const input: Record<string, lpWeb.Tensor> = {};
    for (const [k, t] of Object.entries(feeds)) input[k] = t.dtype === 'float16' ? new lpWeb.Tensor('float16', t.data as Uint16Array, t.dims) : new lpWeb.Tensor('float32', t.data as Float32Array, t.dims);
    const out = await session.run(input);
    const y = out.Y;
    return { dims: [...y.dims], data: y.type === 'float16' ? Float64Array.from(y.data as Uint16Array, halfToFloat) : Float64Array.from(y.data as Float32Array) };
  } finally {
    await session.release();
  }
}

/** Why this CPU cannot take a path: the flags of /proc/cpuinfo it lacks. */
function cpuLacks(flags: string[]): string | undefined {
  let info = '';
  try {
    info = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return 'no /proc/cpuinfo to read the CPU flags from';
  }
  const have = new Set((/^flags\s*:(.*)$/m.exec(info)?.[1] ?? '').trim().split(/\s+/));
  const missing = flags.filter((f) => !have.has(f));
  return missing.length ? `this CPU lacks ${missing.join(', ')}` : undefined;
}

function probe(mod: string): string | undefined {
  try {
    require.resolve(mod);
    return undefined;
  } catch {
    return `${mod} is not installed`;
  }
}

type BackendSpec = Omit<Backend, 'unavailable'> & { probe: () => string | undefined };

const SPECS: BackendSpec[] = [
  {
    name: 'reference',
    tolerance: TOL.reference,
    probe: () => undefined,
    async run(c, d) {
      const op = lpOp(c.op);
      if (!op) throw new Error(`no op ${c.op}`);
      const { model } = caseModel(c, d);
      const node = model.graph?.node?.find((n) => n.op_type === c.op);
      const attrs = op.parse(node?.attribute ?? [], c.name);
      const ins = c.inputs.map((s, i) => (s ? { dims: s.dims, data: Float64Array.from(d.inputs[i] as Float32Array) } : undefined));
      const y = op.reference(attrs, ins, c.name);
      // float16: the float64 result rounded once (ops.md)
      return c.dtype === 'float16' ? { dims: y.dims, data: y.data.map(roundHalf) } : y;
    },
  },
  { name: 'fused CPU kernels (lp-onnx/node)', tolerance: TOL.kernel, probe: () => nativeStatus().reason, run: (c, d) => runNative(c, d) },
  // the kernels' other instruction-set paths (the row above takes the best this CPU has)
  {
    name: 'fused CPU kernels, AVX2 path (as LP_ONNX_CPU_ISA=avx2)',
    tolerance: TOL.kernel,
    probe: () => nativeStatus().reason ?? cpuLacks(['avx2', 'fma']),
    run: (c, d) => runNativeIsa(c, d, 'avx2'),
  },
  { name: 'fused CPU kernels, plain x86-64 path (as LP_ONNX_CPU_ISA=plain)', tolerance: TOL.kernel, probe: () => nativeStatus().reason, run: (c, d) => runNativeIsa(c, d, 'plain') },
  {
    name: 'CUDA kernels (CPU emulation of the CUDA execution model, not a GPU)',
    tolerance: TOL.kernel,
    ops: CUDA_OPS,
    probe: () => nativeVariant(CUDA_EMULATION).reason && `${nativeVariant(CUDA_EMULATION).reason} (npm run build:cuda-emulation)`,
    run: (c, d) => runCudaEmulation(c, d),
  },
  {
    // shared-p LpNorm without tensor cores: the SIMT kernel a GPU before sm_80 runs
    name: 'CUDA kernels, sm_75 path (CPU emulation of an sm_75 device, not a GPU)',
    tolerance: TOL.kernel,
    ops: ['LpNorm'],
    probe: () => nativeVariant(CUDA_EMULATION).reason && `${nativeVariant(CUDA_EMULATION).reason} (npm run build:cuda-emulation)`,
    run: (c, d) => runCudaEmulation(c, d, 75),
  },
  { name: 'WGSL kernels (webgpu, Dawn for Node)', tolerance: TOL.kernel, probe: probeWgsl, run: (c, d) => runWgsl(c, d) },
  { name: 'lp-onnx/web session (WGSL kernels)', tolerance: TOL.kernel, probe: probeWgsl, run: (c, d) => runWebSession(c, d) },
  { name: 'function body on onnxruntime-node', body: true, tolerance: TOL.body, probe: () => probe('onnxruntime-node'), run: (c, d) => runBody('ort', c, d) },
  { name: 'function body on onnxruntime-web wasm', body: true, tolerance: TOL.body, probe: () => probe('onnxruntime-web'), run: (c, d) => runBody('ort-web', c, d) },
  {
    name: 'function body on onnxruntime-node WebGPU',
    body: true,
    tolerance: TOL.body,
    probe: probeWebGpu,
    run: (c, d) => runBody('ort', c, d, 18, { executionProviders: ['webgpu'] }),
  },
  // Bodies follow the model's opset (onnxruntime inlines them at it): the oldest, torch 1.13's and the newest.
  ...[13, 17, 23].map((opset) => ({
    name: `function body at opset ${opset} on onnxruntime-node`,
    body: true,
    tolerance: TOL.body,
    probe: () => probe('onnxruntime-node'),
    run: (c: OpCase, d: CaseData) => runBody('ort', c, d, opset),
  })),
];

/**
 * The backends, each probed once. LP_ONNX_TEST_BACKENDS (a regular expression over the names)
 * selects some, as the sanitizer run does for the native kernels; the others are skipped with that
 * reason, unprobed.
 */
const selected = process.env.LP_ONNX_TEST_BACKENDS ? new RegExp(process.env.LP_ONNX_TEST_BACKENDS) : undefined;
export const BACKENDS: Backend[] = SPECS.map(({ probe: check, ...b }) => ({
  ...b,
  unavailable: selected && !selected.test(b.name) ? `not selected (LP_ONNX_TEST_BACKENDS=${process.env.LP_ONNX_TEST_BACKENDS})` : check(),
}));
