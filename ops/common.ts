// Small pieces shared by the op modules.
import { LpOpError } from './attributes';
import type { Dim } from './geometry';
import type { NdArray, NodeContext, ValueType } from './types';

export const FLOAT = 1;
export const FLOAT16 = 10;

const TYPE_NAMES: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 10: 'float16', 11: 'float64' };

/** The integer types of quantised tensors, by ONNX element type code, with their ranges. */
export const INTEGER_RANGES: Record<number, readonly [number, number]> = {
  2: [0, 255], // uint8
  3: [-128, 127], // int8
  4: [0, 65535], // uint16
  5: [-32768, 32767], // int16
  6: [-(2 ** 31), 2 ** 31 - 1], // int32
  21: [0, 15], // uint4
  22: [-8, 7], // int4
};

/** Round half to even (QuantizeLinear's and QLinearL1Conv's rounding, as std::nearbyint). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** An ONNX element type's name, by code. */
export function typeName(code: number): string {
  return TYPE_NAMES[code] ?? `element type ${code}`;
}

export function formatIndex(idx: readonly number[]): string {
  return `[${idx.join(',')}]`;
}

/** Multi-index of a flat offset (row-major). */
export function unravel(offset: number, dims: readonly number[]): number[] {
  const idx = new Array<number>(dims.length);
  for (let i = dims.length - 1; i >= 0; i--) {
    idx[i] = offset % dims[i];
    offset = Math.floor(offset / dims[i]);
  }
  return idx;
}

/** Two dims are known to differ only when both are numbers. */
export function sameDim(a: Dim | undefined, b: Dim | undefined): boolean {
  return typeof a !== 'number' || typeof b !== 'number' || a === b;
}

export function checkFloatInput(op: string, node: string, name: string, t: ValueType | undefined): void {
  if (t !== undefined && t.elemType !== 0 && t.elemType !== FLOAT && t.elemType !== FLOAT16) {
    throw new LpOpError(op, node, `input ${name} must be float32 or float16 (tensor(float) or tensor(float16)), got ${typeName(t.elemType)}`);
  }
}

/**
 * The node's T: X, W and B (those given) share one element type, float32 or float16 (P may be
 * either whatever T is). A mixed node is refused naming both tensors and types; 0 when none is known.
 */
export function nodeElemType(op: string, node: string, tensors: readonly [string, ValueType | undefined][]): number {
  let first: [string, number] | undefined;
  for (const [name, t] of tensors) {
    checkFloatInput(op, node, name, t);
    if (!t?.elemType) continue;
    if (!first) first = [name, t.elemType];
    else if (t.elemType !== first[1]) {
      throw new LpOpError(op, node, `inputs ${first[0]} and ${name} must have one element type (T): ${first[0]} is ${typeName(first[1])}, ${name} is ${typeName(t.elemType)}`);
    }
  }
  return first?.[1] ?? 0;
}

/** a(x) of ops.md. */
export function magnitude(x: number, mode: string, eps: number): number {
  return mode === 'abs' ? Math.max(Math.abs(x), eps) : Math.max(x, eps);
}

/** P <= 0 or NaN is an error; +inf is allowed. */
export function checkExponents(op: string, node: string, P: NdArray): void {
  for (let i = 0; i < P.data.length; i++) {
    const p = P.data[i];
    if (Number.isNaN(p)) throw new LpOpError(op, node, `P[${i}] is NaN; exponents must be > 0 or +inf`);
    if (!(p > 0)) throw new LpOpError(op, node, `P[${i}] = ${p}; exponents must be > 0 or +inf`);
  }
}

/**
 * Where a node's exponents come from, as far as the function body cares:
 * 'attr' (input absent), 'shared' (one value) or 'per-unit', with '?inf' when +inf may occur
 * (P is not a constant, or a constant holding +inf).
 */
export type ExponentSource = 'attr' | 'shared' | 'shared?inf' | 'per-unit' | 'per-unit?inf';

export function exponentSource(ctx: NodeContext, index: number): ExponentSource {
  if (!ctx.present[index]) return 'attr';
  const t = ctx.inputs[index];
  const c = ctx.constants[index];
  const shared = c ? c.data.length === 1 : t?.shape !== undefined && (t.shape.length === 0 || t.shape[0] === 1);
  const mayBeInf = c ? c.data.some((v) => v === Number.POSITIVE_INFINITY) : true;
  return `${shared ? 'shared' : 'per-unit'}${mayBeInf ? '?inf' : ''}` as ExponentSource;
}

export function product(xs: readonly number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

/** The one value every element has, or undefined when they differ. */
export function sameValue<T>(values: readonly T[]): T | undefined {
  return values.every((v) => v === values[0]) ? values[0] : undefined;
}
