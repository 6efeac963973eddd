// Writes the cases of scripts/python-ort-check.py into a folder: dual-path models (the examples,
// the PyTorch fixtures through torch.onnx and through fusion of plain exports), their inputs, the
// float64 reference's outputs, each also lowered (functions inlined), and a model whose function
// bodies are deliberately wrong (they return zeros), which only the fused kernels can get right.
// Usage: node dist/scripts/make-python-cases.js DIR
import { mkdirSync, readdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportDualPath } from '../src/export/dual-path';
import { lowerModel } from '../src/export/lower';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import type { ModelProto } from '../src/onnx/proto';
import { makeTensor, toFloat64 } from '../src/onnx/tensor';
import { formatNpy, parseNpy } from '../src/runtime/npy';
import { runReference } from '../src/runtime/reference';
import { adderCnn, lpMlp } from './make-examples';

const ROOT = join(__dirname, '..', '..');

function write(dir: string, name: string, model: ModelProto, inputName: string, x: { dims: number[]; data: Float32Array }, wrongBodies = false): void {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const ref = runReference(model, { [inputName]: { dims: x.dims, data: toFloat64(makeTensor('float32', x.dims, x.data)) } });
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
  // the same model with its functions inlined (lp-onnx lower), for runtimes that do not read overloads
  if (!wrongBodies) writeFileSync(join(d, 'lowered.onnx'), encodeModel(lowerModel(model, name).model));
  writeFileSync(join(d, 'input.npy'), formatNpy(makeTensor('float32', x.dims, x.data)));
  writeFileSync(join(d, 'reference.npy'), formatNpy(makeTensor('float64', out.dims, out.data)));
  writeFileSync(join(d, 'case.json'), JSON.stringify({ input: inputName, output: outName, wrongBodies }));
}

function main(): void {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: make-python-cases DIR');
  const wave = (dims: number[], f = 0.37) => ({ dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * f)) });
  write(dir, 'example-adder-cnn', exportDualPath(adderCnn().build()).model, 'image', wave([2, 3, 32, 32]));
  write(dir, 'example-adder-cnn-wrong-bodies', exportDualPath(adderCnn().build()).model, 'image', wave([2, 3, 32, 32]), true);
  write(dir, 'example-lp-mlp', exportDualPath(lpMlp().build()).model, 'x', wave([3, 64]));
  const torch = join(ROOT, 'fixtures', 'torch');
  for (const name of readdirSync(torch).filter((n) => existsSync(join(torch, n, 'torch.onnx')))) {
    const x = parseNpy(new Uint8Array(readFileSync(join(torch, name, 'input.npy'))), 'input.npy');
    const model = exportDualPath(decodeModel(new Uint8Array(readFileSync(join(torch, name, 'torch.onnx'))))).model;
    write(dir, `torch-${name}`, model, model.graph?.input?.[0]?.name ?? 'x', { dims: x.dims, data: x.data as Float32Array });
  }
  const plain = join(ROOT, 'fixtures', 'torch-plain');
  for (const name of ['adder-resnet', 'l1-point-net', 'reid-head', 'lpnorm-mlp', 'lppool-cnn']) {
    const x = parseNpy(new Uint8Array(readFileSync(join(plain, name, 'input.npy'))), 'input.npy');
    const model = exportDualPath(decodeModel(new Uint8Array(readFileSync(join(plain, name, 'model.onnx'))))).model;
    write(dir, `fused-${name}`, model, 'x', { dims: x.dims, data: x.data as Float32Array });
  }
}

main();
