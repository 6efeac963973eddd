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
import type { Program } from '../../kernels/webgpu/program';

export interface WebGpuContext {
  device: GPUDevice;
  pipelines: Map<string, GPUComputePipeline>;
  /** the GPU instance the device came from: it must outlive the device (Dawn for Node) */
  gpu?: GPU;
}

// a real dynamic import (TypeScript would turn `import()` into require for CommonJS)
const importModule = new Function('m', 'return import(m)') as (m: string) => Promise<Record<string, unknown>>;

let nodeContext: Promise<{ ctx?: WebGpuContext; reason?: string }> | undefined;

/** A device from the `webgpu` npm package (Node), or why there is none. */
export function nodeWebGpu(): Promise<{ ctx?: WebGpuContext; reason?: string }> {
  nodeContext ??= (async () => {
    try {
      const m = (await importModule('webgpu')) as { create: (o: string[]) => GPU; globals: Record<string, unknown> };
      Object.assign(globalThis, m.globals);
      const gpu = m.create([]);
      const adapter = await gpu.requestAdapter();
      if (!adapter) return { reason: 'the webgpu package found no adapter (Mesa lavapipe from bookworm-backports provides one without a GPU)' };
      const device = await adapter.requestDevice();
      return { ctx: { device, pipelines: new Map(), gpu } };
    } catch (e) {
      return { reason: `the webgpu package is not usable here: ${(e as Error).message}` };
    }
  })();
  return nodeContext;
}

function storage(device: GPUDevice, data: Float32Array | undefined, usage = GPUBufferUsage.STORAGE): GPUBuffer {
  const bytes = Math.max(16, Math.ceil(((data?.length ?? 1) * 4) / 16) * 16);
  const buf = device.createBuffer({ size: bytes, usage: usage | GPUBufferUsage.COPY_DST, mappedAtCreation: true });
  if (data) new Float32Array(buf.getMappedRange()).set(data);
  buf.unmap();
  return buf;
}

/** Runs a program: inputs in binding order (undefined: an absent optional input), `outputs` floats back. */
export async function runProgram(ctx: WebGpuContext, prog: Program, inputs: (Float32Array | undefined)[], outputs: number): Promise<Float32Array> {
  const { device } = ctx;
  let pipeline = ctx.pipelines.get(prog.cacheKey);
  if (!pipeline) {
    // (no error scope: the webgpu package's popErrorScope does not resolve; the case tables compile every program)
    pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: prog.shaderSource }), entryPoint: 'main' } });
    ctx.pipelines.set(prog.cacheKey, pipeline);
  }
  const words = new ArrayBuffer(Math.max(16, Math.ceil(((prog.uniforms.u32.length + prog.uniforms.f32.length) * 4) / 16) * 16));
  new Uint32Array(words).set(prog.uniforms.u32);
  new Float32Array(words, prog.uniforms.u32.length * 4).set(prog.uniforms.f32);
  const uniform = device.createBuffer({ size: words.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(uniform, 0, words);
  const ins = inputs.map((d) => storage(device, d));
  const out = storage(device, new Float32Array(Math.max(outputs, 1)), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
  const read = device.createBuffer({ size: out.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [uniform, ...ins, out].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(prog.dispatch[0], prog.dispatch[1]);
  pass.end();
  enc.copyBufferToBuffer(out, 0, read, 0, out.size);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const result = new Float32Array(read.getMappedRange().slice(0, outputs * 4));
  read.unmap();
  for (const b of [uniform, ...ins, out, read]) b.destroy();
  return result;
}

const f32 = (t: NdArray | undefined) => (t ? Float32Array.from(t.data) : undefined);

/** One lp op on the WGSL kernels: the same checks as the other backends, geometry resolved here. */
export async function runLpOpWebGpu(ctx: WebGpuContext, opType: string, attrs: Record<string, unknown>, inputs: (NdArray | undefined)[], node: string): Promise<NdArray> {
  const op = lpOp(opType);
  if (!op) throw new LpOpError(opType, node, `unknown op '${opType}'`);
  op.validate(attrs as never, { node, inputs: inputs.map((t) => (t ? { elemType: 1, shape: t.dims } : undefined)), constants: inputs, present: inputs.map((t) => t !== undefined) });
  const [X, A1, A2] = inputs;
  const x = X as NdArray;
  if (opType === 'LpNorm') {
    const W = A1 as NdArray;
    const k = x.dims[x.dims.length - 1];
    const m = W.dims[0];
    const rows = x.data.length / k;
    const prog = lpNormProgram({ rows, k, m, pLength: A2 ? A2.data.length : 0 }, attrs as unknown as LpNormAttrs);
    return { dims: [...x.dims.slice(0, -1), m], data: Float64Array.from(await runProgram(ctx, prog, [f32(x), f32(W), f32(A2)], rows * m)) };
  }
  const spatial = x.dims.slice(2);
  if (opType === 'LpPool') {
    const axes = lpPoolAxes(attrs as unknown as LpPoolAttrs, spatial, node);
    const planes = x.dims[0] * x.dims[1];
    const prog = lpPoolProgram(planes, x.dims[1], axes, A1 ? A1.data.length : 0, attrs as unknown as LpPoolAttrs);
    const out = planes * axes.reduce((n, g) => n * g.output, 1);
    return { dims: [x.dims[0], x.dims[1], ...axes.map((g) => g.output)], data: Float64Array.from(await runProgram(ctx, prog, [f32(x), f32(A1)], out)) };
  }
  const W = A1 as NdArray;
  const la = attrs as unknown as L1ConvAttrs;
  const axes = l1ConvAxes(la, W.dims, spatial, node);
  const [n, cin] = x.dims;
  const cout = W.dims[0];
  const prog = l1ConvProgram(n, cin, cout, la.group, axes, A2 !== undefined);
  const out = n * cout * axes.reduce((k, g) => k * g.output, 1);
  return { dims: [n, cout, ...axes.map((g) => g.output)], data: Float64Array.from(await runProgram(ctx, prog, [f32(x), f32(W), f32(A2)], out)) };
}
