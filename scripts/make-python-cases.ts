// Writes the cases of scripts/python-ort-check.py into a folder: the portable model set of
// scripts/portable-cases.ts (dual-path models, inputs, the float64 reference's outputs, each also
// lowered) and a model whose function bodies are deliberately wrong (they return zeros), which
// only the fused kernels can get right.
// Usage: node dist/scripts/make-python-cases.js DIR
import { exportDualPath } from '../src/export/dual-path';
import { adderCnn } from './make-examples';
import { writeCase, writePortableCases } from './portable-cases';

function main(): void {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: make-python-cases DIR');
  writePortableCases(dir);
  const dims = [2, 3, 32, 32];
  const data = Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37));
  writeCase(dir, 'example-adder-cnn-wrong-bodies', exportDualPath(adderCnn().build()).model, 'image', { dims, data }, true);
}

main();
