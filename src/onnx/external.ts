// External data without a file system (the browser, lp-onnx/web): initializers whose bytes live in
// files beside the model, read from those files' contents in memory.
import { OnnxFormatError } from './codec';
import type { ModelProto } from './proto';
import { type ExternalReader, isExternal, protoByteSize } from './tensor';

export function hasExternalData(model: ModelProto): boolean {
  return (model.graph?.initializer ?? []).some(isExternal);
}

/**
 * A location read from beside the model must stay inside the model's folder: not absolute, and no
 * '..' that climbs above it ('a/../b' is 'b'). WHAT names the model in the error.
 */
export function checkExternalLocation(location: string, what: string): void {
  let depth = 0;
  for (const part of location.split(/[\\/]/)) {
    if (part === '..') depth--;
    else if (part !== '' && part !== '.') depth++;
    if (depth < 0) break;
  }
  if (/^([\\/]|[A-Za-z]:)/.test(location) || depth < 0) {
    throw new OnnxFormatError(`${what}: external data location '${location}' must be a path inside the model's folder`);
  }
}

/** The files (locations) a model's external initializers are stored in. */
export function externalLocations(model: ModelProto): string[] {
  const out = new Set<string>();
  for (const t of model.graph?.initializer ?? []) {
    if (isExternal(t)) out.add(t.external_data?.find((e) => e.key === 'location')?.value ?? '');
  }
  return [...out];
}

/** Copies external data into raw_data so the model is self-contained (the input is not changed). */
export function internalizeExternalData(model: ModelProto, readExternal: ExternalReader): ModelProto {
  const out = structuredClone(model);
  for (const t of out.graph?.initializer ?? []) {
    if (!isExternal(t)) continue;
    const get = (k: string) => t.external_data?.find((e) => e.key === k)?.value;
    const location = get('location') ?? '';
    const offset = Number(get('offset') ?? '0');
    const length = get('length') === undefined ? protoByteSize(t) : Number(get('length'));
    t.raw_data = readExternal(location, offset, length);
    delete t.external_data;
    delete t.data_location;
  }
  return out;
}

/** Reads external data from files held in memory, by location (a file's name beside the model). */
export function memoryReader(files: ReadonlyMap<string, Uint8Array>, what: string): ExternalReader {
  return (location, offset, length) => {
    const data = files.get(location);
    if (!data) throw new OnnxFormatError(`${what}: external data file '${location}' was not given (given: ${[...files.keys()].join(', ') || 'none'})`);
    const n = length ?? data.length - offset;
    if (offset < 0 || offset + n > data.length) {
      throw new OnnxFormatError(`${what}: external data '${location}' has ${data.length} bytes; offset ${offset} + length ${n} is past its end`);
    }
    return data.subarray(offset, offset + n);
  };
}
