// Writes the cases of scripts/python-ort-check.py into a folder: the portable model set of
// scripts/portable-cases.ts (dual-path models, inputs, the float64 reference's outputs, each also
// lowered) and a model whose function bodies are deliberately wrong (they return zeros), which
// only the fused kernels can get right, and a float16 model (the library's float16 registrations).
// Usage: node dist/scripts/make-python-cases.js DIR
import { exportDualPath } from '../src/export/dual-path';
import { GraphBuilder } from '../src/graph/builder';
import { floatToHalf } from '../src/onnx/tensor';
import { adderCnn } from './make-examples';
import { writeCase, writePortableCases } from './portable-cases';

function main(): void {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: make-python-cases DIR');
  writePortableCases(dir);
  const dims = [2, 3, 32, 32];
  const data = Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37));
  writeCase(dir, 'example-adder-cnn-wrong-bodies', exportDualPath(adderCnn().build()).model, 'image', { dims, data }, true);
  // float16: one node (a model's intermediate roundings would add up past one op's tolerance), a
  // windowed GeM with its learned P given as float16
  const b = new GraphBuilder({ name: 'half', opset: 18 });
  const x = b.input('X', 'float16', [2, 3, 9, 9]);
  const p = b.initializer('P', Uint16Array.from([2.5, 3, 4].map(floatToHalf)), [3], 'float16');
  b.output(b.lpPool(x, p, { kernel_shape: [3, 3], mean: 1, mode: 'clamp', eps: 1e-3 }), 'Y');
  const half = { dims: [2, 3, 9, 9], data: Float32Array.from({ length: 2 * 3 * 81 }, (_, i) => Math.sin(i * 0.21) * 2) };
  writeCase(dir, 'float16-gem', exportDualPath(b.build()).model, 'X', half, false, 'float16');
}

main();
