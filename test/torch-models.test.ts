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
import { toFloat32, toFloat64 } from '../src/onnx/tensor';
import { parseNpy } from '../src/runtime/npy';
import { runOrt } from '../src/runtime/ort';
import { runReference } from '../src/runtime/reference';
import { compareArrays } from './helpers/compare';

const DIR = join(__dirname, '..', 'fixtures', 'torch');
const MODELS = readdirSync(DIR).filter((d) => existsSync(join(DIR, d, 'arch.json')));
/** The tolerance against PyTorch. */
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

  test.each(sources)('%s: onnxruntime-node and the reference match PyTorch', async (_label, make) => {
    const { model } = exportDualPath(make(name), { what: name });
    const input = model.graph?.input?.[0].name as string;
    const out = await runOrt('ort', encodeModel(model), { [input]: x });
    const got = Object.values(out)[0];
    compareArrays(`${name} on onnxruntime-node`, { dims: got.dims, data: got.data as Float32Array }, wantArr, VS_TORCH);
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
  for (const name of [...MODELS, 'bad']) {
    // legacy.pt is not byte-reproducible (the old format keys storages by memory address)
    for (const f of readdirSync(join(DIR, name)).filter((f) => f !== 'legacy.pt')) {
      expect(`${name}/${f}: ${readFileSync(join(out, name, f)).equals(readFileSync(join(DIR, name, f)))}`).toBe(`${name}/${f}: true`);
    }
  }
}, 120000);
