// NumPy .npy files (format 1.0 / 2.0, little-endian, C order).
import type { DType, Tensor, TypedArray } from '../onnx/tensor';
import { makeTensor } from '../onnx/tensor';

const descrToDtype: Record<string, Exclude<DType, 'string'>> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<f2': 'float16',
  '<i8': 'int64',
  '<i4': 'int32',
  '<i2': 'int16',
  '|i1': 'int8',
  '|u1': 'uint8',
  '<u2': 'uint16',
  '<u4': 'uint32',
  '<u8': 'uint64',
  '|b1': 'bool',
};

export class NpyError extends Error {}

export function parseNpy(bytes: Uint8Array, what: string): Tensor {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((m, i) => bytes[i] !== m)) throw new NpyError(`${what}: not a .npy file (bad magic)`);
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.length) throw new NpyError(`${what}: truncated .npy header`);
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new NpyError(`${what}: unreadable .npy header: ${header.trim()}`);
  if (fortran === 'True') throw new NpyError(`${what}: Fortran-order arrays are not supported (save with np.ascontiguousarray)`);
  const dtype = descrToDtype[descr];
  if (!dtype) throw new NpyError(`${what}: dtype '${descr}' is not supported`);
  const dims = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const t = makeTensor(dtype, dims);
  const data = t.data as TypedArray;
  const body = bytes.subarray(start + headerLen);
  if (body.length < data.byteLength) throw new NpyError(`${what}: ${body.length} data bytes, expected ${data.byteLength}`);
  new Uint8Array(data.buffer).set(body.subarray(0, data.byteLength));
  return t;
}

export function formatNpy(t: Tensor): Uint8Array {
  const descr = Object.entries(descrToDtype).find(([, d]) => d === t.dtype)?.[0];
  if (!descr) throw new NpyError(`cannot write dtype ${t.dtype} to .npy`);
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const data = t.data as TypedArray;
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
