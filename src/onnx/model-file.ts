// Reading and writing .onnx files: clear errors, external data, and atomic writes
// (a failed write leaves no partial file behind).
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, normalize, resolve } from 'node:path';
import { decodeModel, encodeModel, OnnxFormatError } from './codec';
import { checkExternalLocation } from './external';
import type { ModelProto, TensorProto } from './proto';
import { type ExternalReader, isExternal } from './tensor';

export interface LoadedModel {
  model: ModelProto;
  path: string;
  /** reads external tensor data relative to the model's folder */
  readExternal: ExternalReader;
}

export function externalReaderFor(modelPath: string): ExternalReader {
  const dir = dirname(resolve(modelPath));
  return (location, offset, length) => {
    checkExternalLocation(location, modelPath);
    const file = join(dir, normalize(location));
    if (!existsSync(file)) throw new OnnxFormatError(`${modelPath}: external data file '${location}' not found next to the model`);
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const n = length ?? size - offset;
      if (offset < 0 || offset + n > size) {
        throw new OnnxFormatError(`${modelPath}: external data '${location}' has ${size} bytes; offset ${offset} + length ${n} is past its end`);
      }
      const buf = Buffer.alloc(n);
      readSync(fd, buf, 0, n, offset);
      return new Uint8Array(buf.buffer, buf.byteOffset, n);
    } finally {
      closeSync(fd);
    }
  };
}

export function readModelFile(path: string): LoadedModel {
  if (!existsSync(path)) throw new OnnxFormatError(`${path}: no such file`);
  if (statSync(path).isDirectory()) throw new OnnxFormatError(`${path}: is a directory, expected an .onnx file`);
  const bytes = readFileSync(path);
  const model = decodeModel(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), path);
  return { model, path, readExternal: externalReaderFor(path) };
}

/** Every tensor of a model, initializers and Constant values of the main graph and functions. */
export function* modelTensors(model: ModelProto): Generator<TensorProto> {
  const graph = model.graph ?? {};
  yield* graph.initializer ?? [];
  for (const n of [...(graph.node ?? []), ...(model.functions ?? []).flatMap((f) => f.node ?? [])]) {
    for (const a of n.attribute ?? []) if (a.t) yield a.t;
  }
}

export { hasExternalData, internalizeExternalData } from './external';

export interface WriteOptions {
  /** store initializers of at least this many bytes in one external file next to the model */
  externalData?: { location?: string; threshold?: number };
}

function atomicWrite(path: string, data: Uint8Array): void {
  const tmp = join(dirname(resolve(path)), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes a model (and its external data file, when asked); both appear whole or not at all. */
export function writeModelFile(path: string, model: ModelProto, options: WriteOptions = {}): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw new OnnxFormatError(`${path}: folder '${dir}' does not exist`);
  if (!options.externalData) {
    atomicWrite(path, encodeModel(model));
    return;
  }
  const location = options.externalData.location ?? `${basename(path)}.data`;
  const threshold = options.externalData.threshold ?? 1024;
  const out = structuredClone(model);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of out.graph?.initializer ?? []) {
    if (isExternal(t) || !t.raw_data || t.raw_data.length < threshold) continue;
    const pad = (4096 - (offset % 4096)) % 4096; // page-aligned, as onnx's own writer does, for mmap
    if (pad) chunks.push(new Uint8Array(pad));
    offset += pad;
    chunks.push(t.raw_data);
    t.external_data = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(t.raw_data.length) },
    ];
    t.data_location = 1;
    offset += t.raw_data.length;
    delete t.raw_data;
  }
  const dataPath = join(dir, location);
  atomicWrite(dataPath, Buffer.concat(chunks));
  try {
    atomicWrite(path, encodeModel(out));
  } catch (e) {
    rmSync(dataPath, { force: true });
    throw e;
  }
}
