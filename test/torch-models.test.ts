// Trained PyTorch models (fixtures/torch, written by scripts/gen-torch-fixtures.py): exported from
// the architecture spec with .safetensors and .pt weights, and from torch.onnx.export through the
// com.lponnx symbolics; run on onnxruntime-node (function bodies) and the reference; compared with
// PyTorch's own outputs. torch is not needed, except for the regeneration check.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFromArch } from '../src/export/arch';
import { exportDualPath } from '../src/export/dual-path';
import { readWeights } from '../src/export/weights/index';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import type { ModelProto } from '../src/onnx/proto';
import { type Tensor, tensorFromProto, toFloat32, toFloat64 } from '../src/onnx/tensor';
import { parseNpy } from '../src/runtime/npy';
import { runOrt } from '../src/runtime/ort';
import { runReference } from '../src/runtime/reference';
import { compareArrays } from './helpers/compare';

const DIR = join(__dirname, '..', 'fixtures', 'torch');
const MODELS = readdirSync(DIR).filter((d) => existsSync(join(DIR, d, 'arch.json')));
/** The issue's tolerance against PyTorch. */
const VS_TORCH = { atol: 1e-5, rtol: 1e-4 };
const npy = (p: string) => parseNpy(new Uint8Array(readFileSync(p)), p);

function fromArch(name: string, weights: string): ModelProto {
  const spec = JSON.parse(readFileSync(join(DIR, name, 'arch.json'), 'utf8'));
  return buildFromArch(spec, readWeights(join(DIR, name, weights)), { what: `${name}/arch.json`, weightsWhat: weights });
}

const sources: [string, (name: string) => ModelProto][] = [
  ['arch.json + weights.safetensors', (n) => fromArch(n, 'weights.safetensors')],
  ['arch.json + weights.pt', (n) => fromArch(n, 'weights.pt')],
  ['torch.onnx.export (custom symbolics)', (n) => decodeModel(new Uint8Array(readFileSync(join(DIR, n, 'torch.onnx'))), `${n}/torch.onnx`)],
];

describe.each(MODELS)('%s', (name) => {
  const x = npy(join(DIR, name, 'input.npy'));
  const want = npy(join(DIR, name, 'output.npy'));
  const wantArr = { dims: want.dims, data: want.data as Float32Array };

  test.each(sources)('%s: onnxruntime-node, onnxruntime-web and the reference match PyTorch', async (_label, make) => {
    const { model } = exportDualPath(make(name), { what: name });
    const input = model.graph?.input?.[0].name as string;
    for (const backend of ['ort', 'ort-web'] as const) {
      const got = Object.values(await runOrt(backend, encodeModel(model), { [input]: x }))[0];
      compareArrays(`${name} on ${backend}`, { dims: got.dims, data: got.data as Float32Array }, wantArr, VS_TORCH);
    }
    const ref = Object.values(runReference(model, { [input]: { dims: x.dims, data: toFloat64(x) } }))[0];
    compareArrays(`${name} on the reference`, ref, wantArr, VS_TORCH);
  });

  test('torch.onnx path: one com.lponnx node per lp layer, parametrisations folded', () => {
    const arch = exportDualPath(fromArch(name, 'weights.safetensors')).model;
    const torch = exportDualPath(decodeModel(new Uint8Array(readFileSync(join(DIR, name, 'torch.onnx'))))).model;
    const lpOps = (m: ModelProto) => (m.graph?.node ?? []).filter((n) => n.domain === 'com.lponnx').map((n) => n.op_type);
    expect(lpOps(torch)).toEqual(lpOps(arch));
    for (const n of torch.graph?.node ?? []) expect(['Abs', 'Softplus', 'ReduceSum']).not.toContain(n.op_type);
  });
});

describe('weights', () => {
  test.each(MODELS)('%s: .pt and .safetensors hold the same tensors (float16/bfloat16 widened)', (name) => {
    const pt = readWeights(join(DIR, name, 'weights.pt'));
    const st = readWeights(join(DIR, name, 'weights.safetensors'));
    expect([...st.keys()].sort()).toEqual([...pt.keys()].sort());
    for (const [k, t] of pt) {
      const u = st.get(k);
      expect(u?.dims).toEqual(t.dims);
      if (t.dtype === 'int64') continue;
      expect(Array.from(toFloat32(u ?? t))).toEqual(Array.from(toFloat32(t)));
    }
    // the generator stores BatchNorm running_var as float16 / bfloat16 where a model has BatchNorm
    const hasBatchNorm = [...pt.keys()].some((k) => k.endsWith('running_var'));
    expect([...st.values()].some((t) => t.dtype === 'float16' || t.dtype === 'bfloat16')).toBe(hasBatchNorm);
  });

  test.each([
    ['evil.pt', "refuses the global 'posix.system' (nothing from the file is run)"],
    ['whole-model.pt', "refuses the global 'torch.nn.modules.linear.Linear' (nothing from the file is run)"],
    ['legacy.pt', 'a legacy (pre-1.6, non-zip) torch.save file; re-save it with torch.save(state_dict, path) from torch >= 1.6'],
  ])('%s is refused with a clear error', (file, message) => {
    expect(() => readWeights(join(DIR, 'bad', file))).toThrow(message);
  });
  test('a whole model saved with torch.save gets a hint', () => {
    expect(() => readWeights(join(DIR, 'bad', 'whole-model.pt'))).toThrow('save model.state_dict(), not the model');
  });
});

const torchOk = spawnSync('/usr/bin/python3', ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;
if (!torchOk) console.warn('skipping the fixture regeneration check: /usr/bin/python3 has no torch (apt-get install python3-torch)');
(torchOk ? test : test.skip)('the fixtures are what scripts/gen-torch-fixtures.py writes (regenerated with torch)', () => {
  const out = mkdtempSync(join(tmpdir(), 'lp-onnx-torch-'));
  const r = spawnSync('/usr/bin/python3', [join(__dirname, '..', 'scripts', 'gen-torch-fixtures.py'), out], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  // PyTorch's float arithmetic may differ in the last bits between CPUs (vector paths), and the
  // models train: the specs must be identical, the numbers close
  const close = (what: string, a: ArrayLike<number>, b: ArrayLike<number>) => {
    expect(`${what}: ${a.length} values`).toBe(`${what}: ${b.length} values`);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1e-6 + Math.abs(b[i])));
    expect(`${what}: ${worst <= 1e-4 ? 'close' : `differs (relative ${worst})`}`).toBe(`${what}: close`);
  };
  const sameWeights = (what: string, a: Map<string, Tensor>, b: Map<string, Tensor>) => {
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [k, t] of b) close(`${what} ${k}`, toFloat64(a.get(k) as Tensor), toFloat64(t));
  };
  for (const name of MODELS) {
    const [got, want] = [join(out, name), join(DIR, name)];
    expect(readdirSync(got).sort()).toEqual(readdirSync(want).sort());
    expect(readFileSync(join(got, 'arch.json'), 'utf8')).toBe(readFileSync(join(want, 'arch.json'), 'utf8'));
    for (const f of ['input.npy', 'output.npy']) {
      const [u, v] = [npy(join(got, f)), npy(join(want, f))];
      expect(u.dims).toEqual(v.dims);
      close(`${name}/${f}`, u.data as Float32Array, v.data as Float32Array);
    }
    for (const f of ['weights.safetensors', 'weights.pt']) sameWeights(`${name}/${f}`, readWeights(join(got, f)), readWeights(join(want, f)));
    const [a, b] = [got, want].map((d) => decodeModel(new Uint8Array(readFileSync(join(d, 'torch.onnx'))), `${name}/torch.onnx`));
    const ops = (m: ModelProto) => (m.graph?.node ?? []).map((n) => `${n.domain || ''}:${n.op_type}`);
    expect(ops(a)).toEqual(ops(b));
    sameWeights(`${name}/torch.onnx`, new Map((a.graph?.initializer ?? []).map((t) => [t.name ?? '', tensorFromProto(t)])), new Map((b.graph?.initializer ?? []).map((t) => [t.name ?? '', tensorFromProto(t)])));
  }
  // legacy.pt is not byte-reproducible (the old format keys storages by memory address)
  for (const f of readdirSync(join(DIR, 'bad')).filter((f) => f !== 'legacy.pt')) {
    expect(`bad/${f}: ${readFileSync(join(out, 'bad', f)).equals(readFileSync(join(DIR, 'bad', f)))}`).toBe(`bad/${f}: true`);
  }
}, 120000);

describe('.safetensors reader', () => {
  /** Assembles a file from the documented layout: u64 header length, JSON header, data. */
  function file(header: object, data: Uint8Array): Uint8Array {
    const h = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    return new Uint8Array(Buffer.concat([len, h, data]));
  }
  const f64 = new Uint8Array(new Float64Array([0.1, -2.5]).buffer);
  const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000]).buffer); // 1, -2
  const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0x4040]).buffer); // 1, 3
  const i64 = new Uint8Array(new BigInt64Array([7n]).buffer);
  const { readSafetensors } = require('../src/export/weights/safetensors');

  test('decodes F64, F16, BF16 and I64 tensors', () => {
    const data = new Uint8Array([...f64, ...f16, ...bf16, ...i64]);
    const m = readSafetensors(
      file(
        {
          a: { dtype: 'F64', shape: [2], data_offsets: [0, 16] },
          b: { dtype: 'F16', shape: [2, 1], data_offsets: [16, 20] },
          c: { dtype: 'BF16', shape: [2], data_offsets: [20, 24] },
          d: { dtype: 'I64', shape: [], data_offsets: [24, 32] },
          __metadata__: { format: 'pt' },
        },
        data,
      ),
      'w.safetensors',
    );
    expect(Array.from(toFloat64(m.get('a')))).toEqual([0.1, -2.5]);
    expect(Array.from(toFloat32(m.get('b')))).toEqual([1, -2]);
    expect(m.get('b').dims).toEqual([2, 1]);
    expect(Array.from(toFloat32(m.get('c')))).toEqual([1, 3]);
    expect(Array.from(m.get('d').data)).toEqual([7n]);
  });

  test.each([
    ['too short', () => new Uint8Array(4), 'w.safetensors: too short for a .safetensors file (4 bytes)'],
    ['header past the end', () => file({}, new Uint8Array()).subarray(0, 9), 'w.safetensors: header of 2 bytes runs past the end of the file (truncated or not .safetensors)'],
    ['not JSON', () => { const b = file({}, new Uint8Array()); b[8] = 0x7b; b[9] = 0x7b; return b; }, 'w.safetensors: the header is not JSON'],
    ['unknown dtype', () => file({ a: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), "w.safetensors: tensor 'a' has dtype 'C64', which is not supported"],
    ['offsets outside', () => file({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)), "w.safetensors: tensor 'a' has data offsets [0, 16] outside the 8 data bytes"],
    ['size mismatch', () => file({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), "w.safetensors: tensor 'a' has 8 bytes, its shape [3] of F32 needs 12"],
  ])('%s', (_n, make, message) => {
    expect(() => readSafetensors(make(), 'w.safetensors')).toThrow(message);
  });

  test('a truncated .pt archive', () => {
    const bytes = readFileSync(join(DIR, 'adder-cnn', 'weights.pt'));
    const { readTorchStateDict } = require('../src/export/weights/torch');
    expect(() => readTorchStateDict(new Uint8Array(bytes.subarray(0, bytes.length - 200)), 'w.pt')).toThrow(
      'w.pt: not a complete zip archive (no end-of-central-directory record; truncated?)',
    );
  });
});
