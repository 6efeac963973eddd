import { nearOneHalf, type OpCase } from './types';

const inf = Number.POSITIVE_INFINITY;
const nan = Number.NaN;
/** two channels of two windows of 3: NaN first in the first window of one, last in the last of the other */
const NAN_WINDOWS = { dims: [1, 2, 6], values: [nan, 1, 2, 3, -4, 5, 1, 2, 3, 4, -5, nan] };
/** global planes of 3: NaN first, last, in the middle, and none */
const NAN_PLANES = { dims: [2, 2, 3], values: [nan, 1, 2, 1, -2, nan, 1, nan, 2, 1, 2, 3] };
const X = (dims: number[], fill: 'mixed' | 'positive' | 'negative' | 'zeros' | 'huge' | 'tiny' = 'mixed') => ({ dims, fill });

export const lpPoolCases: OpCase[] = [
  { name: 'lppool 1d k3', op: 'LpPool', inputs: [X([2, 3, 10])], attrs: { kernel_shape: [3] } },
  { name: 'lppool 1d k2 s2 pads ceil', op: 'LpPool', inputs: [X([2, 3, 9])], attrs: { kernel_shape: [2], strides: [2], pads: [1, 1], ceil_mode: 1, p: 3 } },
  { name: 'lppool 2d k3 s2', op: 'LpPool', inputs: [X([2, 4, 11, 12])], attrs: { kernel_shape: [3, 3], strides: [2, 2] } },
  {
    name: 'lppool 2d k3 s2 pads ceil mean cip',
    op: 'LpPool',
    inputs: [X([2, 3, 8, 9]), null],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, mean: 1, count_include_pad: 1, p: 2.5 },
  },
  {
    name: 'lppool 2d k3 s2 pads ceil mean no cip',
    op: 'LpPool',
    inputs: [X([2, 3, 8, 9])],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, mean: 1, p: 2.5 },
  },
  { name: 'lppool 2d dilations', op: 'LpPool', inputs: [X([1, 2, 10, 9])], attrs: { kernel_shape: [2, 3], dilations: [2, 2], strides: [1, 2], p: 4 } },
  {
    name: 'lppool 2d same_upper',
    op: 'LpPool',
    inputs: [X([1, 2, 7, 8])],
    attrs: { kernel_shape: [3, 2], strides: [2, 3], auto_pad: 'SAME_UPPER', mean: 1, count_include_pad: 1 },
  },
  {
    name: 'lppool 2d same_lower dilated',
    op: 'LpPool',
    inputs: [X([1, 2, 9, 8])],
    attrs: { kernel_shape: [3, 3], strides: [2, 1], dilations: [2, 1], auto_pad: 'SAME_LOWER', mean: 1 },
  },
  { name: 'lppool 2d valid ceil', op: 'LpPool', inputs: [X([1, 2, 8, 7])], attrs: { kernel_shape: [3, 2], strides: [2, 2], auto_pad: 'VALID', ceil_mode: 1 } },
  {
    name: 'lppool 2d ceil drops window in padding',
    op: 'LpPool',
    inputs: [X([1, 2, 4, 4])],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [2, 2, 2, 2], ceil_mode: 1, mean: 1, count_include_pad: 1 },
  },
  { name: 'lppool 3d k2 s2', op: 'LpPool', inputs: [X([1, 2, 4, 5, 6])], attrs: { kernel_shape: [2, 2, 2], strides: [2, 2, 2], p: 3 } },
  { name: 'lppool 3d k3 pads mean', op: 'LpPool', inputs: [X([1, 2, 5, 4, 5])], attrs: { kernel_shape: [3, 3, 3], pads: [1, 1, 1, 1, 1, 1], mean: 1 } },
  {
    name: 'lppool per-channel P with inf',
    op: 'LpPool',
    inputs: [X([2, 4, 6, 6]), { dims: [4], values: [1, 2.5, 64, inf] }],
    attrs: { kernel_shape: [2, 2], strides: [2, 2], mean: 1 },
  },
  {
    name: 'lppool per-channel P finite',
    op: 'LpPool',
    inputs: [X([2, 4, 6, 6]), { dims: [4], fill: 'exponents' }],
    attrs: { kernel_shape: [3, 3], strides: [1, 1] },
  },
  {
    name: 'lppool per-channel P fed at run time',
    op: 'LpPool',
    inputs: [X([2, 4, 6, 6]), { dims: [4], values: [1, 3, 8, inf] }],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    feedWeights: true,
  },
  { name: 'lppool P [1]', op: 'LpPool', inputs: [X([2, 4, 6, 6]), { dims: [1], values: [3] }], attrs: { kernel_shape: [2, 2] } },
  {
    name: 'lppool global gem 2d',
    op: 'LpPool',
    inputs: [X([2, 4, 7, 5]), { dims: [1], values: [3] }],
    attrs: { global: 1, mean: 1, mode: 'clamp', eps: 1e-6 },
  },
  { name: 'lppool global 1d per-channel', op: 'LpPool', inputs: [X([2, 3, 17]), { dims: [3], values: [1, 4, inf] }], attrs: { global: 1 } },
  { name: 'lppool global 3d p=inf', op: 'LpPool', inputs: [X([1, 2, 3, 4, 5])], attrs: { global: 1, p: inf } },
  // planes of a block's size and more (GeM heads): the CUDA kernels' block-per-plane reduction
  {
    name: 'lppool global gem 2d 24x20 per-channel P',
    op: 'LpPool',
    inputs: [X([2, 3, 24, 20]), { dims: [3], values: [1, 3, 7.5] }],
    attrs: { global: 1, mean: 1, mode: 'clamp', eps: 1e-6 },
  },
  // more planes than the CPU kernel puts in one task (it groups planes to about 8192 elements: 2 of 64x64)
  { name: 'lppool global gem 3 planes of 64x64', op: 'LpPool', inputs: [X([1, 3, 64, 64]), { dims: [1], values: [3] }], attrs: { global: 1, mean: 1, mode: 'clamp', eps: 1e-6 } },
  { name: 'lppool global 1d 300 p=inf', op: 'LpPool', inputs: [X([1, 2, 300])], attrs: { global: 1, p: inf } },
  { name: 'lppool global 2d 16x16 kernel covers the plane', op: 'LpPool', inputs: [X([1, 2, 16, 16], 'tiny')], attrs: { kernel_shape: [16, 16], p: 4 } },
  {
    name: 'lppool p=1 mean (average)',
    op: 'LpPool',
    inputs: [X([1, 2, 7, 7], 'positive')],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], p: 1, mean: 1 },
  },
  { name: 'lppool p=inf attr (max) ceil', op: 'LpPool', inputs: [X([1, 2, 7, 7])], attrs: { kernel_shape: [2, 2], strides: [2, 2], p: inf, ceil_mode: 1 } },
  { name: 'lppool huge p=8', op: 'LpPool', inputs: [X([1, 2, 6, 6], 'huge')], attrs: { kernel_shape: [3, 3], p: 8 } },
  {
    // 1e-6 ... 1e6 across one tile: the small windows' (a / tile max)^p underflow and are redone
    name: 'lppool wide range p=16',
    op: 'LpPool',
    inputs: [{ dims: [1, 1, 4, 8], values: Array.from({ length: 32 }, (_, i) => 10 ** (-6 + (12 * i) / 31)) }],
    attrs: { kernel_shape: [2, 2], p: 16 },
  },
  { name: 'lppool tiny p=64', op: 'LpPool', inputs: [X([1, 2, 6, 6], 'tiny')], attrs: { kernel_shape: [3, 3], p: 64 } },
  { name: 'lppool zeros', op: 'LpPool', inputs: [X([1, 2, 5, 5], 'zeros')], attrs: { kernel_shape: [2, 2], p: 3, mean: 1 } },
  { name: 'lppool negatives clamp eps 0', op: 'LpPool', inputs: [X([1, 2, 5, 5], 'negative')], attrs: { kernel_shape: [2, 2], mode: 'clamp' } },
  { name: 'lppool NaN propagates', op: 'LpPool', inputs: [{ dims: [1, 1, 4], values: [1, Number.NaN, 2, 3] }], attrs: { kernel_shape: [2] } },
  // p = +inf meets NaN (ops.md: a maximum that meets a NaN is NaN): NaN first and last of a window,
  // on the attribute and per channel, windowed and global
  { name: 'lppool p=inf NaN first and last of windows', op: 'LpPool', inputs: [NAN_WINDOWS], attrs: { kernel_shape: [3], strides: [3], p: inf } },
  { name: 'lppool per-channel P inf,2 NaN', op: 'LpPool', inputs: [NAN_WINDOWS, { dims: [2], values: [inf, 2] }], attrs: { kernel_shape: [3], strides: [3] } },
  { name: 'lppool global p=inf NaN', op: 'LpPool', inputs: [NAN_PLANES], attrs: { global: 1, p: inf } },
  { name: 'lppool global per-channel P inf,3 NaN mean', op: 'LpPool', inputs: [NAN_PLANES, { dims: [2], values: [inf, 3] }], attrs: { global: 1, mean: 1 } },
  {
    name: 'lppool 2d k4 s4 p=inf NaN corners',
    op: 'LpPool',
    inputs: [{ dims: [1, 2, 8, 8], values: Array.from({ length: 128 }, (_, i) => (i === 0 || i === 63 || i === 64 + 27 ? Number.NaN : Math.cos(i))) }],
    attrs: { kernel_shape: [4, 4], strides: [4, 4], p: inf },
  },
  // a tile whose input region is 12,288 floats (48 KiB): with the tiled kernel's 1 KiB of static
  // shared memory a GPU refuses it without an opt-in (the emulation checks static + dynamic too)
  { name: 'lppool 1d k48 s48 256 outputs (a 48 KiB region)', op: 'LpPool', inputs: [X([1, 2, 48 * 256])], attrs: { kernel_shape: [48], strides: [48], p: 3 } },
  // global planes smaller than a block (a warp per plane on CUDA): several blocks of planes, and p = 1,
  // 2 and 3 (products there) beside a general p, per channel
  {
    name: 'lppool global gem 7x7 per-channel P 1,2,3,2.5 20 planes',
    op: 'LpPool',
    inputs: [X([5, 4, 7, 7]), { dims: [4], values: [1, 2, 3, 2.5] }],
    attrs: { global: 1, mean: 1, mode: 'clamp', eps: 1e-6 },
  },
  { name: 'lppool global 14x14 p=2', op: 'LpPool', inputs: [X([3, 3, 14, 14])], attrs: { global: 1, p: 2 } },
  // small planes summed 16 at a time on the CPU (one per vector lane), 40 of them: two full groups
  // and a remainder; among them a NaN plane, an all-zero plane, a plane of 1e-14 (its sum
  // underflows) and one of 1e14 (its sum overflows: both scaled), which must leave their
  // neighbours in the group right
  {
    name: 'lppool global 7x7 40 planes shared p=3, NaN, zero, tiny and huge planes',
    op: 'LpPool',
    inputs: [
      {
        dims: [2, 20, 7, 7],
        values: Array.from({ length: 40 * 49 }, (_, i) => {
          const q = Math.floor(i / 49);
          if (q === 5 && i % 49 === 17) return Number.NaN;
          if (q === 18) return 0;
          return (q === 21 ? 1e-14 : q === 30 ? 1e14 : 1) * (Math.sin(i * 0.37) + 0.2 * (i % 5));
        }),
      },
    ],
    attrs: { global: 1, mean: 1, p: 3 },
  },
  // the CPU's one-pass global sum and the planes it must hand to the scaled passes: an unscaled sum
  // that underflows (1e-14^3), one that overflows (1e14^3), a root near float's exponent range
  // (p = 0.5 of 1e37: 2^(log2(mean) / p) about 2^123), and an ordinary plane
  {
    name: 'lppool global one-pass and scaled planes (tiny, huge, p=0.5 of 1e37)',
    op: 'LpPool',
    inputs: [
      { dims: [1, 4, 2, 4], values: Array.from({ length: 32 }, (_, i) => [1e-14, 1e14, 1e37, 1][i >> 3] * (1 + 0.1 * (i % 8)) * (i % 3 === 0 ? -1 : 1)) },
      { dims: [4], values: [3, 3, 0.5, 2.5] },
    ],
    attrs: { global: 1, mean: 1 },
  },
  // GemPlanes' general power on unscaled terms: 1e6^7 and 1e6^64 are beyond float (+inf, so the
  // plane is scaled; on AVX2 and plain x86-64 a wrapped exponent once dropped such a term silently),
  // 2e5^7.5 is not; negatives in abs mode
  {
    name: 'lppool global per-channel p 7 to 64 of magnitudes up to 1e6',
    op: 'LpPool',
    inputs: [
      { dims: [1, 4, 7, 7], values: Array.from({ length: 196 }, (_, i) => (i === 3 ? 1e6 : i === 54 ? -2e5 : i === 150 ? 1e6 : 1 + 0.5 * Math.sin(i))) },
      { dims: [4], values: [7, 7.5, 64, 2.5] },
    ],
    attrs: { global: 1, mean: 1 },
  },
  // planes shorter than a vector (3 x 3), 37 of them (groups of 16, 8 and 4 lanes and a remainder),
  // each channel its own p
  {
    name: 'lppool global 3x3 planes 37 channels per-channel p',
    op: 'LpPool',
    inputs: [X([2, 37, 3, 3]), { dims: [37], fill: 'exponents' }],
    attrs: { global: 1, mean: 1, mode: 'clamp', eps: 1e-6 },
  },
  // p < 1 (inside the op, outside the tolerance domain): 16 terms of 0.5 - 0.6 put the root of
  // p = 1/31.9 at about 2^127 (just inside float: its log2 root leaves +-120 before the plane's or
  // window's scale brings it back) and that of p = 0.01 at 2^400 (+inf)
  {
    name: 'lppool p below 1 roots near and beyond float range',
    op: 'LpPool',
    inputs: [{ dims: [1, 3, 4, 5], values: nearOneHalf(60) }, { dims: [3], values: [1 / 31.9, 0.01, 2] }],
    attrs: { kernel_shape: [4, 4] },
  },
  {
    name: 'lppool global p below 1 roots near and beyond float range',
    op: 'LpPool',
    inputs: [{ dims: [1, 3, 4, 4], values: nearOneHalf(48) }, { dims: [3], values: [1 / 31.9, 0.01, 2] }],
    attrs: { global: 1 },
  },
];

/** float16-specific cases (ops.md, "float16"), beside every case's float16 twin. */
export const lpPoolFloat16Cases: OpCase[] = [
  // a global plane of 64 x 64 = 4096 terms: a float16 accumulator would fail the tolerance
  { name: 'lppool float16 global gem 64x64 p=3', op: 'LpPool', inputs: [{ dims: [1, 2, 64, 64], fill: 'positive' }], attrs: { global: 1, mean: 1, mode: 'clamp', eps: 1e-6, p: 3 }, dtype: 'float16' },
  // windows of 4 x 40000: the sum of squares (6.4e9) overflows float16, the result (80000) too
  { name: 'lppool float16 result overflows to +inf', op: 'LpPool', inputs: [{ dims: [1, 1, 2, 4], values: [4e4, 4e4, 1, 2, 4e4, 4e4, 3, 4] }], attrs: { kernel_shape: [2, 2], strides: [2, 2] }, dtype: 'float16' },
  { name: 'lppool float16 subnormal inputs', op: 'LpPool', inputs: [{ dims: [1, 1, 6], values: [6e-8, 1e-7, 3e-6, 5e-5, 1e-6, 2e-7] }], attrs: { kernel_shape: [3], strides: [3], p: 2 }, dtype: 'float16' },
  { name: 'lppool float16 per-channel P given as float16', op: 'LpPool', inputs: [{ dims: [2, 3, 5, 5], fill: 'mixed' }, { dims: [3], fill: 'exponents' }], attrs: { kernel_shape: [3, 3] }, dtype: 'float16', pType: 'float16' },
  { name: 'lppool float16 per-channel P given as float', op: 'LpPool', inputs: [{ dims: [2, 3, 5, 5], fill: 'mixed' }, { dims: [3], fill: 'exponents' }], attrs: { kernel_shape: [3, 3], mean: 1 }, dtype: 'float16' },
  { name: 'lppool float32 with P given as float16', op: 'LpPool', inputs: [{ dims: [2, 3, 5, 5], fill: 'mixed' }, { dims: [3], fill: 'exponents' }], attrs: { kernel_shape: [3, 3] }, pType: 'float16' },
];
