// Small pieces shared by the op modules.
import { LpOpError } from './attributes';
import type { Dim } from './geometry';
import type { NdArray, NodeContext, ValueType } from './types';

export const FLOAT = 1;

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
  if (t !== undefined && t.elemType !== 0 && t.elemType !== FLOAT) {
    throw new LpOpError(op, node, `input ${name} must be float32 (tensor(float)), got element type ${t.elemType}`);
  }
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
