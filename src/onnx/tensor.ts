// Tensor codec: TensorProto <-> typed arrays, for raw_data (little-endian), the typed fields and
// external data. float16 / bfloat16 are held as their 16-bit patterns (Uint16Array) and can be
// widened with toFloat32().
import type { Int64, TensorProto } from './proto';
import { int64ToNumber } from './proto';

export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
  FLOAT8E8M0: 24,
  UINT2: 25,
  INT2: 26,
} as const;

export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string';

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

interface DTypeInfo {
  code: number;
  bytes: number;
  make: (n: number) => TypedArray;
  fromBuffer: (b: ArrayBuffer, offset: number, n: number) => TypedArray;
}

const info: Record<Exclude<DType, 'string'>, DTypeInfo> = {
  float32: { code: 1, bytes: 4, make: (n) => new Float32Array(n), fromBuffer: (b, o, n) => new Float32Array(b, o, n) },
  float64: { code: 11, bytes: 8, make: (n) => new Float64Array(n), fromBuffer: (b, o, n) => new Float64Array(b, o, n) },
  float16: { code: 10, bytes: 2, make: (n) => new Uint16Array(n), fromBuffer: (b, o, n) => new Uint16Array(b, o, n) },
  bfloat16: { code: 16, bytes: 2, make: (n) => new Uint16Array(n), fromBuffer: (b, o, n) => new Uint16Array(b, o, n) },
  int8: { code: 3, bytes: 1, make: (n) => new Int8Array(n), fromBuffer: (b, o, n) => new Int8Array(b, o, n) },
  uint8: { code: 2, bytes: 1, make: (n) => new Uint8Array(n), fromBuffer: (b, o, n) => new Uint8Array(b, o, n) },
  int16: { code: 5, bytes: 2, make: (n) => new Int16Array(n), fromBuffer: (b, o, n) => new Int16Array(b, o, n) },
  uint16: { code: 4, bytes: 2, make: (n) => new Uint16Array(n), fromBuffer: (b, o, n) => new Uint16Array(b, o, n) },
  int32: { code: 6, bytes: 4, make: (n) => new Int32Array(n), fromBuffer: (b, o, n) => new Int32Array(b, o, n) },
  uint32: { code: 12, bytes: 4, make: (n) => new Uint32Array(n), fromBuffer: (b, o, n) => new Uint32Array(b, o, n) },
  int64: { code: 7, bytes: 8, make: (n) => new BigInt64Array(n), fromBuffer: (b, o, n) => new BigInt64Array(b, o, n) },
  uint64: { code: 13, bytes: 8, make: (n) => new BigUint64Array(n), fromBuffer: (b, o, n) => new BigUint64Array(b, o, n) },
  bool: { code: 9, bytes: 1, make: (n) => new Uint8Array(n), fromBuffer: (b, o, n) => new Uint8Array(b, o, n) },
};

const byCode = new Map<number, DType>(Object.entries(info).map(([k, v]) => [v.code, k as DType]));
byCode.set(DataType.STRING, 'string');

export function dtypeFromCode(code: number): DType | undefined {
  return byCode.get(code);
}

export function dtypeCode(dtype: DType): number {
  return dtype === 'string' ? DataType.STRING : info[dtype].code;
}

/** The element type code of a type name (onnxruntime's tensor types use the same names), if it is one. */
export function dtypeCodeOf(name: string): number | undefined {
  return name === 'string' ? DataType.STRING : Object.hasOwn(info, name) ? info[name as Exclude<DType, 'string'>].code : undefined;
}

export function dtypeName(code: number): string {
  for (const [k, v] of Object.entries(DataType)) if (v === code) return k.toLowerCase();
  return `type ${code}`;
}

export function bytesPerElement(dtype: Exclude<DType, 'string'>): number {
  return info[dtype].bytes;
}

export function isFloatDType(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

/** A dense tensor in memory. */
export interface Tensor {
  dtype: DType;
  dims: number[];
  /** string tensors hold string[]; float16/bfloat16 hold their bit patterns. */
  data: TypedArray | string[];
}

export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function makeTensor(dtype: Exclude<DType, 'string'>, dims: number[], data?: TypedArray | ArrayLike<number>): Tensor {
  const n = sizeOf(dims);
  const out = info[dtype].make(n);
  if (data !== undefined) {
    if (data.length !== n) throw new RangeError(`tensor data has ${data.length} elements, dims [${dims}] need ${n}`);
    if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
      for (let i = 0; i < n; i++) out[i] = BigInt((data as ArrayLike<number | bigint>)[i]);
    } else {
      (out as Float32Array).set(data as ArrayLike<number>);
    }
  }
  return { dtype, dims: [...dims], data: out };
}

// --- float16 / bfloat16 -----------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float -> float16 bits, round to nearest even. */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  e = h >>> 10;
  return sign | h;
}

export function bfloat16ToFloat(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

export function floatToBfloat16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if (Number.isNaN(x)) return (b >>> 16) | 0x40;
  const rounding = 0x7fff + ((b >>> 16) & 1);
  return ((b + rounding) >>> 16) & 0xffff;
}

/** Widen any numeric tensor's data to float32 (float16/bfloat16 decoded from their bits). */
export function toFloat32(t: Tensor): Float32Array {
  if (t.dtype === 'string') throw new TypeError('a string tensor has no float values');
  const d = t.data as TypedArray;
  const out = new Float32Array(d.length);
  if (t.dtype === 'float16') for (let i = 0; i < d.length; i++) out[i] = halfToFloat(d[i] as number);
  else if (t.dtype === 'bfloat16') for (let i = 0; i < d.length; i++) out[i] = bfloat16ToFloat(d[i] as number);
  else for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  return out;
}

export function toFloat64(t: Tensor): Float64Array {
  if (t.dtype === 'float64') return t.data as Float64Array;
  return Float64Array.from(toFloat32(t));
}

/** Integer values of an int32/int64 tensor as numbers (shape tensors, axes, ...). */
export function toNumbers(t: Tensor): number[] {
  if (t.dtype === 'string') throw new TypeError('a string tensor has no numbers');
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

// --- TensorProto <-> Tensor ---------------------------------------------------------------------

export class TensorDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TensorDataError';
  }
}

/** Reads external data: (location, offset, length) -> bytes. */
export type ExternalReader = (location: string, offset: number, length: number | undefined) => Uint8Array;

function externalEntry(t: TensorProto, key: string): string | undefined {
  return t.external_data?.find((e) => e.key === key)?.value;
}

export function isExternal(t: TensorProto): boolean {
  return t.data_location === 1;
}

function copyLE(bytes: Uint8Array, dtype: Exclude<DType, 'string'>, n: number, what: string): TypedArray {
  const need = n * info[dtype].bytes;
  if (bytes.length !== need) {
    throw new TensorDataError(`${what}: raw data has ${bytes.length} bytes, expected ${need} (${n} x ${dtype})`);
  }
  // Copy into an aligned buffer (protobuf slices are not aligned); this machine is little-endian.
  const buf = new ArrayBuffer(need);
  new Uint8Array(buf).set(bytes);
  return info[dtype].fromBuffer(buf, 0, n);
}

export function tensorFromProto(t: TensorProto, readExternal?: ExternalReader): Tensor {
  const what = `tensor '${t.name ?? ''}'`;
  const code = t.data_type ?? 0;
  const dtype = dtypeFromCode(code);
  if (dtype === undefined) throw new TensorDataError(`${what}: element type ${dtypeName(code)} is not supported here`);
  const dims = (t.dims ?? []).map((d: Int64) => int64ToNumber(d, `${what} dims`));
  if (dims.some((d) => d < 0)) throw new TensorDataError(`${what}: negative dimension in [${dims}]`);
  const n = sizeOf(dims);
  if (dtype === 'string') {
    const s = (t.string_data ?? []).map((b) => new TextDecoder().decode(b));
    if (s.length !== n) throw new TensorDataError(`${what}: ${s.length} strings, expected ${n}`);
    return { dtype, dims, data: s };
  }
  if (isExternal(t)) {
    const location = externalEntry(t, 'location');
    if (!location) throw new TensorDataError(`${what}: external data without a 'location'`);
    if (!readExternal) throw new TensorDataError(`${what}: stored in external file '${location}' but no model directory is known`);
    const offset = Number(externalEntry(t, 'offset') ?? '0');
    const lengthText = externalEntry(t, 'length');
    const length = lengthText === undefined ? undefined : Number(lengthText);
    const bytes = readExternal(location, offset, length ?? n * info[dtype].bytes);
    return { dtype, dims, data: copyLE(bytes, dtype, n, what) };
  }
  if (t.raw_data !== undefined && t.raw_data.length > 0) {
    return { dtype, dims, data: copyLE(t.raw_data, dtype, n, what) };
  }
  const out = info[dtype].make(n);
  const field = typedFieldOf(dtype);
  const src = (t[field] ?? []) as ArrayLike<number | bigint>;
  if (src.length !== n) throw new TensorDataError(`${what}: ${field} has ${src.length} values, expected ${n}`);
  if (out instanceof BigInt64Array) for (let i = 0; i < n; i++) out[i] = BigInt(src[i]);
  else if (out instanceof BigUint64Array) for (let i = 0; i < n; i++) out[i] = BigInt.asUintN(64, BigInt(src[i]));
  else for (let i = 0; i < n; i++) (out as Float32Array)[i] = Number(src[i]);
  return { dtype, dims, data: out };
}

type TypedField = 'float_data' | 'double_data' | 'int32_data' | 'int64_data' | 'uint64_data';

function typedFieldOf(dtype: Exclude<DType, 'string'>): TypedField {
  switch (dtype) {
    case 'float32':
      return 'float_data';
    case 'float64':
      return 'double_data';
    case 'int64':
      return 'int64_data';
    case 'uint32':
    case 'uint64':
      return 'uint64_data';
    default:
      return 'int32_data';
  }
}

/** A TensorProto holding the tensor in raw_data (strings in string_data). */
export function tensorToProto(t: Tensor, name: string): TensorProto {
  const proto: TensorProto = { dims: [...t.dims], data_type: dtypeCode(t.dtype), name };
  if (t.dtype === 'string') {
    proto.string_data = (t.data as string[]).map((s) => new TextEncoder().encode(s));
    return proto;
  }
  const d = t.data as TypedArray;
  proto.raw_data = new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
  return proto;
}

export function protoDims(t: TensorProto): number[] {
  return (t.dims ?? []).map((d) => int64ToNumber(d, `tensor '${t.name ?? ''}' dims`));
}

/** Byte size of the tensor's payload, wherever it is stored. */
export function protoByteSize(t: TensorProto): number {
  const dtype = dtypeFromCode(t.data_type ?? 0);
  if (dtype === undefined || dtype === 'string') return 0;
  return sizeOf(protoDims(t)) * info[dtype].bytes;
}
