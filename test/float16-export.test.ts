// `lp-onnx export --float16` on every PyTorch fixture (the canonical layers' torch.onnx exports and
// arch specs, and the plain exports of third-party layers): the converted model runs on stock
// onnxruntime-node (function bodies), onnxruntime-web wasm, lp-onnx/node (fused kernels) and
// lp-onnx/web, and matches PyTorch.
//
// The oracle is PyTorch in float64 with the weights and the batch rounded to float16 first
// (output-float16.npy, written by the fixture scripts): what the float16 model computes, but for
// the rounding of its float16 activations. Each of those adds up to 2^-11 relative, so a whole
// model's error grows with its depth: the fixtures are held to 3x ops.md's float16 kernel
// tolerance (one op on exact inputs), for every backend.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLOAT, FLOAT16 } from '../ops/common';
import { lpOp } from '../ops/index';
import { buildFromArch } from '../src/export/arch';
import { exportDualPath } from '../src/export/dual-path';
import { float16Constraints, formalParams } from '../src/export/float16';
import { readWeights } from '../src/export/weights/index';
import { GraphBuilder } from '../src/graph/builder';
import { declaredTypes } from '../src/graph/model';
import * as lpNode from '../src/node/index';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import type { ModelProto, NodeProto } from '../src/onnx/proto';
import { floatToHalf, makeTensor, type Tensor, toFloat64 } from '../src/onnx/tensor';
import { parseNpy } from '../src/runtime/npy';
import { runOrt } from '../src/runtime/ort';
import * as web from '../src/runtime/web/index';
import { nodeWebGpu } from '../src/runtime/webgpu';
import { compareArrays, TOL } from './helpers/compare';

const ROOT = join(__dirname, '..', 'fixtures');
const WHOLE_MODEL = TOL.model16;
const npy = (p: string) => parseNpy(new Uint8Array(readFileSync(p)), p);
const decode = (p: string) => decodeModel(new Uint8Array(readFileSync(p)), p);

/** name -> the float32 model as a user hands it to export */
const SOURCES: [string, () => ModelProto, string][] = [];
for (const name of readdirSync(join(ROOT, 'torch-plain'))) {
  const d = join(ROOT, 'torch-plain', name);
  if (name.startsWith('near-') || !existsSync(join(d, 'model.onnx'))) continue;
  SOURCES.push([`torch-plain/${name} (plain export, fused)`, () => decode(join(d, 'model.onnx')), d]);
}
for (const name of readdirSync(join(ROOT, 'torch'))) {
  const d = join(ROOT, 'torch', name);
  if (!existsSync(join(d, 'arch.json'))) continue;
  SOURCES.push([`torch/${name} (torch.onnx)`, () => decode(join(d, 'torch.onnx')), d]);
  SOURCES.push([`torch/${name} (arch spec + weights)`, () => buildFromArch(JSON.parse(readFileSync(join(d, 'arch.json'), 'utf8')), readWeights(join(d, 'weights.safetensors')), { what: name, weightsWhat: 'weights.safetensors' }), d]);
}

let webUnavailable: string | undefined;
beforeAll(async () => {
  web.env.wasm.numThreads = 1;
  webUnavailable = (await nodeWebGpu()).reason;
  if (webUnavailable) console.warn(`lp-onnx/web rows skip: ${webUnavailable}`);
}, 60000);

const asArray = (t: Tensor) => ({ dims: [...t.dims], data: toFloat64(t) });

describe.each(SOURCES)('%s: export --float16', (label, source, dir) => {
  const src = source();
  const { model, report } = exportDualPath(src, { what: label, float16: {} });
  const bytes = encodeModel(model);
  const graph = model.graph ?? {};
  const inputName = (graph.input ?? [])[0]?.name ?? '';
  const outputName = (graph.output ?? [])[0]?.name ?? '';
  const x = npy(join(dir, 'input.npy'));
  const feeds = { [inputName]: makeTensor('float32', x.dims, Float32Array.from(x.data as ArrayLike<number>)) };
  const want = npy(join(dir, 'output-float16.npy'));
  const wantArr = { dims: want.dims, data: want.data as Float64Array };

  test('weights float16 (P kept float), lp nodes float16, standard nodes float16 only where onnxruntime has the kernel, float32 inputs and outputs', () => {
    const types = declaredTypes(graph);
    const p = new Set<string>();
    for (const n of graph.node ?? []) {
      if (n.domain !== 'com.lponnx') continue;
      const op = lpOp(n.op_type ?? '');
      (n.input ?? []).forEach((name, i) => {
        if (op?.inputs[i]?.name === 'P') p.add(name);
        else if (name) expect(`${n.name} ${op?.inputs[i]?.name}: ${types.get(name)?.elemType}`).toBe(`${n.name} ${op?.inputs[i]?.name}: ${FLOAT16}`);
      });
      expect(`${n.name} Y: ${types.get(n.output?.[0] ?? '')?.elemType}`).toBe(`${n.name} Y: ${FLOAT16}`);
    }
    for (const t of graph.initializer ?? []) {
      if (t.data_type !== FLOAT && t.data_type !== FLOAT16) continue;
      expect(`${t.name}: ${t.data_type}`).toBe(`${t.name}: ${p.has(t.name ?? '') ? FLOAT : FLOAT16}`);
    }
    // a standard node that reads a float16 value has a float16 kernel in onnxruntime's CPU provider
    const opset = Number(model.opset_import?.find((o) => !o.domain)?.version);
    for (const n of graph.node ?? []) {
      if (n.domain === 'com.lponnx' || n.op_type === 'Cast') continue;
      const params = formalParams(n.op_type ?? '', opset);
      (n.input ?? []).forEach((name, i) => {
        if (types.get(name)?.elemType !== FLOAT16 && !(graph.initializer ?? []).some((t) => t.name === name && t.data_type === FLOAT16)) return;
        const param = params?.inputs[Math.min(i, (params?.inputs.length ?? 1) - 1)].replace('...', '') ?? '?';
        expect(`${n.op_type} input ${i} (${param}) float16 kernel: ${float16Constraints(n.op_type ?? '', opset).has(param)}`).toBe(`${n.op_type} input ${i} (${param}) float16 kernel: true`);
      });
    }
    expect((graph.input ?? [])[0]?.type?.tensor_type?.elem_type).toBe(FLOAT);
    expect((graph.output ?? [])[0]?.type?.tensor_type?.elem_type).toBe(FLOAT);
    // the weights halve (these models are small: their function bodies and the Casts weigh as much)
    const f16 = report.float16;
    expect(f16?.weights.bytesAfter).toBe((f16?.weights.bytesBefore ?? 0) / 2);
  });

  test('stock onnxruntime-node (function bodies) and onnxruntime-web wasm match PyTorch', async () => {
    compareArrays(`${label} onnxruntime-node`, asArray((await runOrt('ort', bytes, feeds))[outputName]), wantArr, WHOLE_MODEL);
    compareArrays(`${label} onnxruntime-web wasm`, asArray((await runOrt('ort-web', bytes, feeds))[outputName]), wantArr, WHOLE_MODEL);
  });

  test('lp-onnx/node (fused float16 kernels) matches PyTorch', async () => {
    const s = await lpNode.InferenceSession.create(bytes);
    try {
      const out = await s.run({ [inputName]: new lpNode.Tensor('float32', feeds[inputName].data as Float32Array, x.dims) });
      compareArrays(`${label} lp-onnx/node`, { dims: [...out[outputName].dims], data: Float64Array.from(out[outputName].data as Float32Array) }, wantArr, WHOLE_MODEL);
    } finally {
      await s.release();
    }
  });

  // lp-onnx/web: its WGSL kernels with onnxruntime-web WebGPU segments; and with lpKernels
  // 'bodies', the whole model (function bodies included) on onnxruntime-web's WebGPU provider
  test.each(['fused', 'bodies'] as const)('lp-onnx/web (%s) matches PyTorch', async (kernels) => {
    if (webUnavailable) return console.warn(`skipped: ${webUnavailable}`);
    const s = await web.InferenceSession.create(bytes, kernels === 'bodies' ? { lpKernels: 'bodies' } : {});
    try {
      // onnxruntime-web's WebGPU provider runs float16 standard ops only where the device has shader-f16
      if (kernels === 'bodies' && !(s.device as GPUDevice | undefined)?.features.has('shader-f16')) return console.warn('skipped: the WebGPU device has no shader-f16');
      const lpNodes = (graph.node ?? []).filter((n) => n.domain === 'com.lponnx').length;
      expect(s.mode).toBe(lpNodes === 0 ? 'onnxruntime-web' : kernels === 'bodies' ? 'webgpu-bodies' : 'webgpu-fused');
      const out = await s.run({ [inputName]: new web.Tensor('float32', feeds[inputName].data as Float32Array, x.dims) });
      compareArrays(`${label} lp-onnx/web (${s.mode})`, { dims: [...out[outputName].dims], data: Float64Array.from(out[outputName].data as Float32Array) }, wantArr, WHOLE_MODEL);
    } finally {
      await s.release();
    }
  }, 60000);
});

// model.half() exported by torch 2.13's dynamo and TorchScript exporters (fixtures/torch-half, from
// scripts/gen-torch-half.py; Debian's torch 1.13 cannot run, so cannot trace, a float16 model on the
// CPU). Fused as the float32 plain exports are; the oracle is PyTorch in float64 on the float16
// model's values (the plain export itself rounds each float16 activation, as the fused model does).
const HALF = join(ROOT, 'torch-half');
const HALF_MODELS = readdirSync(HALF).filter((d) => existsSync(join(HALF, d, 'model.onnx')));
const DECOMPOSITION = ['Pow', 'ReduceSum', 'ReduceMean', 'AveragePool', 'GlobalAveragePool', 'Sign', 'Clip', 'Abs', 'Sub', 'Neg', 'Gather', 'Range', 'Shape', 'Cast'];

describe.each(HALF_MODELS)('torch-half/%s: a float16 plain export', (name) => {
  const src = decode(join(HALF, name, 'model.onnx'));
  const { model } = exportDualPath(src, { what: name });
  const bytes = encodeModel(model);
  const x = npy(join(HALF, name, 'input.npy'));
  const want = npy(join(HALF, name, 'output.npy'));
  const wantArr = { dims: want.dims, data: want.data as Float64Array };
  const feeds = { x: makeTensor('float16', x.dims, x.data as Uint16Array) };
  const lp = (m: ModelProto) => (m.graph?.node ?? []).filter((n) => n.domain === 'com.lponnx');

  test('fused as its float32 plain export is: the same lp nodes and attributes (to float16 rounding), float16 throughout, no decomposition or Cast left', () => {
    const base = name.split('.')[0];
    const float32 = lp(exportDualPath(decode(join(ROOT, 'torch-plain', base, 'model.onnx')), { what: base }).model);
    const mine = lp(model);
    const describeNode = (n: NodeProto) => {
      const op = lpOp(n.op_type ?? '');
      return { op: n.op_type, attrs: op?.parse(n.attribute ?? [], n.name ?? '') as Record<string, unknown> };
    };
    const got = mine.map(describeNode).sort((a, b) => String(a.op).localeCompare(String(b.op)));
    const ref = float32.map(describeNode).sort((a, b) => String(a.op).localeCompare(String(b.op)));
    expect(got.map((d) => d.op)).toEqual(ref.map((d) => d.op));
    got.forEach((d, i) => {
      for (const [k, v] of Object.entries(ref[i].attrs)) {
        const w = d.attrs[k];
        if (typeof v === 'number') expect([k, Math.abs((w as number) - v) <= Math.max(2 ** -10 * Math.abs(v), 2 ** -24)]).toEqual([k, true]);
        else expect([k, w]).toEqual([k, v]);
      }
    });
    const types = declaredTypes(model.graph ?? {});
    const initType = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', t.data_type]));
    for (const n of mine) {
      const op = lpOp(n.op_type ?? '');
      (n.input ?? []).forEach((v, i) => {
        if (!v || op?.inputs[i]?.name === 'P') return;
        expect(`${n.name} ${op?.inputs[i]?.name}: ${types.get(v)?.elemType ?? initType.get(v)}`).toBe(`${n.name} ${op?.inputs[i]?.name}: ${FLOAT16}`);
      });
    }
    expect((model.graph?.node ?? []).map((n) => n.op_type).filter((o) => DECOMPOSITION.includes(o ?? ''))).toEqual([]);
  });

  test('onnxruntime-node, onnxruntime-web wasm, lp-onnx/node and lp-onnx/web match PyTorch', async () => {
    const check = (what: string, t: Tensor, tol = WHOLE_MODEL) => {
      expect(t.dtype).toBe('float16');
      compareArrays(`${name} ${what}`, asArray(t), wantArr, tol);
    };
    check('plain export on onnxruntime-node', (await runOrt('ort', encodeModel(src), feeds)).y);
    check('onnxruntime-node', (await runOrt('ort', bytes, feeds)).y);
    check('onnxruntime-web wasm', (await runOrt('ort-web', bytes, feeds)).y);
    const s = await lpNode.InferenceSession.create(bytes);
    try {
      const out = await s.run({ x: new lpNode.Tensor('float16', x.data as Uint16Array, x.dims) });
      check('lp-onnx/node', makeTensor('float16', [...out.y.dims], out.y.data as Uint16Array));
    } finally {
      await s.release();
    }
    if (webUnavailable) return console.warn(`lp-onnx/web skipped: ${webUnavailable}`);
    const w = await web.InferenceSession.create(bytes);
    try {
      const out = await w.run({ x: new web.Tensor('float16', x.data as Uint16Array, x.dims) });
      // onnxruntime-web's WebGPU provider runs the standard float16 ops (BatchNormalization, Add, Gemm)
      // itself, where the CPU provider casts them to float32: up to 1.2x the CPU rows' tolerance on adder-resnet
      check(`lp-onnx/web (${w.mode})`, makeTensor('float16', [...out.y.dims], out.y.data as Uint16Array), { atol: 2 * WHOLE_MODEL.atol, rtol: 2 * WHOLE_MODEL.rtol });
    } finally {
      await w.release();
    }
  }, 60000);
});

describe('export --float16: inputs and outputs, refusals, the CLI', () => {
  const dir = join(ROOT, 'torch', 'gem-cnn');
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'lp-onnx.js'), ...args], { encoding: 'utf8' });

  test('--float16-io: float16 inputs and outputs, no Cast at the boundary, same results', async () => {
    const { model } = exportDualPath(decode(join(dir, 'torch.onnx')), { what: 'gem-cnn', float16: { io: true } });
    const graph = model.graph ?? {};
    expect((graph.input ?? []).map((i) => i.type?.tensor_type?.elem_type)).toEqual([FLOAT16]);
    expect((graph.output ?? []).map((o) => o.type?.tensor_type?.elem_type)).toEqual([FLOAT16]);
    const x = npy(join(dir, 'input.npy'));
    const want = npy(join(dir, 'output-float16.npy'));
    const half = Uint16Array.from(x.data as Float32Array, floatToHalf);
    const out = await runOrt('ort', encodeModel(model), { x: makeTensor('float16', x.dims, half) });
    expect(out.y.dtype).toBe('float16');
    compareArrays('gem-cnn --float16-io', asArray(out.y), { dims: want.dims, data: want.data as Float64Array }, WHOLE_MODEL);
  });

  test('the CLI: the report names the tensors that changed type and the size before and after; verify passes', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'lp-onnx-f16-')), 'gem.f16.onnx');
    const r = cli('export', join(dir, 'torch.onnx'), '-o', out, '--float16');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/float16: model [\d.]+ KiB -> [\d.]+ KiB/);
    expect(r.stdout).toMatch(/weights to float16 \(\d+, [\d.]+ KiB -> [\d.]+ KiB\): .*features\.4\.weight/);
    expect(r.stdout).toMatch(/inputs and outputs kept float32, Cast inside \(--float16-io makes them float16\): x, y/);
    expect(r.stdout).toMatch(/kept float32, no float16 CPU kernel in onnxruntime 1\.30\.0: .*Conv x\d/);
    const v = cli('verify', out, '--dim', 'N=2');
    expect(v.stdout).toMatch(/fused kernels \(lp-onnx\/node\) y: .* within atol 0\.0001 \+ rtol 0\.001/);
    expect(v.status).toBe(0);
  });

  test('a model whose weights dominate is written at about half the size', () => {
    const b = new GraphBuilder({ name: 'wide', opset: 18 });
    const xin = b.input('X', 'float32', ['N', 32, 16, 16]);
    const conv = b.l1Conv(xin, b.initializer('W1', Float32Array.from({ length: 64 * 32 * 9 }, (_, i) => Math.sin(i)), [64, 32, 3, 3]), undefined, { pads: [1, 1, 1, 1] });
    const pooled = b.lpPool(conv, undefined, { global: 1, p: 3, mean: 1, mode: 'clamp', eps: 1e-6 });
    const flat = b.op('Flatten', [pooled]);
    const w2 = b.initializer('W2', Float32Array.from({ length: 512 * 64 }, (_, i) => 1 + Math.cos(i)), [512, 64]);
    b.output(b.lpNorm(flat, w2, undefined, { p: 2 }), 'Y');
    const { report } = exportDualPath(b.build(), { what: 'wide', float16: {} });
    const r = report.float16;
    expect(r?.weights.names.sort()).toEqual(['W1', 'W2']);
    expect((r?.bytesAfter ?? 0) / (r?.bytesBefore ?? 1)).toBeLessThan(0.55);
    expect((r?.bytesAfter ?? 0) / (r?.bytesBefore ?? 1)).toBeGreaterThan(0.5);
  });

  test('--float16-io without --float16 is a usage error; nothing is written', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'lp-onnx-f16-')), 'x.onnx');
    const r = cli('export', join(dir, 'torch.onnx'), '-o', out, '--float16-io');
    expect(r.stderr).toBe('lp-onnx: error: --float16-io applies with --float16\n');
    expect(r.status).toBe(1);
    expect(existsSync(out)).toBe(false);
  });

  test('a graph output that is also a weight the float16 nodes read is refused before anything is rewritten', () => {
    const b = new GraphBuilder({ name: 'w-out', opset: 18 });
    const xin = b.input('X', 'float32', [2, 3]);
    const w = b.initializer('W', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    b.output(b.lpNorm(xin, w, undefined, { p: 2 }), 'Y');
    const m = b.build();
    const wt = m.graph?.initializer?.find((t) => t.name === 'W');
    m.graph?.output?.push({ name: wt?.name, type: { tensor_type: { elem_type: FLOAT, shape: { dim: [{ dim_value: 2 }, { dim_value: 3 }] } } } });
    const before = JSON.stringify(m);
    expect(() => exportDualPath(m, { what: 'w-out.onnx', float16: {} })).toThrow(/w-out\.onnx: --float16: graph output 'W' is also a graph input or initializer; add an Identity node before converting/);
    expect(JSON.stringify(m)).toBe(before); // the caller's model is untouched
  });

  test('a model with subgraphs (If) is refused, naming the node', () => {
    const b = new GraphBuilder({ name: 'branchy', opset: 18 });
    const xin = b.input('X', 'float32', [1, 2, 4, 4]);
    b.output(b.lpPool(xin, undefined, { global: 1, p: 3 }), 'Y');
    const m = b.build();
    const g = m.graph ?? {};
    g.node?.push({ op_type: 'If', name: 'branch', input: ['X'], output: ['Z'], attribute: [{ name: 'then_branch', type: 5, g: { node: [] } }] });
    expect(() => exportDualPath(m, { what: 'branchy.onnx', float16: {} })).toThrow(/branchy\.onnx: --float16: node 'branch' \(If\) has subgraphs; lp-onnx converts models without If, Loop or Scan/);
  });
});
