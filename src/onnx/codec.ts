// ModelProto <-> bytes. Decoding keeps every field of the current IR; int64 values come back
// as numbers when they are safe integers and as bigints otherwise.
import Long from 'long';
import type * as protobuf from 'protobufjs';
import type { FunctionProto, ModelProto, TensorProto } from './proto';
import { FunctionProtoType, ModelProtoType, TensorProtoType } from './schema';

export class OnnxFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxFormatError';
  }
}

function isPlainContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  return typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !Long.isLong(v);
}

/** Long -> number | bigint, in place, through plain objects and arrays. */
function fromLongs(v: unknown): unknown {
  if (Long.isLong(v)) {
    const l = v as Long;
    const big = BigInt(l.toString());
    const n = Number(big);
    return Number.isSafeInteger(n) ? n : big;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = fromLongs(v[i]);
    return v;
  }
  if (isPlainContainer(v)) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = fromLongs(o[k]);
    return o;
  }
  return v;
}

/** bigint -> Long, into a shallow copy of every container on the way (the input is not mutated). */
function toLongs(v: unknown): unknown {
  if (typeof v === 'bigint') return Long.fromString(BigInt.asIntN(64, v).toString());
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const c = toLongs(v[i]);
      if (c !== v[i]) {
        out ??= v.slice();
        out[i] = c;
      }
    }
    return out ?? v;
  }
  if (isPlainContainer(v)) {
    const o = v as Record<string, unknown>;
    let out: Record<string, unknown> | undefined;
    for (const k of Object.keys(o)) {
      const c = toLongs(o[k]);
      if (c !== o[k]) {
        out ??= { ...o };
        out[k] = c;
      }
    }
    return out ?? o;
  }
  return v;
}

function decodeWith<T>(type: protobuf.Type, bytes: Uint8Array, what: string): T {
  if (bytes.length === 0) throw new OnnxFormatError(`${what}: the file is empty (0 bytes), expected an ONNX ${type.name}`);
  let msg: protobuf.Message;
  try {
    msg = type.decode(bytes);
  } catch (e) {
    const reason = (e as Error).message;
    const truncated = /index out of range|premature|invalid wire type|truncated/i.test(reason);
    throw new OnnxFormatError(`${what}: not a valid ONNX ${type.name}: ${truncated ? 'the file is truncated or corrupt' : 'corrupt protobuf'} (${reason})`);
  }
  const obj = type.toObject(msg, {});
  return fromLongs(obj) as T;
}

export function decodeModel(bytes: Uint8Array, what = 'model'): ModelProto {
  const model = decodeWith<ModelProto>(ModelProtoType, bytes, what);
  if (model.graph === undefined || model.ir_version === undefined) {
    throw new OnnxFormatError(
      `${what}: not an ONNX model: ${model.graph === undefined ? 'no graph' : 'no ir_version'} (ModelProto.graph and ir_version are required)`,
    );
  }
  return model;
}

export function encodeModel(model: ModelProto): Uint8Array {
  return ModelProtoType.encode(toLongs(model) as Record<string, unknown>).finish();
}

export function decodeTensor(bytes: Uint8Array, what = 'tensor'): TensorProto {
  return decodeWith<TensorProto>(TensorProtoType, bytes, what);
}

export function encodeTensor(t: TensorProto): Uint8Array {
  return TensorProtoType.encode(toLongs(t) as Record<string, unknown>).finish();
}

export function encodeFunction(f: FunctionProto): Uint8Array {
  return FunctionProtoType.encode(toLongs(f) as Record<string, unknown>).finish();
}
