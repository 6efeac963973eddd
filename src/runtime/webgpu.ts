// The WGSL kernels (kernels/webgpu) on a GPUDevice: pipelines cached by program key, inputs and
// outputs through storage buffers. In Node the device comes from the `webgpu` package (Dawn; Mesa's
// lavapipe without a GPU); in a browser from navigator.gpu.
import { LpOpError } from '../../ops/attributes';
import { lpOp } from '../../ops/index';
import type { LpNormAttrs } from '../../ops/lp-norm';
import { type L1ConvAttrs, l1ConvAxes } from '../../ops/l1-conv';
import { type LpPoolAttrs, lpPoolAxes } from '../../ops/lp-pool';
import type { NdArray } from '../../ops/types';
import { l1ConvProgram } from '../../kernels/webgpu/l1-conv';
import { lpNormProgram } from '../../kernels/webgpu/lp-norm';
import { lpPoolProgram } from '../../kernels/webgpu/lp-pool';
import { floatToHalfProgram, halfToFloatProgram } from '../../kernels/webgpu/half';
import { MAX_GROUPS, type Program, splitDispatch } from '../../kernels/webgpu/program';
import { floatToHalf, halfToFloat } from '../onnx/tensor';

export interface WebGpuContext {
  device: GPUDevice;
  pipelines: Map<string, GPUComputePipeline>;
  /** the GPU instance the device came from: it must outlive the device (Dawn for Node) */
  gpu?: GPU;
  /** bound in place of an absent optional input */
  dummy?: GPUBuffer;
  /** the device's maxComputeWorkgroupsPerDimension (default: WebGPU's guaranteed 65535) */
  maxGroups?: number;
}

/** A real dynamic import, hidden from TypeScript (which would make it a require) and from bundlers. */
export const importModule = new Function('m', 'return import(m)') as (m: string) => Promise<Record<string, unknown>>;

/** Whether this is Node (the `webgpu` package and the file system), not a browser. */
export const isNode = (): boolean => typeof process !== 'undefined' && !!process.versions?.node;

let nodeGpu: Promise<{ gpu?: GPU; reason?: string }> | undefined;
let nodeContext: Promise<{ ctx?: WebGpuContext; reason?: string }> | undefined;

/**
 * onnxruntime-web's wasm heap is a SharedArrayBuffer, and it writes to GPU buffers straight from
 * views of it; the webgpu package's writeBuffer rejects shared views ("Invalid argument"), so
 * those are copied first. (Browsers take them as they are.)
 */
export function shareWithWasm(device: GPUDevice): void {
  const queue = Object.getPrototypeOf(device.queue) as GPUQueue & { lpOnnxPatched?: boolean };
  if (queue.lpOnnxPatched) return;
  const write = queue.writeBuffer;
  queue.writeBuffer = function (this: GPUQueue, buffer: GPUBuffer, offset: number, data: ArrayBufferView | ArrayBuffer, dataOffset = 0, size?: number) {
    if (ArrayBuffer.isView(data) && Object.prototype.toString.call(data.buffer) === '[object SharedArrayBuffer]') {
      const unit = (data as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
      const count = size ?? data.byteLength / unit - dataOffset;
      const copy = new Uint8Array(data.buffer, data.byteOffset + dataOffset * unit, count * unit).slice();
      return write.call(this, buffer, offset, copy, 0, copy.length);
    }
    return write.call(this, buffer, offset, data, dataOffset, size);
  } as GPUQueue['writeBuffer'];
  queue.lpOnnxPatched = true;
}

/**
 * WebGPU in Node: the `webgpu` package's GPU, set as navigator.gpu (where onnxruntime-web looks
 * for it; Node has no navigator.gpu), or why there is none.
 */
export function nodeNavigatorGpu(): Promise<{ gpu?: GPU; reason?: string }> {
  nodeGpu ??= (async () => {
    try {
      const m = (await importModule('webgpu')) as { create: (o: string[]) => GPU; globals: Record<string, unknown> };
      Object.assign(globalThis, m.globals);
      const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: GPU };
      if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: m.create([]), configurable: true });
      return { gpu: nav.gpu };
    } catch (e) {
      return { reason: webgpuImportFailure(e) };
    }
  })();
  return nodeGpu;
}

/** A device of its own from the `webgpu` npm package (Node), or why there is none. */
export function nodeWebGpu(): Promise<{ ctx?: WebGpuContext; reason?: string }> {
  nodeContext ??= (async () => {
    const { gpu, reason } = await nodeNavigatorGpu();
    if (!gpu) return { reason };
    try {
      const adapter = await gpu.requestAdapter();
      if (!adapter) return { reason: NO_ADAPTER };
      const device = await adapter.requestDevice();
      shareWithWasm(device);
      return { ctx: { device, pipelines: new Map(), gpu, maxGroups: device.limits.maxComputeWorkgroupsPerDimension } };
    } catch (e) {
      return { reason: `the webgpu package gave no device: ${(e as Error).message}` };
    }
  })();
  return nodeContext;
}

/** Why Node has no WebGPU adapter. */
export const NO_ADAPTER = 'the webgpu package found no adapter (Mesa lavapipe from bookworm-backports provides one without a GPU)';

/**
 * Why the `webgpu` package (Dawn for Node) could not be used. It is an optional peer dependency of
 * lp-onnx (about 130 MB with every platform's Dawn), so a project that wants WebGPU in Node installs it.
 */
export function webgpuImportFailure(e: unknown): string {
  const err = e as { code?: string; message?: string };
  if (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND' || /Cannot find (package|module) 'webgpu'/.test(err?.message ?? '')) {
    return "the webgpu package (Dawn for Node) is not installed: it is an optional peer of lp-onnx; install it with 'npm install webgpu' for WebGPU in Node (browsers need nothing)";
  }
  return `the webgpu package is not usable here: ${err?.message ?? String(e)}`;
}

/**
 * Compiles the program's pipeline once per cache key (createComputePipelineAsync, so that a WGSL
 * or validation error rejects here, as one Error, instead of poisoning later commands).
 */
export async function compileProgram(ctx: WebGpuContext, prog: Program): Promise<void> {
  if (ctx.pipelines.has(prog.cacheKey)) return;
  const { device } = ctx;
  try {
    const module = device.createShaderModule({ code: prog.shaderSource });
    ctx.pipelines.set(prog.cacheKey, await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } }));
  } catch (e) {
    throw new Error(`${prog.name}: the WGSL program ${prog.cacheKey} does not compile on this device: ${(e as Error).message}`);
  }
}

function pipelineFor(ctx: WebGpuContext, prog: Program): GPUComputePipeline {
  const pipeline = ctx.pipelines.get(prog.cacheKey);
  if (!pipeline) throw new Error(`${prog.name}: program ${prog.cacheKey} is not compiled (call compileProgram first)`);
  return pipeline;
}

/** A 16-byte-aligned storage buffer that onnxruntime-web can also take (STORAGE | COPY_SRC | COPY_DST). */
export function storageBuffer(device: GPUDevice, floats: number, data?: Float32Array): GPUBuffer {
  const bytes = Math.max(16, Math.ceil((Math.max(floats, 1) * 4) / 16) * 16);
  const buf = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, mappedAtCreation: data !== undefined });
  if (data) {
    new Float32Array(buf.getMappedRange()).set(data);
    buf.unmap();
  }
  return buf;
}

/**
 * Records the program into `enc`: inputs in binding order (undefined: an absent optional input,
 * bound to `ctx`'s dummy buffer), the output buffer last. Returns the uniform buffer to destroy
 * once the work is submitted.
 */
export function encodeProgram(ctx: WebGpuContext, enc: GPUCommandEncoder, prog: Program, inputs: (GPUBuffer | undefined)[], output: GPUBuffer): GPUBuffer {
  const { device } = ctx;
  const pipeline = pipelineFor(ctx, prog);
  const limit = device.limits.maxStorageBufferBindingSize;
  for (const b of [...inputs, output]) {
    if (b && b.size > limit) {
      throw new Error(`${prog.name}: a tensor of ${b.size} bytes is larger than this device's maxStorageBufferBindingSize (${limit} bytes); split the batch`);
    }
  }
  const words = new ArrayBuffer(Math.max(16, Math.ceil(((prog.uniforms.u32.length + prog.uniforms.f32.length) * 4) / 16) * 16));
  new Uint32Array(words).set(prog.uniforms.u32);
  new Float32Array(words, prog.uniforms.u32.length * 4).set(prog.uniforms.f32);
  const uniform = device.createBuffer({ size: words.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(uniform, 0, words);
  ctx.dummy ??= storageBuffer(device, 4, new Float32Array(4));
  const dummy = ctx.dummy;
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [uniform, ...Array.from({ length: prog.inputs }, (_, i) => inputs[i] ?? dummy), output].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(prog.dispatch[0], prog.dispatch[1]);
  pass.end();
  return uniform;
}

/** A storage buffer of n float16 values, packed two to a u32 word (n / 2 floats' worth). */
export function halfBuffer(device: GPUDevice, n: number, bits?: Uint16Array): GPUBuffer {
  const words = Math.ceil(n / 2);
  if (!bits) return storageBuffer(device, words);
  const packed = new Uint16Array(words * 2);
  packed.set(bits.subarray(0, n));
  return storageBuffer(device, words, new Float32Array(packed.buffer));
}

/**
 * Records the exact conversion of n float16 values (packed, `src`) to f32 (`dst`), or back
 * (rounded once to nearest even); returns the uniform buffer to destroy once submitted.
 */
export async function encodeConversion(ctx: WebGpuContext, enc: GPUCommandEncoder, to: 'float32' | 'float16', n: number, src: GPUBuffer, dst: GPUBuffer): Promise<GPUBuffer> {
  const prog = to === 'float32' ? halfToFloatProgram(n) : floatToHalfProgram(n);
  prog.dispatch = splitDispatch(prog.dispatch[0] * prog.dispatch[1], ctx.maxGroups);
  await compileProgram(ctx, prog);
  return encodeProgram(ctx, enc, prog, [src], dst);
}

/** Copies n float16 values (packed) of a storage buffer back to the CPU, as their bits. */
export async function readHalfBuffer(device: GPUDevice, buf: GPUBuffer, n: number): Promise<Uint16Array> {
  const words = await readBuffer(device, buf, Math.ceil(n / 2));
  return new Uint16Array(words.buffer, words.byteOffset, n).slice();
}

/** Copies `floats` floats of a storage buffer back to the CPU. */
export async function readBuffer(device: GPUDevice, buf: GPUBuffer, floats: number): Promise<Float32Array> {
  const size = Math.max(16, Math.ceil((floats * 4) / 16) * 16);
  const read = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, 0, read, 0, Math.min(size, buf.size));
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const result = new Float32Array(read.getMappedRange().slice(0, floats * 4));
  read.unmap();
  read.destroy();
  return result;
}

/** Runs a program: inputs in binding order (undefined: an absent optional input), `outputs` floats back. */
export async function runProgram(ctx: WebGpuContext, prog: Program, inputs: (Float32Array | undefined)[], outputs: number): Promise<Float32Array> {
  const { device } = ctx;
  await compileProgram(ctx, prog);
  const ins = inputs.map((d) => (d ? storageBuffer(device, d.length, d) : undefined));
  const out = storageBuffer(device, outputs);
  try {
    const enc = device.createCommandEncoder();
    const uniform = encodeProgram(ctx, enc, prog, ins, out);
    device.queue.submit([enc.finish()]);
    uniform.destroy();
    return await readBuffer(device, out, outputs);
  } finally {
    for (const b of [...ins, out]) b?.destroy();
  }
}

/**
 * The WGSL program of one lp node for inputs of these dims (undefined: absent), and its output
 * dims. Inputs must have passed the op's validate().
 */
export function lpProgram(
  opType: string,
  attrs: Record<string, unknown>,
  dims: (readonly number[] | undefined)[],
  node: string,
  maxGroups = MAX_GROUPS,
  halfX = false,
): { prog: Program; outDims: number[] } {
  const r = buildLpProgram(opType, attrs, dims, node, halfX);
  r.prog.dispatch = splitDispatch(r.prog.dispatch[0] * r.prog.dispatch[1], maxGroups);
  return r;
}

function buildLpProgram(opType: string, attrs: Record<string, unknown>, dims: (readonly number[] | undefined)[], node: string, halfX: boolean): { prog: Program; outDims: number[] } {
  const x = dims[0] as readonly number[];
  const size = (d: readonly number[] | undefined) => (d ? d.reduce((a, b) => a * b, 1) : 0);
  if (opType === 'LpNorm') {
    const W = dims[1] as readonly number[];
    const k = x[x.length - 1];
    const m = W[0];
    const rows = size(x.slice(0, -1));
    return { prog: lpNormProgram({ rows, k, m, pLength: size(dims[2]) }, attrs as unknown as LpNormAttrs, halfX), outDims: [...x.slice(0, -1), m] };
  }
  const spatial = x.slice(2);
  if (opType === 'LpPool') {
    const axes = lpPoolAxes(attrs as unknown as LpPoolAttrs, spatial, node);
    const prog = lpPoolProgram(x[0] * x[1], x[1], axes, size(dims[1]), attrs as unknown as LpPoolAttrs, halfX);
    return { prog, outDims: [x[0], x[1], ...axes.map((g) => g.output)] };
  }
  if (opType !== 'L1Conv') throw new LpOpError(opType, node, `unknown op '${opType}'`);
  const W = dims[1] as readonly number[];
  const la = attrs as unknown as L1ConvAttrs;
  const axes = l1ConvAxes(la, [...W], spatial, node);
  const prog = l1ConvProgram(x[0], x[1], W[0], la.group, axes, dims[2] !== undefined, halfX);
  return { prog, outDims: [x[0], W[0], ...axes.map((g) => g.output)] };
}

/**
 * Whether an op's kernel reads a float16 X itself (converting each value as it loads it) rather
 * than after a conversion pass: LpPool reads each value about twice, so converting on load saves
 * a dispatch and half the bytes (bench:web on SwiftShader: windowed LpPool float16 0.66x float32's
 * time); L1Conv reads each value once per tap and output channel, and LpNorm once per unit tile,
 * where a pass first is faster (converting on load: L1Conv 2x slower, LpNorm 1.1 - 1.4x).
 */
export function readsHalfX(opType: string): boolean {
  return opType === 'LpPool';
}

const f32 = (t: NdArray | undefined) => (t ? Float32Array.from(t.data) : undefined);

/**
 * One lp op on the WGSL kernels: the same checks as the other backends, geometry resolved here.
 * `half[i]`: input i is float16 (its values must be float16 values): it goes to the GPU as float16
 * and is converted there; Y is float16 (rounded on the GPU, read back as bits) where X is.
 */
export async function runLpOpWebGpu(
  ctx: WebGpuContext,
  opType: string,
  attrs: Record<string, unknown>,
  inputs: (NdArray | undefined)[],
  node: string,
  half: boolean[] = [],
): Promise<NdArray> {
  const op = lpOp(opType);
  if (!op) throw new LpOpError(opType, node, `unknown op '${opType}'`);
  op.validate(attrs as never, {
    node,
    inputs: inputs.map((t, i) => (t ? { elemType: half[i] ? 10 : 1, shape: t.dims } : undefined)),
    constants: inputs,
    present: inputs.map((t) => t !== undefined),
  });
  const inKernel = !!half[0] && readsHalfX(opType);
  const { prog, outDims } = lpProgram(opType, attrs, inputs.map((t) => t?.dims), node, ctx.maxGroups, inKernel);
  const n = outDims.reduce((a, b) => a * b, 1);
  if (!half.some(Boolean)) return { dims: outDims, data: Float64Array.from(await runProgram(ctx, prog, inputs.map(f32), n)) };
  const { device } = ctx;
  await compileProgram(ctx, prog);
  const owned: GPUBuffer[] = [];
  const keep = <B extends GPUBuffer>(b: B) => (owned.push(b), b);
  try {
    const enc = device.createCommandEncoder();
    const ins: (GPUBuffer | undefined)[] = [];
    for (const [i, t] of inputs.entries()) {
      if (!t) ins.push(undefined);
      else if (!half[i]) ins.push(keep(storageBuffer(device, t.data.length, Float32Array.from(t.data))));
      else if (i === 0 && inKernel) ins.push(keep(halfBuffer(device, t.data.length, Uint16Array.from(t.data, floatToHalf))));
      else {
        const src = keep(halfBuffer(device, t.data.length, Uint16Array.from(t.data, floatToHalf)));
        const dst = keep(storageBuffer(device, t.data.length));
        keep(await encodeConversion(ctx, enc, 'float32', t.data.length, src, dst));
        ins.push(dst);
      }
    }
    const out = keep(storageBuffer(device, n));
    keep(encodeProgram(ctx, enc, prog, ins, out));
    if (!half[0]) {
      device.queue.submit([enc.finish()]);
      return { dims: outDims, data: Float64Array.from(await readBuffer(device, out, n)) };
    }
    const y16 = keep(halfBuffer(device, n));
    keep(await encodeConversion(ctx, enc, 'float16', n, out, y16));
    device.queue.submit([enc.finish()]);
    return { dims: outDims, data: Float64Array.from(await readHalfBuffer(device, y16, n), halfToFloat) };
  } finally {
    for (const b of owned) b.destroy();
  }
}
