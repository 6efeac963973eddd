// The bound of each benchmark case: its work counted from its sizes, against the measured peaks of
// the instructions the kernels use (kernels/cpu/peaks.h), so that `npm run bench` prints how close
// a path comes to what this CPU allows, not only its time.
// - compute: each kind of step (an FMA, L1Conv's min + add, per-unit LpNorm's w 2^(p l), LpPool's
//   r^p, a plain add or compare) counted per element, over its measured rate; the kinds add up, as
//   they share the vector ports;
// - memory: the bytes of the inputs, weights and outputs once, over the measured streaming rates
//   (weights and inputs may sit in the caches, so this part is itself generous);
// - the bound is the larger of the two, and a path's fraction is bound / its time.
import { outputSize } from '../ops/geometry';
import type { NativePeaks } from '../src/node/binding';
import type { TorchForm } from './bench-cases';

type Step = 'fma' | 'minAdd' | 'exp2Dot' | 'powTerm' | 'add';
export type Work = Partial<Record<Step, number>> & { readBytes: number; writeBytes: number };

const STEPS: Step[] = ['fma', 'minAdd', 'exp2Dot', 'powTerm', 'add'];
const F32 = 4;
const prod = (v: number[]) => v.reduce((a, b) => a * b, 1);

/** The work of a case's fused kernel and of its anchor (the standard op of the same size). */
export function caseWork(f: TorchForm): { fused: Work; anchor: Work } {
  switch (f.form) {
    case 'lpnorm': {
      const { B, K, M } = f;
      const io = { readBytes: F32 * (B * K + M * K), writeBytes: F32 * B * M };
      // shared p: a(x), scaling and the power per input element (a few adds' worth, p = 3 a cube),
      // the GEMM, a root per output; per-unit p: a log per input element, 2^(p l) per (row, unit,
      // element), a root per output
      const fused: Work = f.p !== undefined ? { ...io, add: 4 * B * K, fma: B * K * M, powTerm: B * M } : { ...io, powTerm: B * K + B * M, exp2Dot: B * K * M };
      return { fused, anchor: { ...io, fma: B * K * M } };
    }
    case 'lppool': {
      const { N, C, H, k, s } = f;
      const o = outputSize('pool', H, k, s, 1, 0, 0, false);
      const width = (o - 1) * s + k;
      const inputs = N * C * H * H, outputs = N * C * o * o;
      const io = { readBytes: F32 * inputs, writeBytes: F32 * outputs };
      // the plane maximum and the term r^p per input element; per output row, its k window rows
      // combined column by column, then k columns per output; a root per output
      const windowAdds = N * C * o * ((k * k - 1) * width + (k - 1) * o);
      return { fused: { ...io, add: inputs + windowAdds, powTerm: inputs + outputs }, anchor: { ...io, add: (k * k - 1) * outputs } };
    }
    case 'gem': {
      const { N, C, H } = f;
      const inputs = N * C * H * H;
      const io = { readBytes: F32 * inputs, writeBytes: F32 * N * C };
      // two passes per plane (the second from the cache): NaN test and maximum, then a(x), the
      // scaling, the cube and the sum, about ten vector steps per element in all
      return { fused: { ...io, add: 10 * inputs, powTerm: N * C }, anchor: { ...io, add: inputs } };
    }
    case 'l1conv': {
      const { N, Cin, Cout, spatial, k, pad } = f;
      const out = spatial.map((d) => outputSize('conv', d, k, 1, 1, pad, pad, false));
      const taps = k ** spatial.length;
      const steps = N * Cout * Cin * taps * prod(out);
      const io = { readBytes: F32 * (N * Cin * prod(spatial) + Cout * Cin * taps), writeBytes: F32 * N * Cout * prod(out) };
      // one min + add per (output, input channel, tap), against Conv's one FMA
      return { fused: { ...io, minAdd: steps }, anchor: { ...io, fma: steps } };
    }
  }
}

export interface Bound {
  ms: number;
  /** what bounds it: compute or memory */
  limit: 'compute' | 'memory';
}

export function boundOf(w: Work, peaks: NativePeaks): Bound {
  const compute = STEPS.reduce((t, s) => t + (w[s] ?? 0) / peaks[s], 0);
  const memory = w.readBytes / peaks.readBytes + w.writeBytes / peaks.writeBytes;
  return compute >= memory ? { ms: compute * 1e3, limit: 'compute' } : { ms: memory * 1e3, limit: 'memory' };
}

/** One line of the measured peaks, per second over all threads. */
export function peaksLine(p: NativePeaks, isa: string, threads: number): string {
  const g = (v: number) => `${(v / 1e9).toFixed(1)} G`;
  return `measured peaks (${isa}, ${p.lanes} lanes, ${threads} threads at once; elements per second): FMA ${g(p.fma)}, min + add ${g(p.minAdd)}, w 2^(p l) ${g(p.exp2Dot)}, r^p ${g(p.powTerm)}, add ${g(p.add)}; memory read ${g(p.readBytes)}B/s, write ${g(p.writeBytes)}B/s`;
}
