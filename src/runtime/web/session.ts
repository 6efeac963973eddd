// The hybrid WebGPU session of lp-onnx/web. The model is split at its com.lponnx nodes
// (partition.ts): standard segments run as onnxruntime-web WebGPU sessions on a GPUDevice that
// lp-onnx owns (or the caller's), and each lp node runs as a WGSL kernel on that same device.
// Values stay in GPU buffers between steps. Without WebGPU the whole model runs on wasm with its
// function bodies, and `reason` says why.
import * as ort from 'onnxruntime-web/webgpu';
import { lpOp } from '../../../ops/index';
import type { NdArray, ValueType } from '../../../ops/types';
import { isLpNode, ModelError } from '../../graph/infer';
import { decodeModel, encodeModel } from '../../onnx/codec';
import { checkExternalLocation, externalLocations, hasExternalData, internalizeExternalData, memoryReader } from '../../onnx/external';
import type { ModelProto } from '../../onnx/proto';
import { DataType, dtypeCodeOf, halfToFloat, tensorFromProto } from '../../onnx/tensor';
import {
  compileProgram,
  encodeConversion,
  encodeProgram,
  halfBuffer,
  importModule,
  isNode,
  lpProgram,
  NO_ADAPTER,
  nodeNavigatorGpu,
  readBuffer,
  readHalfBuffer,
  readsHalfX,
  shareWithWasm,
  storageBuffer,
  type WebGpuContext,
} from '../webgpu';
import { type LpStep, type Plan, planModel, type Segment, segmentModel } from './partition';

export type LpKernels = 'fused' | 'bodies';

/**
 * The GPUDevice type where the project has WebGPU's types (@webgpu/types), else unknown: a
 * project that type-checks without them still can (the same choice as onnxruntime-web's options).
 */
export type WebGpuDevice = typeof globalThis extends { GPUDevice: { prototype: infer T } } ? T : unknown;

export interface SessionOptions extends ort.InferenceSession.SessionOptions {
  /**
   * How lp nodes run on WebGPU: 'fused' (default) as WGSL kernels, 'bodies' as their function
   * bodies inside onnxruntime-web (the stock path, for comparison).
   */
  lpKernels?: LpKernels;
  /** a GPUDevice of the caller's to run on (default: lp-onnx requests one) */
  device?: WebGpuDevice;
}

/** How a session runs its model. */
export type SessionMode =
  /** lp nodes on WGSL kernels, the rest on onnxruntime-web WebGPU, one device */
  | 'webgpu-fused'
  /** the whole model, lp nodes as function bodies, on onnxruntime-web WebGPU */
  | 'webgpu-bodies'
  /** the whole model, lp nodes as function bodies, on onnxruntime-web wasm */
  | 'wasm-bodies'
  /** a model without lp nodes, handed to onnxruntime-web as it is */
  | 'onnxruntime-web';

type OrtSession = ort.InferenceSession;
type Feeds = Record<string, ort.Tensor>;


/**
 * onnxruntime-web creates one WebGPU session at a time ("another WebGPU EP inference session is
 * being created"): every creation here goes through this chain.
 */
let creating: Promise<unknown> = Promise.resolve();
function createOrtSession(model: Uint8Array, options: ort.InferenceSession.SessionOptions): Promise<OrtSession> {
  const next = creating.then(() => ort.InferenceSession.create(model, options));
  creating = next.catch(() => undefined);
  return next;
}

/** lp-onnx's device, or why there is none; `keeper` is the one-node session that holds it */
let sharedDevice: Promise<{ ctx?: WebGpuContext; reason?: string; keeper?: OrtSession }> | undefined;

/** The smallest model onnxruntime-web runs on WebGPU: y = Identity(x), x float [1]. */
function identityModel(): Uint8Array {
  const value = (name: string) => ({ name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [{ dim_value: 1 }] } } } });
  return encodeModel({
    ir_version: 8,
    opset_import: [{ domain: '', version: 13 }],
    graph: { name: 'device', node: [{ op_type: 'Identity', input: ['x'], output: ['y'] }], input: [value('x')], output: [value('y')] },
  });
}

/**
 * lp-onnx's own device is onnxruntime-web's default one (the device it creates for a session
 * given no device, and shares as env.webgpu.device): GPU tensors that onnxruntime-web makes from
 * buffers are placed on that device (device id 0), and from 1.31 on a session on any other device
 * refuses them as inputs ("no data transfer registered"). A one-node session brings it up and
 * holds it.
 */
function acquireWebGpu(): Promise<{ ctx?: WebGpuContext; reason?: string; keeper?: OrtSession }> {
  sharedDevice ??= (async () => {
    if (isNode()) {
      const { gpu, reason } = await nodeNavigatorGpu();
      if (!gpu) return { reason };
    }
    const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
    if (!nav?.gpu) return { reason: 'this browser has no WebGPU (navigator.gpu is undefined)' };
    try {
      if (!(await nav.gpu.requestAdapter())) return { reason: isNode() ? NO_ADAPTER : 'navigator.gpu.requestAdapter() found no adapter' };
      // kept: onnxruntime-web releases its default device with the last session on it
      const keeper = await createOrtSession(identityModel(), { executionProviders: ['webgpu'] });
      const device = (await ort.env.webgpu.device) as GPUDevice | undefined;
      if (!device) return { reason: 'onnxruntime-web ran a WebGPU session but did not share its device (env.webgpu.device)' };
      if (isNode()) shareWithWasm(device);
      return { ctx: { device, pipelines: new Map(), gpu: nav.gpu, maxGroups: device.limits.maxComputeWorkgroupsPerDimension }, keeper };
    } catch (e) {
      return { reason: `no WebGPU device: ${(e as Error).message}` };
    }
  })();
  return sharedDevice;
}

async function modelBytes(model: string | Uint8Array | ArrayBuffer): Promise<Uint8Array> {
  if (model instanceof Uint8Array) return model;
  if (model instanceof ArrayBuffer) return new Uint8Array(model);
  if (isNode() && !/^https?:/.test(model)) {
    // the browser build never reaches this import
    const fs = (await importModule('node:fs')) as unknown as typeof import('node:fs');
    try {
      return new Uint8Array(fs.readFileSync(model));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ModelError(`${model}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (e as Error).message})`}`);
    }
  }
  const res = await fetch(model);
  if (!res.ok) throw new ModelError(`${model}: HTTP ${res.status} ${res.statusText}`.trim());
  return new Uint8Array(await res.arrayBuffer());
}

function gpuExecutionProvider(eps: ort.InferenceSession.SessionOptions['executionProviders']): boolean {
  return (eps ?? ['webgpu']).some((e) => (typeof e === 'string' ? e : e.name) === 'webgpu');
}

function withoutOurs(options: SessionOptions): ort.InferenceSession.SessionOptions {
  const rest: Record<string, unknown> = { ...options };
  delete rest.lpKernels;
  delete rest.device;
  return rest as ort.InferenceSession.SessionOptions;
}

/**
 * The contents of a model's external data files: from `externalData` (onnxruntime-web's option:
 * paths with bytes, a Blob or a URL), else beside the model (a file path in Node, a URL's folder).
 */
async function externalFiles(
  given: ort.InferenceSession.SessionOptions['externalData'],
  model: string | Uint8Array | ArrayBuffer,
  locations: string[],
  what: string,
): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const entry of given ?? []) {
    if (typeof entry === 'string') continue; // a path onnxruntime-web fetches itself: read below, beside the model
    const d = entry.data;
    const data = d instanceof Uint8Array ? d : typeof d === 'string' ? await modelBytes(d) : 'arrayBuffer' in d ? new Uint8Array(await (d as Blob).arrayBuffer()) : new Uint8Array(d as ArrayBuffer);
    files.set(entry.path.replace(/^\.\//, ''), data);
  }
  for (const location of locations) {
    if (files.has(location)) continue;
    if (typeof model !== 'string') {
      throw new ModelError(
        `${what}: its weights are stored in the external file '${location}' beside it; pass the file's contents as the session option externalData: [{ path: '${location}', data }]`,
      );
    }
    checkExternalLocation(location, what);
    // beside the model, read as the model is: a file path in Node, else a URL relative to the model's
    let beside: string;
    if (isNode() && !/^https?:/.test(model)) {
      const path = (await importModule('node:path')) as unknown as typeof import('node:path');
      beside = path.join(path.dirname(model), location);
    } else {
      beside = new URL(location, new URL(model, (globalThis as { location?: { href: string } }).location?.href)).href;
    }
    files.set(location, await modelBytes(beside));
  }
  return files;
}

/** One tensor of a run and whether the session owns it (and so disposes of it). */
interface Held {
  tensor: ort.Tensor;
  owned: boolean;
}

export class InferenceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** how the model runs */
  readonly mode: SessionMode;
  /** why the model does not run on WebGPU with fused kernels (undefined when it does, or when a model without lp nodes runs on WebGPU) */
  readonly reason: string | undefined;
  /** the number of com.lponnx nodes in the model */
  readonly lpNodes: number;
  /** the number of onnxruntime-web sessions behind this one */
  get segments(): number {
    return this.hybrid ? this.hybrid.sessions.size : 1;
  }

  private whole: OrtSession | undefined;
  private hybrid: Hybrid | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(mode: SessionMode, reason: string | undefined, lpNodes: number, names: { inputs: readonly string[]; outputs: readonly string[] }) {
    this.mode = mode;
    this.reason = reason;
    this.lpNodes = lpNodes;
    this.inputNames = names.inputs;
    this.outputNames = names.outputs;
  }

  /** The device the session runs on (undefined on wasm). */
  get device(): WebGpuDevice | undefined {
    return this.hybrid?.ctx.device ?? this.gpuDevice;
  }
  private gpuDevice: GPUDevice | undefined;

  static async create(model: string | Uint8Array | ArrayBuffer, options: SessionOptions = {}): Promise<InferenceSession> {
    const what = typeof model === 'string' ? model : 'model';
    let bytes = await modelBytes(model);
    let proto = decodeModel(bytes, what);
    const ortOptions = withoutOurs(options);
    if (hasExternalData(proto)) {
      // weights in files beside the model (options.externalData, as onnxruntime-web takes it; in
      // Node, a model path's folder): read in, so that both lp-onnx and onnxruntime see one model
      const files = await externalFiles(options.externalData, model, externalLocations(proto), what);
      proto = internalizeExternalData(proto, memoryReader(files, what));
      bytes = encodeModel(proto);
      delete ortOptions.externalData;
    }
    const lpNodes = (proto.graph?.node ?? []).filter((n) => isLpNode(n.domain)).length;
    const lpKernels = options.lpKernels ?? 'fused';
    if (lpKernels !== 'fused' && lpKernels !== 'bodies') throw new TypeError(`lp-onnx/web: lpKernels '${String(lpKernels)}' is not 'fused' or 'bodies'`);

    let reason: string | undefined;
    let ctx: WebGpuContext | undefined;
    if (!gpuExecutionProvider(options.executionProviders)) reason = 'the executionProviders do not include webgpu';
    else if (options.device) ctx = { device: options.device, pipelines: new Map(), maxGroups: options.device.limits.maxComputeWorkgroupsPerDimension };
    else ({ ctx, reason } = await acquireWebGpu());

    const whole = async (mode: SessionMode, eps: ort.InferenceSession.SessionOptions['executionProviders']) => {
      const s = await createOrtSession(bytes, { ...ortOptions, executionProviders: eps });
      const session = new InferenceSession(mode, reason, lpNodes, { inputs: s.inputNames, outputs: s.outputNames });
      session.whole = s;
      session.gpuDevice = ctx?.device;
      return session;
    };
    // the caller's device goes to onnxruntime-web as a device of its own unless it is the default one
    const custom = ctx && options.device && options.device !== (await ort.env.webgpu.device);
    const webgpu = ctx ? [(custom ? { name: 'webgpu', device: ctx.device } : { name: 'webgpu' }) as ort.InferenceSession.ExecutionProviderConfig] : undefined;
    // without lp nodes: onnxruntime-web as asked, on lp-onnx's device for WebGPU, on wasm when there is none
    if (lpNodes === 0) return whole('onnxruntime-web', webgpu ?? (gpuExecutionProvider(options.executionProviders) ? ['wasm'] : options.executionProviders));
    if (!ctx || !webgpu) return whole('wasm-bodies', ['wasm']);
    if (lpKernels === 'bodies') {
      reason = 'lpKernels is "bodies"';
      return whole('webgpu-bodies', webgpu);
    }
    const hybrid = await Hybrid.create(proto, ctx, webgpu, ortOptions, what);
    const session = new InferenceSession('webgpu-fused', undefined, lpNodes, { inputs: hybrid.plan.graphInputs.map((i) => i.name ?? '').filter((n) => !hybrid.initializerInputs.has(n)), outputs: hybrid.plan.graphOutputs });
    session.hybrid = hybrid;
    return session;
  }

  /** Runs the model; outputs on the CPU unless `preferredOutputLocation` said 'gpu-buffer'. */
  run(feeds: Feeds, options?: ort.InferenceSession.RunOptions): Promise<Record<string, ort.Tensor>> {
    const next = this.queue.then(() => {
      if (this.whole) return this.whole.run(feeds, options ?? {});
      if (!this.hybrid) throw new Error('lp-onnx/web: the session has been released');
      return this.hybrid.run(feeds);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  async release(): Promise<void> {
    await this.queue;
    await this.whole?.release();
    await this.hybrid?.release();
    this.whole = undefined;
    this.hybrid = undefined;
  }
}

const refusals = new WeakMap<GPUDevice, Promise<boolean>>();

/**
 * Whether onnxruntime-web, given this device (not its default one), refuses a GPU tensor on it as
 * the input of a session: the one-node model, fed a buffer of the device, tells.
 */
function refusesGpuFeeds(device: GPUDevice): Promise<boolean> {
  let known = refusals.get(device);
  if (!known) {
    known = (async () => {
      const session = await createOrtSession(identityModel(), { executionProviders: [{ name: 'webgpu', device } as ort.InferenceSession.ExecutionProviderConfig], preferredOutputLocation: 'gpu-buffer' });
      const buffer = storageBuffer(device, 1, Float32Array.of(1));
      try {
        const out = await session.run({ x: ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims: [1] }) });
        out.y.dispose();
        return false;
      } catch (e) {
        if (/no data transfer registered/.test((e as Error).message)) return true;
        throw e;
      } finally {
        buffer.destroy();
        await session.release();
      }
    })();
    refusals.set(device, known);
  }
  return known;
}

/**
 * A float16 tensor's data as its bits: onnxruntime-web holds float16 data as a Float16Array (values)
 * where the browser has one, else as a Uint16Array (bits); the same memory either way.
 */
function halfBitsOf(data: unknown): Uint16Array {
  const d = data as ArrayBufferView & { length: number };
  return d instanceof Uint16Array ? d : new Uint16Array(d.buffer, d.byteOffset, d.length);
}

/** Whether a segment's model has a float16 value anywhere (inputs, outputs, weights, a Cast to float16). */
function holdsFloat16(m: ModelProto): boolean {
  const g = m.graph ?? {};
  const half = (t: { type?: { tensor_type?: { elem_type?: number } } }) => t.type?.tensor_type?.elem_type === DataType.FLOAT16;
  return (
    [...(g.input ?? []), ...(g.output ?? []), ...(g.value_info ?? [])].some(half) ||
    (g.initializer ?? []).some((t) => t.data_type === DataType.FLOAT16) ||
    (g.node ?? []).some((n) => (n.attribute ?? []).some((a) => (a.name === 'to' && Number(a.i) === DataType.FLOAT16) || a.t?.data_type === DataType.FLOAT16))
  );
}

/** Replaces the GPU tensors among the feeds with CPU copies. */
async function feedsOnCpu(feeds: Feeds): Promise<void> {
  for (const [name, t] of Object.entries(feeds)) {
    if (t.location === 'gpu-buffer') feeds[name] = new ort.Tensor(t.type, (await t.getData()) as Float32Array, t.dims);
  }
}

/** The partitioned model: onnxruntime-web sessions for segments, WGSL kernels for lp nodes. */
class Hybrid {
  readonly sessions = new Map<Segment, OrtSession>();
  readonly constantBuffers = new Map<string, GPUBuffer>();
  /** graph inputs that have an initializer (fed only to override it) */
  readonly initializerInputs = new Map<string, ort.Tensor>();
  /**
   * Whether segments take their inputs and give their outputs on the CPU: onnxruntime-web places
   * every GPU tensor it is fed or gives on its default device, so from 1.31 on a session on another
   * device (one the caller gave) refuses GPU inputs and cannot bind GPU outputs (refusesGpuFeeds).
   */
  private feedsViaCpu = false;
  /**
   * Segments with float16 tensors on a device without the shader-f16 feature: onnxruntime-web's
   * WebGPU provider cannot run them ("requires f16 but the device does not support it"), so they
   * run on wasm, their tensors on the CPU (the WGSL kernels take float16 on every device).
   */
  readonly wasmSegments = new Set<Segment>();

  private constructor(
    readonly plan: Plan,
    readonly ctx: WebGpuContext,
    private readonly outputLocation: ort.InferenceSession.SessionOptions['preferredOutputLocation'],
    readonly what: string,
  ) {}

  static async create(model: ModelProto, ctx: WebGpuContext, webgpu: ort.InferenceSession.ExecutionProviderConfig[], options: ort.InferenceSession.SessionOptions, what: string): Promise<Hybrid> {
    const plan = planModel(model, what);
    const h = new Hybrid(plan, ctx, options.preferredOutputLocation, what);
    try {
      h.feedsViaCpu = webgpu.some((e) => typeof e !== 'string' && 'device' in e) && (await refusesGpuFeeds(ctx.device));
    } catch (e) {
      throw new ModelError(`${what}: onnxruntime-web cannot run a WebGPU session on the given device: ${(e as Error).message}`);
    }
    const graph = model.graph ?? {};
    const constants = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
    for (const i of plan.graphInputs) {
      const t = constants.get(i.name ?? '');
      if (t) {
        const v = tensorFromProto(t);
        if (v.dtype === 'string') throw new ModelError(`${what}: input '${i.name}' has a string initializer, which lp-onnx/web does not take`);
        h.initializerInputs.set(i.name ?? '', new ort.Tensor(v.dtype as ort.Tensor.Type, v.data as Float32Array, v.dims));
      }
    }
    // the lp nodes' static checks (constant weights included), once
    for (const st of plan.steps) {
      if (st.kind !== 'lp') continue;
      lpOp(st.opType)?.validate(st.attrs as never, {
        node: st.label,
        inputs: st.inputs.map((x) => (x ? plan.types.get(x) : undefined)),
        constants: st.inputs.map((x) => plan.constants.get(x)),
        present: st.inputs.map((x) => x !== ''),
      });
    }
    for (const [name, v] of plan.constants) h.constantBuffers.set(name, storageBuffer(ctx.device, v.data.length, Float32Array.from(v.data)));

    const learned = new Map<string, ValueType>();
    const typeOf = (name: string) => plan.types.get(name) ?? learned.get(name);
    for (const st of plan.steps) {
      if (st.kind !== 'segment') continue;
      const sub = segmentModel(model, st, typeOf, plan.graphInputs, what);
      const onWasm = !ctx.device.features.has('shader-f16') && holdsFloat16(sub);
      if (onWasm) h.wasmSegments.add(st);
      const onCpu = (o: string) => onWasm || h.feedsViaCpu || (plan.graphOutputs.includes(o) && !h.keepOnGpu(o, plan));
      const preferredOutputLocation = Object.fromEntries(st.outputs.map((o) => [o, onCpu(o) ? 'cpu' : 'gpu-buffer'])) as Record<string, ort.Tensor.DataLocation>;
      let session: OrtSession;
      try {
        session = await createOrtSession(encodeModel(sub), { ...options, executionProviders: onWasm ? ['wasm'] : webgpu, preferredOutputLocation });
      } catch (e) {
        throw new ModelError(`${what}: stage ${st.stage} (${st.nodes.length} standard nodes) does not load in onnxruntime-web: ${(e as Error).message}`);
      }
      for (const m of session.outputMetadata ?? []) {
        const elemType = m.isTensor ? dtypeCodeOf(m.type) : undefined;
        if (elemType !== undefined && !typeOf(m.name)) learned.set(m.name, { elemType });
      }
      h.sessions.set(st, session);
    }
    return h;
  }

  /** A graph output that a later step reads stays on the GPU; otherwise it goes where the caller asked. */
  private keepOnGpu(name: string, plan: Plan): boolean {
    return this.outputLocation === 'gpu-buffer' || plan.steps.some((s) => s.inputs.includes(name));
  }

  async run(feeds: Feeds): Promise<Record<string, ort.Tensor>> {
    const { plan, what } = this;
    const values = new Map<string, Held>();
    for (const i of plan.graphInputs) {
      const name = i.name ?? '';
      const t = feeds[name] ?? this.initializerInputs.get(name);
      if (!t) throw new ModelError(`${what}: input '${name}' is not given`);
      values.set(name, { tensor: t, owned: false });
    }
    for (const name of Object.keys(feeds)) if (!values.has(name)) throw new ModelError(`${what}: '${name}' is not an input of the model (inputs: ${plan.graphInputs.map((i) => i.name).join(', ')})`);
    try {
      for (const [index, st] of plan.steps.entries()) {
        if (st.kind === 'segment') await this.runSegment(st, values);
        else await this.runLp(st, values);
        for (const [name, held] of values) {
          if (plan.lastUse.get(name) === index && held.owned && !plan.graphOutputs.includes(name)) {
            held.tensor.dispose();
            values.delete(name);
          }
        }
      }
      const result: Record<string, ort.Tensor> = {};
      for (const name of plan.graphOutputs) {
        const held = values.get(name);
        if (!held) throw new ModelError(`${what}: output '${name}' was not computed`);
        let t = held.tensor;
        if (this.outputLocation !== 'gpu-buffer' && t.location === 'gpu-buffer') {
          const data = await t.getData();
          t.dispose();
          t = new ort.Tensor(t.type, data as Float32Array, t.dims);
        }
        values.delete(name);
        result[name] = t;
      }
      return result;
    } finally {
      for (const held of values.values()) if (held.owned) held.tensor.dispose();
    }
  }

  private async runSegment(st: Segment, values: Map<string, Held>): Promise<void> {
    const session = this.sessions.get(st) as OrtSession;
    const feeds: Feeds = {};
    for (const name of st.inputs) feeds[name] = (values.get(name) as Held).tensor;
    let out: Record<string, ort.Tensor>;
    try {
      if (this.feedsViaCpu || this.wasmSegments.has(st)) await feedsOnCpu(feeds);
      out = await session.run(feeds);
    } catch (e) {
      throw new ModelError(`${this.what}: stage ${st.stage}: ${(e as Error).message}`);
    }
    for (const name of st.outputs) values.set(name, { tensor: out[name], owned: true });
  }

  private async runLp(st: LpStep, values: Map<string, Held>): Promise<void> {
    const { device } = this.ctx;
    const op = lpOp(st.opType);
    if (!op) throw new ModelError(`${this.what}: node '${st.label}': unknown op '${st.opType}'`);
    const dims: (readonly number[] | undefined)[] = [];
    const types: (ValueType | undefined)[] = [];
    const runtime: (NdArray | undefined)[] = [];
    const buffers: (GPUBuffer | undefined)[] = [];
    const uploads: GPUBuffer[] = [];
    // float16 inputs: converted to f32 on the GPU, in the node's command encoder, before its kernel
    const enc = device.createCommandEncoder();
    const conversions: GPUBuffer[] = [];
    for (const [k, name] of st.inputs.entries()) {
      if (!name) {
        dims.push(undefined);
        types.push(undefined);
        runtime.push(undefined);
        buffers.push(undefined);
        continue;
      }
      const c = this.plan.constants.get(name);
      if (c) {
        dims.push(c.dims);
        // a float16 constant's values (float16 ones) are uploaded as f32 at session creation
        types.push({ elemType: this.plan.types.get(name)?.elemType ?? DataType.FLOAT, shape: c.dims });
        runtime.push(undefined);
        buffers.push(this.constantBuffers.get(name));
        continue;
      }
      const t = (values.get(name) as Held).tensor;
      dims.push(t.dims);
      types.push({ elemType: dtypeCodeOf(t.type) ?? 0, shape: [...t.dims] });
      if (t.type === 'float16') {
        const n = t.dims.reduce((a, b) => a * b, 1);
        let src: GPUBuffer;
        let bits: Uint16Array | undefined;
        if (t.location === 'gpu-buffer') src = t.gpuBuffer as GPUBuffer;
        else {
          bits = halfBitsOf(t.data);
          src = halfBuffer(device, n, bits);
          uploads.push(src);
        }
        if (k === 0 && readsHalfX(st.opType)) buffers.push(src); // X: read as float16 by the kernel itself
        else {
          const dst = storageBuffer(device, n);
          uploads.push(dst);
          conversions.push(await encodeConversion(this.ctx, enc, 'float32', n, src, dst));
          buffers.push(dst);
        }
        const values = k > 0 ? (bits ?? halfBitsOf(await t.getData())) : undefined;
        runtime.push(values ? { dims: [...t.dims], data: Float64Array.from(values, halfToFloat) } : undefined);
        continue;
      }
      if (t.type !== 'float32') {
        runtime.push(undefined);
        buffers.push(undefined);
        continue;
      }
      // weights and exponents fed at run time are checked like constant ones (they are small)
      const needsValues = k > 0;
      if (t.location === 'gpu-buffer') {
        buffers.push(t.gpuBuffer as GPUBuffer);
        runtime.push(needsValues ? { dims: [...t.dims], data: Float64Array.from((await t.getData()) as Float32Array) } : undefined);
      } else {
        const data = t.data as Float32Array;
        const buf = storageBuffer(device, data.length, data);
        uploads.push(buf);
        buffers.push(buf);
        runtime.push(needsValues ? { dims: [...t.dims], data: Float64Array.from(data) } : undefined);
      }
    }
    const release = () => {
      for (const b of [...uploads, ...conversions]) b.destroy();
    };
    try {
      op.validate(st.attrs as never, { node: st.label, inputs: types, constants: runtime, present: st.inputs.map((x) => x !== '') });
    } catch (e) {
      release();
      throw new ModelError(`${this.what}: ${(e as Error).message}`);
    }
    const { prog, outDims } = lpProgram(st.opType, st.attrs, dims, st.label, this.ctx.maxGroups, types[0]?.elemType === DataType.FLOAT16 && readsHalfX(st.opType));
    try {
      await compileProgram(this.ctx, prog);
    } catch (e) {
      release();
      throw new ModelError(`${this.what}: node '${st.label}': ${(e as Error).message}`);
    }
    const n = outDims.reduce((a, b) => a * b, 1);
    const out = storageBuffer(device, n);
    // Y in the node's T: float16 where X is (ops.md), rounded once on the GPU
    const half = types[0]?.elemType === DataType.FLOAT16;
    const y16 = half ? halfBuffer(device, n) : undefined;
    try {
      conversions.push(encodeProgram(this.ctx, enc, prog, buffers, out));
      if (y16) conversions.push(await encodeConversion(this.ctx, enc, 'float16', n, out, y16));
    } catch (e) {
      release();
      for (const b of [out, y16]) b?.destroy();
      throw new ModelError(`${this.what}: node '${st.label}': ${(e as Error).message}`);
    }
    device.queue.submit([enc.finish()]);
    release();
    if (y16) out.destroy();
    const tensor = y16
      ? ort.Tensor.fromGpuBuffer(y16, { dataType: 'float16', dims: outDims, download: () => readHalfBuffer(device, y16, n) as never, dispose: () => y16.destroy() })
      : ort.Tensor.fromGpuBuffer(out, { dataType: 'float32', dims: outDims, download: () => readBuffer(device, out, n), dispose: () => out.destroy() });
    values.set(st.output, { tensor, owned: true });
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await s.release();
    for (const b of this.constantBuffers.values()) b.destroy();
    this.sessions.clear();
    this.constantBuffers.clear();
  }
}
