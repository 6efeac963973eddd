import { type Fill, nearOneHalf, type OpCase } from './types';

const X = (dims: number[], fill: Fill = 'mixed') => ({ dims, fill });
const W = (m: number, k: number) => ({ dims: [m, k], fill: 'weights' as const });
const inf = Number.POSITIVE_INFINITY;
const nan = Number.NaN;
/** rows with a NaN first, in the middle and last */
const NAN_ROWS = { dims: [3, 5], values: [nan, 1, 2, 3, 4, 1, -2, nan, 3, 4, 1, 2, -3, 4, nan] };
/** M rows of positive weights (so that every element reaches every unit) */
const POSITIVE_W = (m: number) => ({ dims: [m, 5], values: Array.from({ length: m * 5 }, (_, i) => 0.25 + (i % 4) * 0.5) });

export const lpNormCases: OpCase[] = [
  { name: 'lpnorm shared p=2 default', op: 'LpNorm', inputs: [X([4, 16]), W(8, 16)], attrs: {} },
  { name: 'lpnorm p=1', op: 'LpNorm', inputs: [X([4, 16]), W(8, 16)], attrs: { p: 1 } },
  { name: 'lpnorm p=3.7 mean', op: 'LpNorm', inputs: [X([4, 16], 'positive'), { dims: [8, 16], fill: 'positive' }], attrs: { p: 3.7, mean: 1 } },
  { name: 'lpnorm p=64', op: 'LpNorm', inputs: [X([3, 12]), W(5, 12)], attrs: { p: 64 } },
  { name: 'lpnorm p=inf attr', op: 'LpNorm', inputs: [X([4, 16]), W(8, 16)], attrs: { p: inf } },
  { name: 'lpnorm p=0.5', op: 'LpNorm', inputs: [X([4, 16], 'positive'), W(8, 16)], attrs: { p: 0.5 } },
  { name: 'lpnorm per-unit P 1,2,3.7,64,inf', op: 'LpNorm', inputs: [X([4, 10]), W(6, 10), { dims: [6], values: [1, 2, 3.7, 64, inf, 1.5] }], attrs: {} },
  { name: 'lpnorm per-unit P finite', op: 'LpNorm', inputs: [X([4, 10]), W(6, 10), { dims: [6], fill: 'exponents' }], attrs: { mean: 1 } },
  {
    name: 'lpnorm per-unit P fed at run time',
    op: 'LpNorm',
    inputs: [X([4, 10]), W(6, 10), { dims: [6], values: [1, 2, 3.7, 8, inf, 1.5] }],
    attrs: {},
    feedWeights: true,
  },
  { name: 'lpnorm shared P [1] fed at run time', op: 'LpNorm', inputs: [X([4, 10]), W(6, 10), { dims: [1], values: [3.7] }], attrs: {}, feedWeights: true },
  { name: 'lpnorm shared P [1] = inf', op: 'LpNorm', inputs: [X([4, 10]), W(6, 10), { dims: [1], values: [inf] }], attrs: {} },
  { name: 'lpnorm scalar P', op: 'LpNorm', inputs: [X([4, 10]), W(6, 10), { dims: [], values: [2.5] }], attrs: {} },
  { name: 'lpnorm clamp eps mean (GeM-like)', op: 'LpNorm', inputs: [X([4, 16]), W(8, 16)], attrs: { mode: 'clamp', eps: 1e-6, mean: 1, p: 3 } },
  {
    name: 'lpnorm seed layer eps sum_eps',
    op: 'LpNorm',
    inputs: [X([4, 16]), W(8, 16), { dims: [8], fill: 'exponents' }],
    attrs: { eps: 1e-6, sum_eps: 1e-6 },
  },
  { name: 'lpnorm zeros eps 0', op: 'LpNorm', inputs: [X([2, 8], 'zeros'), W(4, 8)], attrs: { p: 3 } },
  { name: 'lpnorm zeros sum_eps p=64', op: 'LpNorm', inputs: [X([2, 8], 'zeros'), W(4, 8)], attrs: { p: 64, sum_eps: 1e-6 } },
  { name: 'lpnorm negatives abs', op: 'LpNorm', inputs: [X([4, 16], 'negative'), W(8, 16)], attrs: { p: 2.5 } },
  { name: 'lpnorm negatives clamp', op: 'LpNorm', inputs: [X([4, 16], 'negative'), W(8, 16)], attrs: { mode: 'clamp', eps: 1e-6 } },
  { name: 'lpnorm huge p=8', op: 'LpNorm', inputs: [X([4, 16], 'huge'), W(8, 16)], attrs: { p: 8 } },
  { name: 'lpnorm tiny p=64 per-unit', op: 'LpNorm', inputs: [X([4, 16], 'tiny'), W(4, 16), { dims: [4], values: [1, 7, 64, 2] }], attrs: {} },
  { name: 'lpnorm rank 1', op: 'LpNorm', inputs: [X([16]), W(8, 16)], attrs: { p: 3 } },
  { name: 'lpnorm rank 3', op: 'LpNorm', inputs: [X([2, 3, 16]), W(8, 16), { dims: [8], fill: 'exponents' }], attrs: {} },
  {
    name: 'lpnorm zero weight rows p=inf',
    op: 'LpNorm',
    inputs: [X([3, 4]), { dims: [3, 4], values: [0, 0, 0, 0, 1, 0, 2, 0, 0.5, 0.5, 0.5, 0.5] }],
    attrs: { p: inf },
  },
  {
    name: 'lpnorm NaN propagates',
    op: 'LpNorm',
    inputs: [
      { dims: [2, 4], values: [1, Number.NaN, 2, 3, 1, 2, 3, 4] },
      { dims: [3, 4], values: [1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 1, 0] },
    ],
    attrs: { p: 2 },
  },
  // more than one workgroup tile every way on the WGSL kernel (16 rows x 64 units x 32-wide K slices)
  { name: 'lpnorm tiles shared p', op: 'LpNorm', inputs: [X([37, 70]), W(150, 70)], attrs: { p: 3 } },
  // more than one 64-row tile, a partial last one, and a fed P of one value
  { name: 'lpnorm tiles rows shared P [1] fed', op: 'LpNorm', inputs: [X([130, 21]), W(70, 21), { dims: [1], values: [2.5] }], attrs: {}, feedWeights: true },
  // shared p: units whose weighted inputs are all far below their row's maximum (1e-2 against 1e6:
  // their terms (1e-8)^8 underflow float when scaled by it), beside units that see the maximum;
  // the kernels must recompute those sums (a CPU path that skips it gives 0), the bodies take their
  // per-unit form (an If) for them
  {
    name: 'lpnorm shared p units far below the row maximum',
    op: 'LpNorm',
    inputs: [
      { dims: [3, 40], values: Array.from({ length: 120 }, (_, i) => (i % 40 === 7 ? 1e6 * (1 + (i % 3)) : 1e-2 * (1 + (i % 5)))) },
      { dims: [20, 40], values: Array.from({ length: 800 }, (_, i) => (i % 40 === 7 && (i / 40) % 2 < 1 ? 0 : 0.25 + ((i * 7) % 11) / 11)) },
    ],
    attrs: { p: 8 },
  },
  // the same units with a per-unit P: the per-unit form scales each unit by its own largest weighted
  // magnitude (a body scaled by the row's underflows there)
  {
    name: 'lpnorm per-unit p units far below the row maximum',
    op: 'LpNorm',
    inputs: [
      { dims: [3, 40], values: Array.from({ length: 120 }, (_, i) => (i % 40 === 7 ? 1e6 * (1 + (i % 3)) : 1e-2 * (1 + (i % 5)))) },
      { dims: [20, 40], values: Array.from({ length: 800 }, (_, i) => (i % 40 === 7 && (i / 40) % 2 < 1 ? 0 : 0.25 + ((i * 7) % 11) / 11)) },
      { dims: [20], values: Array.from({ length: 20 }, (_, j) => 8 + (j % 4)) },
    ],
    attrs: {},
  },
  // p < 1 (inside the op, outside the tolerance domain): 16 inputs of 0.5 - 0.6 with unit weights
  // put the root of p = 1/31.9 at about 2^127 (just inside float: its log2 root leaves +-120 before
  // the row's scale brings it back) and that of p = 0.01 at 2^400 (+inf)
  {
    name: 'lpnorm per-unit p below 1 roots near and beyond float range',
    op: 'LpNorm',
    inputs: [{ dims: [2, 16], values: nearOneHalf(32) }, { dims: [3, 16], values: new Array<number>(48).fill(1) }, { dims: [3], values: [1 / 31.9, 0.01, 2] }],
    attrs: {},
  },
  {
    name: 'lpnorm shared p below 1 root near float range',
    op: 'LpNorm',
    inputs: [{ dims: [2, 16], values: nearOneHalf(32) }, { dims: [3, 16], values: new Array<number>(48).fill(1) }],
    attrs: { p: 1 / 31.9 },
  },
  { name: 'lpnorm tiles rows p=inf', op: 'LpNorm', inputs: [X([70, 19]), W(66, 19)], attrs: { p: inf } },
  {
    name: 'lpnorm tiles per-unit P mean sum_eps',
    op: 'LpNorm',
    inputs: [X([2, 19, 70]), W(130, 70), { dims: [130], values: Array.from({ length: 130 }, (_, i) => (i % 17 === 5 ? inf : 1 + (i % 9) * 0.7)) }],
    attrs: { mean: 1, sum_eps: 0.01 },
  },
  // p = +inf meets NaN (ops.md: a maximum that meets a NaN is NaN): NaN first, in the middle and
  // last of a row, on the attribute, a shared P of one value, per-unit P and a fed P
  { name: 'lpnorm p=inf NaN first middle last', op: 'LpNorm', inputs: [NAN_ROWS, POSITIVE_W(2)], attrs: { p: inf } },
  { name: 'lpnorm shared P [1] = inf NaN', op: 'LpNorm', inputs: [NAN_ROWS, POSITIVE_W(2), { dims: [1], values: [inf] }], attrs: {} },
  { name: 'lpnorm per-unit P inf,2 NaN', op: 'LpNorm', inputs: [NAN_ROWS, POSITIVE_W(2), { dims: [2], values: [inf, 2] }], attrs: {} },
  {
    name: 'lpnorm per-unit P inf,2,inf NaN fed',
    op: 'LpNorm',
    inputs: [NAN_ROWS, POSITIVE_W(3), { dims: [3], values: [inf, 2, inf] }],
    attrs: {},
    feedWeights: true,
  },
  {
    name: 'lpnorm tiles p=inf NaN',
    op: 'LpNorm',
    inputs: [
      { dims: [70, 19], values: Array.from({ length: 70 * 19 }, (_, i) => (i % 37 === 0 || i % 19 === 18 ? Number.NaN : Math.sin(i))) },
      { dims: [66, 19], values: Array.from({ length: 66 * 19 }, (_, i) => 0.1 + (i % 7) / 7) },
    ],
    attrs: { p: inf },
  },
  // per-unit finite P over several tiles, weights with zeros and inputs with zeros (the CUDA kernel's
  // untested inner loop: w = 0 and a zero magnitude must add nothing)
  {
    name: 'lpnorm tiles per-unit P finite zeros',
    op: 'LpNorm',
    inputs: [
      { dims: [37, 70], values: Array.from({ length: 37 * 70 }, (_, i) => (i % 11 === 0 ? 0 : Math.sin(i) * 3)) },
      W(130, 70),
      { dims: [130], fill: 'exponents' },
    ],
    attrs: {},
  },
];

/** float16-specific cases (ops.md, "float16"), beside every case's float16 twin. */
export const lpNormFloat16Cases: OpCase[] = [
  // sqrt(4) x 60000 = 120000: beyond float16's 65504, +inf as IEEE rounding gives
  { name: 'lpnorm float16 result overflows to +inf', op: 'LpNorm', inputs: [{ dims: [2, 4], values: [6e4, 6e4, 6e4, 6e4, 1, 2, 3, 4] }, { dims: [1, 4], values: [1, 1, 1, 1] }, null], attrs: {}, dtype: 'float16' },
  // eps = 1e-9, below float16's smallest subnormal, still floors a(x) in float32: (1024 sqrt(1e-9))^2 = 1.05e-3
  { name: 'lpnorm float16 eps below float16 range', op: 'LpNorm', inputs: [X([2, 1024], 'zeros'), { dims: [1, 1024], values: new Array<number>(1024).fill(1) }, null], attrs: { p: 0.5, eps: 1e-9 }, dtype: 'float16' },
  // K = 4096: a float16 accumulator would be off by far more than the tolerance
  { name: 'lpnorm float16 K 4096 p=3', op: 'LpNorm', inputs: [X([2, 4096], 'positive'), W(3, 4096), null], attrs: { p: 3 }, dtype: 'float16' },
  { name: 'lpnorm float16 per-unit P given as float16', op: 'LpNorm', inputs: [X([3, 20]), W(5, 20), { dims: [5], fill: 'exponents' }], attrs: {}, dtype: 'float16', pType: 'float16' },
  { name: 'lpnorm float32 with P given as float16', op: 'LpNorm', inputs: [X([3, 20]), W(5, 20), { dims: [5], fill: 'exponents' }], attrs: {}, pType: 'float16' },
  { name: 'lpnorm float16 subnormal inputs', op: 'LpNorm', inputs: [{ dims: [2, 3], values: [6e-8, 1e-6, 3e-5, 2e-7, 5e-5, 1e-7] }, { dims: [2, 3], values: [1, 1, 1, 0.5, 0, 2] }, null], attrs: { p: 2 }, dtype: 'float16' },
];
