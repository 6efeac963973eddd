// `lp-onnx export` on plain torch.onnx exports of Lp layers written the way public code writes them
// (fixtures/torch-plain, written by scripts/gen-torch-plain.py from third_party.py): the layers
// become lp nodes with the attributes the PyTorch modules imply, nothing of their decomposition is
// left, and the outputs match PyTorch's float64 outputs on stock onnxruntime-node (function bodies),
// lp-onnx/node (fused CPU kernels) and lp-onnx/web (WGSL kernels). Near misses are left alone.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lpOp } from '../ops/index';
import { exportDualPath } from '../src/export/dual-path';
import * as lpNode from '../src/node/index';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import type { ModelProto, NodeProto } from '../src/onnx/proto';
import { tensorFromProto, toFloat64 } from '../src/onnx/tensor';
import { parseNpy } from '../src/runtime/npy';
import { runOrt } from '../src/runtime/ort';
import * as web from '../src/runtime/web/index';
import { nodeWebGpu } from '../src/runtime/webgpu';
import { compareArrays } from './helpers/compare';

const DIR = join(__dirname, '..', 'fixtures', 'torch-plain');
const VS_TORCH = { atol: 1e-5, rtol: 1e-4 };
const npy = (p: string) => parseNpy(new Uint8Array(readFileSync(p)), p);
const load = (name: string): ModelProto => decodeModel(new Uint8Array(readFileSync(join(DIR, name, 'model.onnx'))), `${name}/model.onnx`);
const softplus = (v: number) => Math.log1p(Math.exp(v));

/** What each PyTorch module of gen-torch-plain.py is, as lp nodes (attributes that matter; P/W by value where known). */
type Want = { op: string; attrs: Record<string, number | number[] | string>; P?: number[]; W?: number[] };
const clampGeM = (p: number): Want => ({ op: 'LpPool', attrs: { global: 1, mean: 1, mode: 'clamp', eps: 1e-6, p } });
const FUSED: Record<string, Want[]> = {
  'gem-resnet': [clampGeM(2.6)],
  'gem-per-channel': [{ op: 'LpPool', attrs: { global: 1, mean: 1, mode: 'clamp', eps: 1e-6 }, P: Array.from({ length: 8 }, (_, i) => 1.5 + 0.35 * i) }],
  'reid-head': [
    clampGeM(3),
    { op: 'LpPool', attrs: { global: 0, kernel_shape: [6, 8], strides: [6, 8], mean: 1, mode: 'clamp', eps: 1e-6, p: 4 } },
    clampGeM(2.2),
  ],
  // relu(x)^p: the ReLU becomes the clamp at 0
  'lppool-cnn': [
    { op: 'LpPool', attrs: { kernel_shape: [2, 2], strides: [2, 2], mean: 0, mode: 'clamp', eps: 0, p: 2 } },
    { op: 'LpPool', attrs: { kernel_shape: [2, 2], strides: [2, 2], mean: 0, mode: 'clamp', eps: 0, p: 3 } },
  ],
  'gem-local': [
    { op: 'LpPool', attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 0, mean: 1, mode: 'clamp', eps: 1e-6, p: 2.5 } },
    clampGeM(3.5),
  ],
  'lppool-1d': [{ op: 'LpPool', attrs: { kernel_shape: [3], strides: [2], mean: 0, mode: 'abs', eps: 0, p: 4 } }],
  'lpnorm-mlp': [
    { op: 'LpNorm', attrs: { eps: 1e-6, sum_eps: 1e-6, mode: 'abs', mean: 0 }, P: Array.from({ length: 12 }, (_, i) => softplus(0.2 + (2.3 * i) / 11) + 1), W: [12, 16] },
    { op: 'LpNorm', attrs: { eps: 1e-6, sum_eps: 0, mode: 'abs', mean: 0, p: 3 }, W: [6, 12] },
  ],
  'voxel-gem': [clampGeM(2.4)],
  // AdderNet: an adder stem with bias, a block, a strided block with an adder 1x1 shortcut, GeM
  'adder-resnet': [
    { op: 'L1Conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1], group: 1 }, W: [8, 3, 3, 3] },
    { op: 'L1Conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }, W: [8, 8, 3, 3] },
    { op: 'L1Conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }, W: [8, 8, 3, 3] },
    // 12 -> 6 with stride 2: the end pad is never read (pads [1, 1, 0, 0] computes the same)
    { op: 'L1Conv', attrs: { kernel_shape: [3, 3], strides: [2, 2] }, W: [16, 8, 3, 3] },
    { op: 'L1Conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }, W: [16, 16, 3, 3] },
    // the shortcut (forward computes it after the residual branch)
    { op: 'L1Conv', attrs: { kernel_shape: [1, 1], strides: [2, 2], pads: [0, 0, 0, 0] }, W: [16, 8, 1, 1] },
    clampGeM(3),
  ],
  // two adder layers sharing one im2col
  'twin-adder': [
    { op: 'L1Conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, W: [6, 4, 3, 3] },
    { op: 'L1Conv', attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, W: [5, 4, 3, 3] },
  ],
  'l1-point-net': [
    { op: 'L1Conv', attrs: { kernel_shape: [1] }, W: [16, 3, 1] },
    { op: 'L1Conv', attrs: { kernel_shape: [1] }, W: [32, 16, 1] },
    clampGeM(3),
  ],
  'point-gem': [clampGeM(3)],
};
/** Near misses: left alone, with the reason. */
const NEAR: Record<string, RegExp> = {
  'near-gem-root': /GeM .*the root's exponent \[0\.285714\] is not 1\/p for p = \[3\]/,
  'near-adder-positive': /l1 \(adder\) convolution .*the distance is not negated/,
  'near-lppool-odd': /nn\.LPPool .*x\^p of an input that may be negative, with p = 3 not an even integer/,
  'near-lppool-ceil': /nn\.LPPool .*ceil_mode gives partial border windows/,
};
/** The ops of the decompositions: none may be left after fusing. */
const DECOMPOSITION = ['Pow', 'ReduceSum', 'ReduceMean', 'AveragePool', 'GlobalAveragePool', 'Sign', 'Clip', 'Unsqueeze', 'Abs', 'Sub', 'Neg', 'Gather', 'Range', 'Shape'];

let webUnavailable: string | undefined;
beforeAll(async () => {
  web.env.wasm.numThreads = 1;
  webUnavailable = (await nodeWebGpu()).reason;
  if (webUnavailable) console.warn(`lp-onnx/web rows skip: ${webUnavailable}`);
}, 60000);

const opsOf = (m: ModelProto) => (m.graph?.node ?? []).map((n) => n.op_type ?? '');
const lpNodes = (m: ModelProto) => (m.graph?.node ?? []).filter((n) => n.domain === 'com.lponnx');
const initializer = (m: ModelProto, name: string) => m.graph?.initializer?.find((t) => t.name === name);

async function onOrt(m: ModelProto, x: ReturnType<typeof npy>) {
  const out = await runOrt('ort', encodeModel(m), { x });
  return { dims: [...out.y.dims], data: out.y.data as Float32Array };
}

async function onLpNode(m: ModelProto, x: ReturnType<typeof npy>) {
  const s = await lpNode.InferenceSession.create(encodeModel(m));
  try {
    const out = await s.run({ x: new lpNode.Tensor('float32', x.data as Float32Array, x.dims) });
    return { dims: [...out.y.dims], data: out.y.data as Float32Array };
  } finally {
    await s.release();
  }
}

async function onLpWeb(m: ModelProto, x: ReturnType<typeof npy>) {
  const s = await web.InferenceSession.create(encodeModel(m));
  try {
    expect(s.mode).toBe('webgpu-fused');
    const out = await s.run({ x: new web.Tensor('float32', x.data as Float32Array, x.dims) });
    return { dims: [...out.y.dims], data: out.y.data as Float32Array };
  } finally {
    await s.release();
  }
}

function checkNode(n: NodeProto, want: Want, model: ModelProto, label: string) {
  expect(`${label}: ${n.op_type}`).toBe(`${label}: ${want.op}`);
  const op = lpOp(n.op_type ?? '');
  const attrs = op?.parse(n.attribute ?? [], label) as Record<string, unknown>;
  for (const [k, v] of Object.entries(want.attrs)) {
    if (typeof v === 'number') expect([label, k, Math.abs((attrs[k] as number) - v) <= 1e-6 * Math.max(1, Math.abs(v))]).toEqual([label, k, true]);
    else {
      // ONNX defaults of the window attributes where a node leaves them out
      const unset = Array.isArray(v) ? v.map(() => (k === 'pads' ? 0 : 1)) : undefined;
      expect([label, k, attrs[k] ?? unset]).toEqual([label, k, v]);
    }
  }
  const inputs = n.input ?? [];
  if (want.P) {
    const p = initializer(model, inputs[want.op === 'LpNorm' ? 2 : 1]);
    expect(p).toBeDefined();
    const values = Array.from(toFloat64(tensorFromProto(p ?? {})));
    expect(values.length).toBe(want.P.length);
    values.forEach((v, i) => expect([label, i, Math.abs(v - (want.P as number[])[i]) <= 1e-6 * v]).toEqual([label, i, true]));
  }
  if (want.W) {
    const w = initializer(model, inputs[1]);
    expect((w?.dims ?? []).map(Number)).toEqual(want.W);
    if (want.op === 'LpNorm') expect(Array.from(toFloat64(tensorFromProto(w ?? {}))).every((v) => v >= 0)).toBe(true);
  }
}


describe.each(Object.keys(FUSED))('%s: fused', (name) => {
  const source = load(name);
  const { model, report } = exportDualPath(source, { what: name });
  const x = npy(join(DIR, name, 'input.npy'));
  const want = npy(join(DIR, name, 'output.npy'));
  const wantArr = { dims: want.dims, data: want.data as Float64Array };

  test('the lp nodes PyTorch implies, nothing of the decomposition left, no near miss', () => {
    const nodes = lpNodes(model);
    expect(nodes.length).toBe(FUSED[name].length);
    nodes.forEach((n, i) => checkNode(n, FUSED[name][i], model, `${name} node ${i}`));
    expect(opsOf(model).filter((o) => DECOMPOSITION.includes(o))).toEqual([]);
    expect(report.fusion.nearMisses).toEqual([]);
    expect(report.fusion.fused.map((f) => f.op).sort()).toEqual(FUSED[name].map((w) => w.op).sort());
    for (const f of report.fusion.fused) expect(f.replaced).toBeGreaterThanOrEqual(3);
  });

  test('stock onnxruntime-node (function bodies) matches PyTorch, as the plain export does', async () => {
    compareArrays(`${name} plain export on onnxruntime-node`, await onOrt(source, x), wantArr, VS_TORCH);
    compareArrays(`${name} fused on onnxruntime-node`, await onOrt(model, x), wantArr, VS_TORCH);
  });

  test('lp-onnx/node (fused kernels) matches PyTorch', async () => {
    compareArrays(`${name} on lp-onnx/node`, await onLpNode(model, x), wantArr, VS_TORCH);
  });

  test('lp-onnx/web (WGSL kernels) matches PyTorch', async () => {
    if (webUnavailable) return console.warn(`skipped: ${webUnavailable}`);
    compareArrays(`${name} on lp-onnx/web`, await onLpWeb(model, x), wantArr, VS_TORCH);
  }, 60000);
});

describe.each(Object.keys(NEAR))('%s: a near miss is left alone', (name) => {
  const source = load(name);
  const { model, report } = exportDualPath(source, { what: name });
  const x = npy(join(DIR, name, 'input.npy'));
  const want = npy(join(DIR, name, 'output.npy'));

  test('no lp node; the report says why', () => {
    expect(lpNodes(model)).toEqual([]);
    expect(report.fusion.fused).toEqual([]);
    expect(report.fusion.nearMisses.map((m) => `${m.pattern}: ${m.why}`).join('\n')).toMatch(NEAR[name]);
    // the layer's ops all stay (constant subgraphs such as 1 / p may be folded)
    const count = (m: ModelProto) => opsOf(m).filter((o) => DECOMPOSITION.includes(o)).sort();
    expect(count(model)).toEqual(count(source));
  });

  test('outputs bit-identical to the plain export on onnxruntime-node, and PyTorch within tolerance', async () => {
    const a = await onOrt(source, x);
    const b = await onOrt(model, x);
    expect(Buffer.from((b.data as Float32Array).buffer).equals(Buffer.from((a.data as Float32Array).buffer))).toBe(true);
    compareArrays(`${name} on onnxruntime-node`, b, { dims: want.dims, data: want.data as Float64Array }, VS_TORCH);
  });
});

describe.each([...Object.keys(FUSED), ...Object.keys(NEAR), 'plain-cnn'])('%s with --no-fuse', (name) => {
  test('loads on stock onnxruntime-node with outputs bit-identical to the source: export never makes a model worse', async () => {
    const source = load(name);
    const { model } = exportDualPath(source, { what: name, fuse: false });
    const x = npy(join(DIR, name, 'input.npy'));
    const a = await onOrt(source, x);
    const b = await onOrt(model, x);
    expect(b.dims).toEqual(a.dims);
    expect(Buffer.from((b.data as Float32Array).buffer).equals(Buffer.from((a.data as Float32Array).buffer))).toBe(true);
  });
});

describe('a plain export with nothing to fuse', () => {
  const source = load('plain-cnn');
  const { model, report } = exportDualPath(source, { what: 'plain-cnn' });
  test('comes out loadable, with no fusion and no near miss, and bit-identical outputs', async () => {
    expect(report.fusion).toEqual({ fused: [], nearMisses: [] });
    const x = npy(join(DIR, 'plain-cnn', 'input.npy'));
    const a = await onOrt(source, x);
    const b = await onOrt(model, x);
    expect(b.dims).toEqual(a.dims);
    expect(Buffer.from((b.data as Float32Array).buffer).equals(Buffer.from((a.data as Float32Array).buffer))).toBe(true);
  });
});

describe('the CLI', () => {
  const BIN = join(__dirname, '..', 'bin', 'lp-onnx.js');
  const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  const out = mkdtempSync(join(tmpdir(), 'lp-onnx-fuse-'));

  test('export fuses by default and prints what it fused and what it left', () => {
    const r = cli('export', join(DIR, 'lppool-cnn', 'model.onnx'), '-o', join(out, 'a.onnx'));
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('2 lp nodes (LpPool x2)');
    expect(r.stdout).toMatch(/fused 2 Lp layers written with standard ops:\n {2}\/pool1\/LpPool: LpPool kernel_shape=\[2,2\] strides=\[2,2\] p=2 mode='clamp' <- nn\.LPPool .*; replaced \d+ standard nodes/);
    const near = cli('export', join(DIR, 'near-lppool-odd', 'model.onnx'), '-o', join(out, 'b.onnx'));
    expect(near.stdout).toMatch(/left as it is \(not exactly an Lp layer\):\n {2}\/pool\/Pow_1: nn\.LPPool .*not an even integer/);
  });

  test('--no-fuse keeps the graph as it is', () => {
    const r = cli('export', join(DIR, 'gem-resnet', 'model.onnx'), '-o', join(out, 'c.onnx'), '--no-fuse');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(': no lp nodes, no function bodies');
    const m = decodeModel(new Uint8Array(readFileSync(join(out, 'c.onnx'))));
    expect(opsOf(m).filter((o) => o === 'Pow').length).toBe(2);
  });

  test('inspect lists the fusable layers of a plain export', () => {
    const r = cli('inspect', join(DIR, 'reid-head', 'model.onnx'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/fusable: 3 Lp layers written with standard ops:\n {4}\/global_pool\/LpPool: LpPool global=1 p=3/);
    const j = JSON.parse(cli('inspect', join(DIR, 'reid-head', 'model.onnx'), '--json').stdout);
    expect(j.fusable.fused.map((f: { op: string }) => f.op)).toEqual(['LpPool', 'LpPool', 'LpPool']);
  });
});

const torchOk = spawnSync('/usr/bin/python3', ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;
if (!torchOk) console.warn('skipping the fixture regeneration check: /usr/bin/python3 has no torch (apt-get install python3-torch)');
(torchOk ? test : test.skip)('the fixtures are what scripts/gen-torch-plain.py writes (regenerated with torch)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'lp-onnx-plain-'));
  const r = spawnSync('/usr/bin/python3', [join(__dirname, '..', 'scripts', 'gen-torch-plain.py'), tmp], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  for (const name of readdirSync(DIR).filter((d) => !d.endsWith('.py') && d !== '__pycache__')) {
    for (const f of readdirSync(join(DIR, name))) {
      const [a, b] = [readFileSync(join(tmp, name, f)), readFileSync(join(DIR, name, f))];
      if (f === 'model.onnx') {
        // torch.onnx folds BatchNorm into Conv in float32, whose last bits differ between CPUs too:
        // the graph must be identical, the initializers close
        const [u, v] = [a, b].map((bytes) => decodeModel(new Uint8Array(bytes), `${name}/${f}`));
        const inits = (m: ModelProto) => new Map((m.graph?.initializer ?? []).map((t) => [t.name ?? '', Array.from(toFloat64(tensorFromProto(t)))]));
        const [iu, iv] = [inits(u), inits(v)];
        expect([...iu.keys()]).toEqual([...iv.keys()]);
        for (const [k, x] of iu) {
          const y = iv.get(k) as number[];
          const off = x.findIndex((xi, i) => !(Math.abs(xi - y[i]) <= 1e-6 + 1e-5 * Math.abs(y[i])));
          expect(`${name}/${f} ${k}: ${x.length === y.length && off < 0 ? 'close' : `differs at ${off}`}`).toBe(`${name}/${f} ${k}: close`);
        }
        for (const m of [u, v]) if (m.graph) m.graph.initializer = [];
        expect(`${name}/${f} without initializers: ${Buffer.from(encodeModel(u)).equals(Buffer.from(encodeModel(v)))}`).toBe(`${name}/${f} without initializers: true`);
        continue;
      }
      if (f !== 'output.npy') {
        expect(`${name}/${f}: ${a.equals(b)}`).toBe(`${name}/${f}: true`);
        continue;
      }
      // PyTorch's float64 arithmetic may differ in the last bits between CPUs (vector paths)
      const [u, v] = [npy(join(tmp, name, f)), npy(join(DIR, name, f))];
      expect(u.dims).toEqual(v.dims);
      // (and so do the models' float32 set-up steps: 1.1e-6 relative seen against the committed files)
      const rel = (x: number, y: number) => (Number.isNaN(x) && Number.isNaN(y) ? 0 : Math.abs(x - y) / (1e-7 + Math.abs(x)));
      const worst = Array.from(u.data as Float64Array).reduce((m, x, i) => Math.max(m, rel(x, (v.data as Float64Array)[i])), 0);
      expect(`${name}/${f}: ${worst <= 1e-5 ? 'close' : `differs (relative ${worst})`}`).toBe(`${name}/${f}: close`);
    }
  }
}, 180000);
