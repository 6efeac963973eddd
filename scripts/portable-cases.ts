// The dual-path model set that stock runtimes are checked on (scripts/portability.ts,
// scripts/python-ort.sh): every example and fixture with lp nodes, exported as `lp-onnx export`
// does (the examples, the PyTorch fixtures from torch.onnx and from their arch spec + weights, every
// plain PyTorch export that fuses), each with its input, the float64 reference's output and the
// model lowered by `lp-onnx lower`. A case is a folder: model.onnx, lowered.onnx, input.npy,
// reference.npy, case.json ({ input, output, wrongBodies, opset: the model's default-domain opset,
// tol: where not the bodies' tolerance of ops.md }). Stress models (scripts/stress-models.ts)
// hold many nodes of one op that need different specialised bodies.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LP_DOMAIN } from '../ops/types';
import { buildFromArch } from '../src/export/arch';
import { exportDualPath } from '../src/export/dual-path';
import { lowerModel } from '../src/export/lower';
import { readWeights } from '../src/export/weights/index';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import type { ModelProto } from '../src/onnx/proto';
import { floatToHalf, makeTensor, toFloat64 } from '../src/onnx/tensor';
import { formatNpy, parseNpy } from '../src/runtime/npy';
import { runReference } from '../src/runtime/reference';
import { adderCnn, lpMlp } from './make-examples';
import { STRESS_CHANNELS, STRESS_WIDTH, stressL1Conv, stressLpNorm, stressLpNormShared, stressLpPool } from './stress-models';

const ROOT = join(__dirname, '..', '..');

export interface CaseInput {
  dims: number[];
  data: Float32Array;
}

/** Writes one case; with wrongBodies every function body returns zeros (only fused kernels get it right). */
export function writeCase(
  dir: string,
  name: string,
  model: ModelProto,
  inputName: string,
  x: CaseInput,
  wrongBodies = false,
  dtype: 'float32' | 'float16' = 'float32',
  tol?: { atol: number; rtol: number },
): void {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  // a float16 input: the values rounded to float16, the reference on those values
  const input = dtype === 'float16' ? makeTensor('float16', x.dims, Uint16Array.from(x.data, floatToHalf)) : makeTensor('float32', x.dims, x.data);
  const ref = runReference(model, { [inputName]: { dims: x.dims, data: toFloat64(input) } });
  const [outName, out] = Object.entries(ref)[0];
  const m = structuredClone(model);
  if (wrongBodies) {
    for (const f of m.functions ?? []) {
      const last = (f.node ?? [])[(f.node ?? []).length - 1];
      last.op_type = 'Sub';
      last.input = [last.input?.[0] ?? '', last.input?.[0] ?? ''];
    }
  }
  writeFileSync(join(d, 'model.onnx'), encodeModel(m));
  if (!wrongBodies) writeFileSync(join(d, 'lowered.onnx'), encodeModel(lowerModel(model, name).model));
  writeFileSync(join(d, 'input.npy'), formatNpy(input));
  writeFileSync(join(d, 'reference.npy'), formatNpy(makeTensor('float64', out.dims, out.data)));
  const opset = Number((model.opset_import ?? []).find((o) => !o.domain)?.version ?? 0);
  writeFileSync(join(d, 'case.json'), JSON.stringify({ input: inputName, output: outName, wrongBodies, opset, ...(tol ? { tol } : {}) }));
}

const lpNodes = (m: ModelProto) => (m.graph?.node ?? []).filter((n) => n.domain === LP_DOMAIN).length;
const npy = (file: string): CaseInput => {
  const t = parseNpy(new Uint8Array(readFileSync(file)), file);
  return { dims: t.dims, data: t.data as Float32Array };
};
const firstInput = (m: ModelProto) => m.graph?.input?.[0]?.name ?? 'x';

/** Writes every case of the set into dir; returns their names. */
export function writePortableCases(dir: string): string[] {
  const names: string[] = [];
  const add = (name: string, model: ModelProto, x: CaseInput) => {
    writeCase(dir, name, model, firstInput(model), x);
    names.push(name);
  };
  const wave = (dims: number[], f = 0.37): CaseInput => ({ dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * f)) });
  add('example-adder-cnn', exportDualPath(adderCnn().build()).model, wave([2, 3, 32, 32]));
  add('example-lp-mlp', exportDualPath(lpMlp().build()).model, wave([3, 64]));
  const torch = join(ROOT, 'fixtures', 'torch');
  for (const name of readdirSync(torch).filter((n) => existsSync(join(torch, n, 'torch.onnx'))).sort()) {
    const x = npy(join(torch, name, 'input.npy'));
    add(`torch-${name}`, exportDualPath(decodeModel(new Uint8Array(readFileSync(join(torch, name, 'torch.onnx'))))).model, x);
    const spec = join(torch, name, 'arch.json');
    if (existsSync(spec)) {
      const weights = readWeights(join(torch, name, 'weights.safetensors'));
      const built = buildFromArch(JSON.parse(readFileSync(spec, 'utf8')), weights, { what: spec, weightsWhat: 'weights.safetensors' });
      add(`arch-${name}`, exportDualPath(built).model, x);
    }
  }
  const plain = join(ROOT, 'fixtures', 'torch-plain');
  for (const name of readdirSync(plain).filter((n) => existsSync(join(plain, n, 'model.onnx'))).sort()) {
    const model = exportDualPath(decodeModel(new Uint8Array(readFileSync(join(plain, name, 'model.onnx'))))).model;
    if (lpNodes(model) > 0) add(`fused-${name}`, model, npy(join(plain, name, 'input.npy')));
  }
  // `export --float16` (float32 inputs and outputs, float16 inside): each float16 activation is
  // rounded where the float64 reference rounds only at the Casts, so whole models are held to 3x
  // ops.md's float16 kernel tolerance (as test/float16-export.test.ts holds them against PyTorch)
  const half = { atol: 3e-4, rtol: 3e-3 };
  const addHalf = (name: string, model: ModelProto, x: CaseInput) => {
    writeCase(dir, name, model, firstInput(model), x, false, 'float32', half);
    names.push(name);
  };
  addHalf('float16-example-adder-cnn', exportDualPath(adderCnn().build(), { float16: {} }).model, wave([2, 3, 32, 32]));
  addHalf('float16-torch-gem-cnn', exportDualPath(decodeModel(new Uint8Array(readFileSync(join(torch, 'gem-cnn', 'torch.onnx')))), { float16: {} }).model, npy(join(torch, 'gem-cnn', 'input.npy')));
  addHalf('float16-fused-adder-resnet', exportDualPath(decodeModel(new Uint8Array(readFileSync(join(plain, 'adder-resnet', 'model.onnx')))), { float16: {} }).model, npy(join(plain, 'adder-resnet', 'input.npy')));
  // many nodes of one op that need different specialised bodies, symbolic dims, opsets 13 and 23
  for (const opset of [13, 23]) {
    for (const make of [stressLpPool, stressL1Conv, stressLpNorm, stressLpNormShared]) {
      const source = make(opset);
      add(source.graph?.name ?? 'stress', exportDualPath(source).model, wave([2, STRESS_CHANNELS, 11, STRESS_WIDTH], 0.23));
    }
  }
  return names;
}
