// Weights for `lp-onnx export arch.json --weights FILE`: .safetensors or PyTorch .pt / .pth.
import { existsSync, readFileSync } from 'node:fs';
import type { Tensor } from '../../onnx/tensor';
import { readSafetensors } from './safetensors';
import { readTorchStateDict } from './torch';

export class WeightsError extends Error {}

export function readWeights(path: string): Map<string, Tensor> {
  if (!existsSync(path)) throw new WeightsError(`${path}: no such weights file`);
  const buf = readFileSync(path);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  if (/\.safetensors$/i.test(path)) return readSafetensors(bytes, path);
  if (/\.(pt|pth|bin)$/i.test(path)) return readTorchStateDict(bytes, path);
  throw new WeightsError(`${path}: unknown weights format (expected .safetensors, .pt or .pth)`);
}
