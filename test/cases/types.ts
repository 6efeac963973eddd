// Op cases: one table per op, shared by every backend (see test/ops.test.ts).
import { seededRandom } from '../../src/cli/run';

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
