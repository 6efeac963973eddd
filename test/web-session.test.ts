// lp-onnx/web in Node: the hybrid session (onnxruntime-web WebGPU segments and WGSL kernels on one
// device, Dawn for Node on lavapipe) against PyTorch and the float64 reference; the wasm fallback;
// models without lp nodes; GPU-resident outputs; run-time errors.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adderCnn, lpMlp } from '../scripts/make-examples';
import { buildFromArch } from '../src/export/arch';
import { exportDualPath } from '../src/export/dual-path';
import { readWeights } from '../src/export/weights/index';
import { GraphBuilder } from '../src/graph/builder';
import { encodeModel } from '../src/onnx/codec';
import type { ModelProto } from '../src/onnx/proto';
import { parseNpy } from '../src/runtime/npy';
import { runOrt } from '../src/runtime/ort';
import { runReference } from '../src/runtime/reference';
import * as web from '../src/runtime/web/index';
import { planModel } from '../src/runtime/web/partition';
import { lpOp } from '../ops/index';
import { lpProgram, nodeWebGpu, runLpOpWebGpu, runProgram, webgpuImportFailure } from '../src/runtime/webgpu';
import { compareArrays, TOL } from './helpers/compare';

const TORCH = join(__dirname, '..', 'fixtures', 'torch');
const TORCH_MODELS = readdirSync(TORCH).filter((d) => existsSync(join(TORCH, d, 'arch.json')));
const VS_TORCH = { atol: 1e-5, rtol: 1e-4 };

/** LpNorm's attributes as ops/ resolves them for a node that sets none (p = 2). */
const lpNormDefaults = () => lpOp('LpNorm')?.parse([], 'n') as Record<string, unknown>;
const wave = (n: number, f = 0.37) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f));
const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** L1Conv -> Relu -> LpPool (per-channel p) -> LpNorm straight after it (two lp nodes in a row), the Relu also a graph output. */
function chain(): ModelProto {
  const b = new GraphBuilder({ name: 'chain', opset: 18 });
  const x = b.input('x', 'float32', ['N', 4, 9, 9]);
  const w = b.initializer('conv.w', wave(6 * 4 * 9, 0.11), [6, 4, 3, 3]);
  const h = b.l1Conv(x, w, b.initializer('conv.b', wave(6, 0.5), [6]), { pads: [1, 1, 1, 1] }, 'conv').relu();
  b.output(h, 'features');
  const pooled = b.lpPool(h, b.initializer('pool.p', [1.5, 2, 3, 4, 2.5, 6], [6]), { global: 1, mean: 1 }, 'pool');
  const flat = pooled.flatten();
  const head = b.lpNorm(flat, b.initializer('head.w', Float32Array.from(wave(5 * 6), Math.abs), [5, 6]), b.initializer('head.p', [3], [1]), {}, 'head');
  b.output(b.op('Softmax', [b.lpNorm(head, b.initializer('head2.w', Float32Array.from(wave(3 * 5, 0.7), Math.abs), [3, 5]), undefined, { p: 1.5 }, 'head2')], { axis: -1 }), 'probs');
  return exportDualPath(b.build(), { what: 'chain' }).model;
}

let unavailable: string | undefined;
beforeAll(async () => {
  web.env.wasm.numThreads = 1;
  unavailable = (await nodeWebGpu()).reason;
  if (unavailable) console.warn(`lp-onnx/web: WebGPU rows skip: ${unavailable}`);
}, 60000);

async function runWeb(model: ModelProto | Uint8Array, feeds: Record<string, Float32Array>, dims: Record<string, number[]>, options: web.SessionOptions = {}) {
  const session = await web.InferenceSession.create(model instanceof Uint8Array ? model : encodeModel(model), options);
  try {
    const input = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new web.Tensor('float32', v, dims[k])]));
    const out = await session.run(input);
    return { session, out };
  } finally {
    await session.release();
  }
}

describe('partitioning', () => {
  test('stages: standard nodes before an lp node share a segment; lp nodes in a row share none', () => {
    const plan = planModel(chain(), 'chain');
    const kinds = plan.steps.map((s) => (s.kind === 'lp' ? s.opType : `segment(${s.nodes.map((n) => n.op_type).join(',')})`));
    // (the builder names graph outputs with an Identity)
    expect(kinds).toEqual(['L1Conv', 'segment(Relu,Identity)', 'LpPool', 'segment(Flatten)', 'LpNorm', 'LpNorm', 'segment(Softmax,Identity)']);
    const relu = plan.steps[1];
    // the Relu goes on to LpPool and, through its Identity, out of the graph
    expect(relu.kind === 'segment' && relu.outputs.length).toBe(2);
    expect(relu.kind === 'segment' && relu.outputs).toContain('features');
    expect(plan.graphOutputs).toEqual(['features', 'probs']);
    // (head2 has no P: the export gives it one, [1.5] from its p, so both LpNorm share one body)
    expect([...plan.constants.keys()].sort()).toEqual(['conv.b', 'conv.w', 'head.p', 'head.w', 'head2.P', 'head2.w', 'pool.p']);
  });

  test('an If whose branches read an outer value: that value is an input of the segment', () => {
    const b = new GraphBuilder({ name: 'if', opset: 18 });
    const x = b.input('x', 'float32', [2, 3]);
    const c = b.input('c', 'bool', []);
    const y = b.lpNorm(x, b.initializer('w', [1, 1, 1], [1, 3]), undefined, {}, 'norm');
    b.output(y);
    const m = b.build();
    const branch = (op: string) => ({ name: op, node: [{ op_type: op, input: [y.name], output: [`${op}_out`] }], output: [{ name: `${op}_out`, type: { tensor_type: { elem_type: 1 } } }] });
    m.graph?.node?.push({
      op_type: 'If',
      input: [c.name],
      output: ['z'],
      attribute: [
        { name: 'then_branch', type: 5, g: branch('Neg') },
        { name: 'else_branch', type: 5, g: branch('Abs') },
      ],
    });
    m.graph?.output?.splice(0, 1, { name: 'z', type: { tensor_type: { elem_type: 1 } } });
    const plan = planModel(m, 'if');
    const seg = plan.steps.find((s) => s.kind === 'segment');
    expect(seg?.kind === 'segment' && seg.inputs.sort()).toEqual(['c', y.name].sort());
  });
});

describe('lp-onnx/web on WebGPU (Dawn for Node)', () => {
  const skip = () => {
    if (unavailable) console.warn(`skipped: ${unavailable}`);
    return unavailable !== undefined;
  };

  test.each(TORCH_MODELS)('%s: fused kernels and onnxruntime-web WebGPU segments match PyTorch', async (name) => {
    if (skip()) return;
    const spec = JSON.parse(readFileSync(join(TORCH, name, 'arch.json'), 'utf8'));
    const { model } = exportDualPath(buildFromArch(spec, readWeights(join(TORCH, name, 'weights.safetensors')), { what: `${name}/arch.json`, weightsWhat: 'weights.safetensors' }), { what: name });
    const x = parseNpy(new Uint8Array(readFileSync(join(TORCH, name, 'input.npy'))), 'input.npy');
    const want = parseNpy(new Uint8Array(readFileSync(join(TORCH, name, 'output.npy'))), 'output.npy');
    const input = model.graph?.input?.[0].name as string;
    const { session, out } = await runWeb(model, { [input]: x.data as Float32Array }, { [input]: x.dims });
    const lpNodes = (model.graph?.node ?? []).filter((n) => n.domain === 'com.lponnx').length;
    expect(session.lpNodes).toBe(lpNodes);
    expect(session.mode).toBe(lpNodes > 0 ? 'webgpu-fused' : 'onnxruntime-web');
    expect(session.reason).toBeUndefined();
    const y = out[session.outputNames[0]];
    compareArrays(`${name} through lp-onnx/web`, { dims: y.dims, data: y.data as Float32Array }, { dims: want.dims, data: want.data as Float32Array }, VS_TORCH);
  }, 120000);

  test.each([
    ['adder-cnn', () => exportDualPath(adderCnn().build()).model, { image: [2, 3, 32, 32] }],
    ['lp-mlp', () => exportDualPath(lpMlp().build()).model, { x: [3, 64] }],
    ['chain (two outputs, lp nodes in a row)', chain, { x: [2, 4, 9, 9] }],
  ] as [string, () => ModelProto, Record<string, number[]>][])('%s: every output against the reference', async (_name, make, dims) => {
    if (skip()) return;
    const model = make();
    const feeds = Object.fromEntries(Object.entries(dims).map(([k, d]) => [k, wave(size(d))]));
    const { session, out } = await runWeb(model, feeds, dims);
    expect(session.mode).toBe('webgpu-fused');
    const want = runReference(model, Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { dims: dims[k], data: Float64Array.from(v) }])));
    expect(Object.keys(out).sort()).toEqual(Object.keys(want).sort());
    for (const [k, w] of Object.entries(want)) {
      expect(out[k].location).toBe('cpu');
      compareArrays(`${_name}: ${k}`, { dims: out[k].dims, data: out[k].data as Float32Array }, w, TOL.kernel);
    }
  }, 120000);

  test('a model from a file path', async () => {
    if (skip()) return;
    const file = join(mkdtempSync(join(tmpdir(), 'lp-onnx-web-')), 'lp-mlp.onnx');
    const model = exportDualPath(lpMlp().build()).model;
    writeFileSync(file, encodeModel(model));
    const session = await web.InferenceSession.create(file);
    const x = wave(3 * 64);
    const out = await session.run({ x: new web.Tensor('float32', x, [3, 64]) });
    const want = runReference(model, { x: { dims: [3, 64], data: Float64Array.from(x) } });
    compareArrays('lp-mlp from a path', { dims: out.probs.dims, data: out.probs.data as Float32Array }, want.probs, TOL.kernel);
    await session.release();
  }, 120000);

  test("preferredOutputLocation 'gpu-buffer': outputs stay on the GPU and read back right", async () => {
    if (skip()) return;
    const model = chain();
    const session = await web.InferenceSession.create(encodeModel(model), { preferredOutputLocation: 'gpu-buffer' });
    const x = wave(2 * 4 * 81);
    const out = await session.run({ x: new web.Tensor('float32', x, [2, 4, 9, 9]) });
    const want = runReference(model, { x: { dims: [2, 4, 9, 9], data: Float64Array.from(x) } });
    for (const k of ['features', 'probs']) {
      expect(out[k].location).toBe('gpu-buffer');
      expect(out[k].gpuBuffer).toBeDefined();
      compareArrays(k, { dims: out[k].dims, data: (await out[k].getData()) as Float32Array }, want[k], TOL.kernel);
      out[k].dispose();
    }
    // a GPU tensor from the session fed back in: the model's input never leaves the device
    const buf = session.device?.createBuffer({ size: x.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST }) as GPUBuffer;
    session.device?.queue.writeBuffer(buf, 0, x);
    const again = await session.run({ x: web.Tensor.fromGpuBuffer(buf, { dataType: 'float32', dims: [2, 4, 9, 9] }) });
    compareArrays('probs from a GPU input', { dims: again.probs.dims, data: (await again.probs.getData()) as Float32Array }, want.probs, TOL.kernel);
    buf.destroy();
    await session.release();
  }, 120000);

  test("a device of the caller's (not onnxruntime-web's own): the session runs on it and matches the reference", async () => {
    if (skip()) return;
    const model = chain();
    const { ctx } = await nodeWebGpu();
    const device = ctx?.device as GPUDevice;
    const x = wave(2 * 4 * 81, 0.4);
    const want = runReference(model, { x: { dims: [2, 4, 9, 9], data: Float64Array.from(x) } });
    const session = await web.InferenceSession.create(encodeModel(model), { device });
    expect(session.mode).toBe('webgpu-fused');
    expect(session.device).toBe(device);
    expect(device).not.toBe(await web.env.webgpu.device);
    for (let round = 0; round < 2; round++) {
      const out = await session.run({ x: new web.Tensor('float32', x, [2, 4, 9, 9]) });
      compareArrays(`probs, run ${round}`, { dims: out.probs.dims, data: out.probs.data as Float32Array }, want.probs, TOL.kernel);
    }
    await session.release();
  }, 120000);

  test("lpKernels 'bodies': the function bodies on onnxruntime-web WebGPU, one session", async () => {
    if (skip()) return;
    const model = chain();
    const x = wave(2 * 4 * 81);
    const { session, out } = await runWeb(model, { x }, { x: [2, 4, 9, 9] }, { lpKernels: 'bodies' });
    expect(session.mode).toBe('webgpu-bodies');
    expect(session.segments).toBe(1);
    const want = runReference(model, { x: { dims: [2, 4, 9, 9], data: Float64Array.from(x) } });
    compareArrays('probs', { dims: out.probs.dims, data: out.probs.data as Float32Array }, want.probs, TOL.body);
  }, 120000);

  test('concurrent runs on one session give each its own answer', async () => {
    if (skip()) return;
    const model = chain();
    const session = await web.InferenceSession.create(encodeModel(model));
    const xs = [0.3, 0.5, 0.7, 0.9].map((f) => wave(4 * 81, f));
    const outs = await Promise.all(xs.map((x) => session.run({ x: new web.Tensor('float32', x, [1, 4, 9, 9]) })));
    outs.forEach((o, i) => {
      const want = runReference(model, { x: { dims: [1, 4, 9, 9], data: Float64Array.from(xs[i]) } });
      compareArrays(`run ${i}`, { dims: o.probs.dims, data: o.probs.data as Float32Array }, want.probs, TOL.kernel);
    });
    await session.release();
  }, 120000);

  test('run-time errors name the node and what was expected; the session stays usable', async () => {
    if (skip()) return;
    const b = new GraphBuilder({ name: 'fed', opset: 18 });
    const x = b.input('x', 'float32', ['B', 4]);
    const w = b.input('W', 'float32', [3, 4]);
    b.output(b.lpNorm(x, w, undefined, { p: 3 }, 'unit'), 'y');
    const session = await web.InferenceSession.create(encodeModel(exportDualPath(b.build()).model));
    expect(session.mode).toBe('webgpu-fused');
    const good = Float32Array.from([1, 2, 3, 4, 0, 1, 0, 1, 2, 2, 2, 2]);
    const t = (data: Float32Array, dims: number[]) => new web.Tensor('float32', data, dims);
    const bad = Float32Array.from(good);
    bad[5] = -1;
    await expect(session.run({ x: t(wave(8), [2, 4]), W: t(bad, [3, 4]) })).rejects.toThrow("LpNorm node 'unit': W[1,1] = -1 is negative; weights must be >= 0");
    await expect(session.run({ x: t(wave(10), [2, 5]), W: t(good, [3, 4]) })).rejects.toThrow("model: LpNorm node 'unit': K of X (5) does not equal K of W (4)");
    await expect(session.run({ x: t(wave(8), [2, 4]) })).rejects.toThrow("model: input 'W' is not given");
    await expect(session.run({ x: t(wave(8), [2, 4]), W: t(good, [3, 4]), z: t(good, [3, 4]) })).rejects.toThrow("'z' is not an input of the model");
    const { out } = { out: await session.run({ x: t(wave(8), [2, 4]), W: t(good, [3, 4]) }) };
    const want = runReference(exportDualPath(b.build()).model, { x: { dims: [2, 4], data: Float64Array.from(wave(8)) }, W: { dims: [3, 4], data: Float64Array.from(good) } });
    compareArrays('after errors', { dims: out.y.dims, data: out.y.data as Float32Array }, want.y, TOL.kernel);
    await session.release();
  }, 120000);

  test('a bad model is refused at creation with the node named', async () => {
    if (skip()) return;
    const bytes = new Uint8Array(readFileSync(join(__dirname, '..', 'fixtures', 'models', 'bad-negative-weight.onnx')));
    await expect(web.InferenceSession.create(bytes)).rejects.toThrow("LpNorm node 'lp': W[1,2] = -0.25 is negative; weights must be >= 0");
    await expect(web.InferenceSession.create(bytes.subarray(0, 40))).rejects.toThrow('model: not a valid ONNX ModelProto: the file is truncated or corrupt');
    await expect(web.InferenceSession.create(bytes, { lpKernels: 'fast' as never })).rejects.toThrow("lpKernels 'fast' is not 'fused' or 'bodies'");
    await expect(web.InferenceSession.create(join(__dirname, 'no-such-model.onnx'))).rejects.toThrow(`${join(__dirname, 'no-such-model.onnx')}: no such file`);
  });
});

describe('without WebGPU and without lp nodes', () => {
  test("executionProviders ['wasm']: function bodies on wasm, and the session says why", async () => {
    const model = chain();
    const x = wave(2 * 4 * 81);
    const { session, out } = await runWeb(model, { x }, { x: [2, 4, 9, 9] }, { executionProviders: ['wasm'] });
    expect(session.mode).toBe('wasm-bodies');
    expect(session.reason).toBe('the executionProviders do not include webgpu');
    const want = runReference(model, { x: { dims: [2, 4, 9, 9], data: Float64Array.from(x) } });
    for (const k of ['features', 'probs']) compareArrays(k, { dims: out[k].dims, data: out[k].data as Float32Array }, want[k], TOL.body);
  }, 120000);

  test('a model without lp nodes passes straight to onnxruntime-web: bit-identical outputs', async () => {
    const b = new GraphBuilder({ name: 'plain', opset: 18 });
    const x = b.input('x', 'float32', [2, 8]);
    b.output(x.matmul(b.initializer('w', wave(8 * 4), [8, 4])).relu().softmax(), 'y');
    const bytes = encodeModel(b.build());
    const xs = wave(16);
    const { session, out } = await runWeb(bytes, { x: xs }, { x: [2, 8] }, { executionProviders: ['wasm'] });
    expect(session.mode).toBe('onnxruntime-web');
    expect(session.reason).toBe('the executionProviders do not include webgpu');
    expect(session.lpNodes).toBe(0);
    const want = await runOrt('ort-web', bytes, { x: { dtype: 'float32', dims: [2, 8], data: xs } });
    expect(Array.from(out.y.data as Float32Array)).toEqual(Array.from(want.y.data as Float32Array));
  }, 120000);
});

describe('WGSL dispatch split over two dimensions', () => {
  // A device's limit is 65535 workgroups per dimension or more; the same split is forced here with a
  // limit of 7, so that every program runs on a y-split grid whose last row is partly surplus.
  const cases: [string, string, Record<string, unknown>, number[][]][] = [
    ['LpPool', 'LpPool', { kernel_shape: [3, 3], strides: [1, 2], p: 3 }, [[2, 3, 20, 21]]],
    ['LpNorm (tiles of 16 rows x 64 units)', 'LpNorm', { p: 2.5 }, [[150, 40], [130, 40]]],
    ['L1Conv', 'L1Conv', { pads: [1, 1, 1, 1] }, [[1, 4, 15, 17], [5, 4, 3, 3]]],
  ];
  test.each(cases)('%s matches the reference', async (_name, opType, attrs, dims) => {
    const { ctx, reason } = await nodeWebGpu();
    if (!ctx) {
      console.warn(`skipped: ${reason}`);
      return;
    }
    const op = lpOp(opType);
    if (!op) throw new Error(opType);
    const parsed = op.parse(
      Object.entries(attrs).map(([name, v]) => (Array.isArray(v) ? { name, type: 7, ints: v } : { name, type: 1, f: v as number })),
      'split',
    ) as Record<string, unknown>;
    const inputs = dims.map((d, i) => ({ dims: d, data: Float64Array.from(i === 0 ? wave(size(d), 0.013) : wave(size(d), 0.7).map(Math.abs)) }));
    const small = { ...ctx, maxGroups: 7 };
    const { prog } = lpProgram(opType, parsed, dims, 'split', 7);
    expect(prog.dispatch[1]).toBeGreaterThan(1);
    const got = await runLpOpWebGpu(small, opType, parsed, inputs, 'split');
    compareArrays(_name, got, op.reference(parsed as never, inputs, 'split'), TOL.kernel);
  }, 60000);
});

test("a tensor larger than the device's maxStorageBufferBindingSize is one clear error", async () => {
  const { ctx, reason } = await nodeWebGpu();
  if (!ctx) return console.warn(`skipped: ${reason}`);
  const real = ctx.device;
  // the same device, reporting a 256-byte binding limit
  const device = new Proxy(real, {
    get(target, key) {
      if (key === 'limits') return { maxStorageBufferBindingSize: 256, maxComputeWorkgroupsPerDimension: 65535 };
      const v = Reflect.get(target, key);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const x = { dims: [2, 100], data: Float64Array.from(wave(200)) };
  const w = { dims: [3, 100], data: new Float64Array(300).fill(0.5) };
  await expect(runLpOpWebGpu({ ...ctx, device }, 'LpNorm', lpNormDefaults(), [x, w, undefined], 'big')).rejects.toThrow(
    "LpNorm: a tensor of 800 bytes is larger than this device's maxStorageBufferBindingSize (256 bytes); split the batch",
  );
});

test('a WGSL program that does not compile is one clear error, and the device stays usable', async () => {
  const { ctx, reason } = await nodeWebGpu();
  if (!ctx) return console.warn(`skipped: ${reason}`);
  const broken = { name: 'Broken', cacheKey: 'test/broken', dispatch: [1, 1] as [number, number], uniforms: { u32: [1], f32: [] }, inputs: 0, shaderSource: 'fn main( {' };
  await expect(runProgram(ctx, broken, [], 1)).rejects.toThrow(/^Broken: the WGSL program test\/broken does not compile on this device: /);
  const x = { dims: [2, 3], data: Float64Array.from([1, 2, 3, 4, 5, 6]) };
  const w = { dims: [1, 3], data: Float64Array.from([1, 1, 1]) };
  const attrs = lpNormDefaults(); // p = 2
  const y = await runLpOpWebGpu(ctx, 'LpNorm', attrs, [x, w, undefined], 'after');
  compareArrays('after a failed compile', y, { dims: [2, 1], data: Float64Array.from([Math.sqrt(14), Math.sqrt(77)]) }, TOL.kernel);
});

describe('WebGPU in Node from the package', () => {
  test('webgpu is an optional peer of lp-onnx; without it the reason says how to install it', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(pkg.peerDependencies?.webgpu).toBeDefined();
    expect(pkg.peerDependenciesMeta?.webgpu).toEqual({ optional: true });
    const missing = Object.assign(new Error("Cannot find package 'webgpu' imported from /app/node_modules/lp-onnx/dist/src/runtime/webgpu.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    expect(webgpuImportFailure(missing)).toBe(
      "the webgpu package (Dawn for Node) is not installed: it is an optional peer of lp-onnx; install it with 'npm install webgpu' for WebGPU in Node (browsers need nothing)",
    );
    expect(webgpuImportFailure(new Error('libvulkan.so.1: cannot open shared object file'))).toBe('the webgpu package is not usable here: libvulkan.so.1: cannot open shared object file');
  });

  test('the browser build never includes the webgpu package', () => {
    const bundle = readFileSync(join(__dirname, '..', 'dist', 'web', 'lp-onnx-web.mjs'), 'utf8');
    expect(bundle).not.toMatch(/dawn\.node|require\("webgpu"\)|from"webgpu"/);
  });
});
