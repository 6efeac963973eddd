// Loading and saving models for the commands.
import { existsSync } from 'node:fs';
import { ModelError } from '../graph/infer';
import { hasExternalData, internalizeExternalData, type LoadedModel, readModelFile, writeModelFile } from '../onnx/model-file';
import type { ModelProto } from '../onnx/proto';

export class UsageError extends Error {}

/** Reads a model with its external data folded in. */
export function loadModel(path: string): LoadedModel & { hadExternalData: boolean } {
  const loaded = readModelFile(path);
  const hadExternalData = hasExternalData(loaded.model);
  const model = hadExternalData ? internalizeExternalData(loaded.model, loaded.readExternal) : loaded.model;
  return { ...loaded, model, hadExternalData };
}

export function saveModel(path: string, model: ModelProto, externalData: boolean): void {
  if (!path.endsWith('.onnx')) throw new UsageError(`-o ${path}: the output file must end in .onnx`);
  writeModelFile(path, model, externalData ? { externalData: {} } : {});
}

export function requireFile(path: string, what: string): void {
  if (!existsSync(path)) throw new ModelError(`${path}: no such file (${what})`);
}
