// Op cases: one table per op, shared by every backend (see test/ops.test.ts).
import { lpOp } from '../../ops/index';
import { seededRandom } from '../../src/cli/run';
import { floatToHalf, halfToFloat } from '../../src/onnx/tensor';

export type Fill = 'mixed' | 'positive' | 'negative' | 'zeros' | 'huge' | 'tiny' | 'near-million' | 'weights' | 'exponents';

export interface InputSpec {
  dims: number[];
  fill?: Fill;
  /** explicit values (after the fill); NaN and Infinity allowed */
  values?: number[];
}

export interface OpCase {
  name: string;
  op: 'LpNorm' | 'LpPool' | 'L1Conv';
  /** inputs in op order; null = absent optional input */
  inputs: (InputSpec | null)[];
  attrs: Record<string, number | string | number[]>;
  /** weights/exponents as graph inputs (not constants): the function body's general form */
  feedWeights?: boolean;
  /** T (X, W, B, Y) float16: the inputs are rounded to float16 first, the reference runs on those values */
  dtype?: 'float16';
  /** P given as float16 (whatever T is) */
  pType?: 'float16';
  /**
   * Why the function bodies are not held to this case: a limit of theirs that the kernels meet and
   * ops.md asks of every implementation (the bodies' backends skip it, printing this)
   */
  kernelsOnly?: string;
}

/** The nearest float16 value (round to nearest even; beyond the range: +-inf). */
/** n values in [0.5, 0.6] (p < 1 cases: 16 of them put the root of p = 1/31.9 near 2^127) */
export function nearOneHalf(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 0.55 + 0.05 * Math.sin(i));
}

export function roundHalf(v: number): number {
  return halfToFloat(floatToHalf(v));
}

/** Whether input I of the op is P (exponents, float or float16 whatever T is; ops/ names it), else it is of type T. */
export function isExponentInput(op: OpCase['op'], i: number): boolean {
  return lpOp(op)?.inputs[i]?.name === 'P';
}

/** The element type of input I of case C. */
export function inputType(c: OpCase, i: number): 'float32' | 'float16' {
  return (isExponentInput(c.op, i) ? c.pType : c.dtype) === 'float16' ? 'float16' : 'float32';
}

/** The float16 twin of a float32 case: every input of T, and Y, in float16. */
export function float16Case(c: OpCase): OpCase {
  return { ...c, name: `${c.name} float16`, dtype: 'float16' };
}

/** Whether a case's inputs fit float16 (|x| <= 65504): its fills and explicit values. */
export function fitsFloat16(c: OpCase): boolean {
  return c.inputs.every((s) => !s || ((s.fill ?? 'mixed') !== 'huge' && s.fill !== 'near-million' && (s.values ?? []).every((v) => !(Math.abs(v) > 65504) || !Number.isFinite(v))));
}

/** float32 values of an input, from a seed: every backend gets exactly these. */
export function makeInput(spec: InputSpec, seed: number): Float32Array {
  const n = spec.dims.reduce((a, b) => a * b, 1);
  if (spec.values) {
    if (spec.values.length !== n) throw new Error(`case input: ${spec.values.length} values for dims [${spec.dims}]`);
    return Float32Array.from(spec.values);
  }
  const r = seededRandom(seed);
  const fill = spec.fill ?? 'mixed';
  const gen: Record<Fill, () => number> = {
    mixed: () => r() * 4 - 2,
    positive: () => 0.05 + r() * 2,
    negative: () => -0.05 - r() * 2,
    zeros: () => 0,
    huge: () => (r() < 0.5 ? -1 : 1) * 10 ** (5 + r()),
    tiny: () => (r() < 0.5 ? -1 : 1) * 10 ** (-6 + r()),
    // large and close together: x - w cancels (L1Conv's min identity must not)
    'near-million': () => 1e6 - 2 * r(),
    weights: () => (r() < 0.15 ? 0 : r()),
    exponents: () => 1 + r() * 5,
  };
  return Float32Array.from({ length: n }, gen[fill]);
}
