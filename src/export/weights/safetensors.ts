// .safetensors: u64 little-endian header size, a JSON header {name: {dtype, shape, data_offsets}},
// then the little-endian data.
import type { DType, Tensor, TypedArray } from '../../onnx/tensor';
import { makeTensor } from '../../onnx/tensor';

export class SafetensorsError extends Error {}

const DTYPES: Record<string, Exclude<DType, 'string'>> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  U16: 'uint16',
  U32: 'uint32',
  U64: 'uint64',
  BOOL: 'bool',
};

export function readSafetensors(bytes: Uint8Array, what: string): Map<string, Tensor> {
  if (bytes.length < 8) throw new SafetensorsError(`${what}: too short for a .safetensors file (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.length - 8) throw new SafetensorsError(`${what}: header of ${headerLen} bytes runs past the end of the file (truncated or not .safetensors)`);
  let header: Record<string, { dtype?: string; shape?: number[]; data_offsets?: [number, number] }>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString('utf8'));
  } catch (e) {
    throw new SafetensorsError(`${what}: the header is not JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const out = new Map<string, Tensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const dtype = DTYPES[info.dtype ?? ''];
    if (!dtype) throw new SafetensorsError(`${what}: tensor '${name}' has dtype '${info.dtype}', which is not supported`);
    const shape = info.shape ?? [];
    const [b, e] = info.data_offsets ?? [-1, -1];
    const t = makeTensor(dtype, shape);
    const dst = new Uint8Array((t.data as TypedArray).buffer);
    if (!(b >= 0 && e >= b && e <= dataLen)) throw new SafetensorsError(`${what}: tensor '${name}' has data offsets [${b}, ${e}] outside the ${dataLen} data bytes`);
    if (e - b !== dst.length) throw new SafetensorsError(`${what}: tensor '${name}' has ${e - b} bytes, its shape [${shape}] of ${info.dtype} needs ${dst.length}`);
    dst.set(bytes.subarray(dataStart + b, dataStart + e));
    out.set(name, t);
  }
  return out;
}
