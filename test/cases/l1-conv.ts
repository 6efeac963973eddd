import type { OpCase } from './types';

const X = (dims: number[], fill: 'mixed' | 'positive' | 'negative' | 'zeros' | 'huge' | 'tiny' | 'near-million' = 'mixed') => ({ dims, fill });
const W = (dims: number[], fill: 'mixed' | 'huge' | 'tiny' | 'near-million' = 'mixed') => ({ dims, fill });
const B = (n: number) => ({ dims: [n], fill: 'mixed' as const });

/** n mixed values with NaN, +inf and -inf at the given indices */
const special = (n: number, nans: number[], pos: number[], neg: number[]) =>
  Array.from({ length: n }, (_, i) => (nans.includes(i) ? Number.NaN : pos.includes(i) ? Infinity : neg.includes(i) ? -Infinity : 3 * Math.sin(0.7 * i)));

export const l1ConvCases: OpCase[] = [
  { name: 'l1conv 1d k1 point cloud', op: 'L1Conv', inputs: [X([2, 3, 20]), W([5, 3, 1])], attrs: {} },
  { name: 'l1conv 1d k3 pads bias', op: 'L1Conv', inputs: [X([2, 3, 12]), W([4, 3, 3]), B(4)], attrs: { pads: [1, 1] } },
  { name: 'l1conv 2d k3 pad1 bias', op: 'L1Conv', inputs: [X([2, 3, 8, 7]), W([4, 3, 3, 3]), B(4)], attrs: { pads: [1, 1, 1, 1] } },
  { name: 'l1conv 2d stride 2 asymmetric pads', op: 'L1Conv', inputs: [X([1, 3, 9, 8]), W([4, 3, 3, 2])], attrs: { strides: [2, 2], pads: [1, 0, 0, 1] } },
  { name: 'l1conv 2d dilation 2', op: 'L1Conv', inputs: [X([1, 2, 9, 9]), W([3, 2, 3, 3])], attrs: { dilations: [2, 2] } },
  { name: 'l1conv 2d group 2', op: 'L1Conv', inputs: [X([2, 4, 6, 6]), W([6, 2, 3, 3]), B(6)], attrs: { group: 2, pads: [1, 1, 1, 1] } },
  { name: 'l1conv 2d depthwise', op: 'L1Conv', inputs: [X([1, 4, 6, 6]), W([4, 1, 3, 3])], attrs: { group: 4 } },
  { name: 'l1conv 2d same_upper stride 2', op: 'L1Conv', inputs: [X([1, 2, 7, 8]), W([3, 2, 3, 3])], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] } },
  { name: 'l1conv 2d same_lower dilated', op: 'L1Conv', inputs: [X([1, 2, 7, 8]), W([3, 2, 2, 3])], attrs: { auto_pad: 'SAME_LOWER', dilations: [2, 1] } },
  { name: 'l1conv 2d valid', op: 'L1Conv', inputs: [X([1, 2, 7, 6]), W([3, 2, 3, 3])], attrs: { auto_pad: 'VALID', strides: [2, 1] } },
  { name: 'l1conv 2d kernel_shape given', op: 'L1Conv', inputs: [X([1, 2, 6, 6]), W([3, 2, 2, 3])], attrs: { kernel_shape: [2, 3] } },
  { name: 'l1conv 3d k3 pad1', op: 'L1Conv', inputs: [X([1, 2, 5, 4, 6]), W([3, 2, 3, 3, 3]), B(3)], attrs: { pads: [1, 1, 1, 1, 1, 1] } },
  { name: 'l1conv 3d k2 s2 group', op: 'L1Conv', inputs: [X([2, 4, 4, 4, 4]), W([4, 2, 2, 2, 2])], attrs: { strides: [2, 2, 2], group: 2 } },
  { name: 'l1conv huge', op: 'L1Conv', inputs: [X([1, 2, 5, 5], 'huge'), W([2, 2, 3, 3], 'huge')], attrs: { pads: [1, 1, 1, 1] } },
  { name: 'l1conv large and close (cancellation) pad1', op: 'L1Conv', inputs: [X([1, 3, 6, 70], 'near-million'), W([5, 3, 3, 3], 'near-million'), B(5)], attrs: { pads: [1, 1, 1, 1] } },
  { name: 'l1conv tiny', op: 'L1Conv', inputs: [X([1, 2, 5, 5], 'tiny'), W([2, 2, 3, 3], 'tiny')], attrs: {} },
  { name: 'l1conv zeros', op: 'L1Conv', inputs: [X([1, 2, 5, 5], 'zeros'), W([2, 2, 3, 3])], attrs: { pads: [1, 1, 1, 1] } },
  // rows wider than the 32-wide register tile of the AVX-512 kernel, with a partial last tile
  { name: 'l1conv 1d long row (3 tiles)', op: 'L1Conv', inputs: [X([2, 3, 75]), W([6, 3, 3]), B(6)], attrs: { pads: [1, 1] } },
  { name: 'l1conv 2d wide rows dilated', op: 'L1Conv', inputs: [X([1, 2, 5, 42]), W([5, 2, 3, 3])], attrs: { pads: [1, 1, 1, 1], dilations: [1, 2] } },
  // stride 1: the CPU kernel reads the padded plane as one long row, in stretches of 256 positions
  // that run across row ends (here two, the second partial), with cancellation's exact recompute
  { name: 'l1conv 2d flat plane across stretches, large and close', op: 'L1Conv', inputs: [X([2, 3, 12, 26], 'near-million'), W([4, 3, 3, 3], 'near-million'), B(4)], attrs: { pads: [1, 1, 1, 1] } },
  // wider layers: the CUDA implicit-GEMM tiles (16, 32, 64 and 128 channels) with partial tiles of
  // positions, channels and K
  { name: 'l1conv 2d 20 channels', op: 'L1Conv', inputs: [X([2, 5, 7, 6]), W([20, 5, 3, 3]), B(20)], attrs: { pads: [1, 1, 1, 1] } },
  { name: 'l1conv 2d 40 channels stride 2', op: 'L1Conv', inputs: [X([3, 3, 9, 9]), W([40, 3, 3, 3])], attrs: { strides: [2, 2] } },
  { name: 'l1conv 2d 72 channels', op: 'L1Conv', inputs: [X([2, 4, 8, 8]), W([72, 4, 3, 3]), B(72)], attrs: { pads: [1, 1, 1, 1] } },
  // 136 channels: a full 128-channel tile and a partial one; K = 45 (three slices of 16, the last
  // partial); 2 x 100 positions in a 128-position tile and a partial one, padding on every side
  { name: 'l1conv 2d 136 channels', op: 'L1Conv', inputs: [X([2, 5, 10, 10]), W([136, 5, 3, 3]), B(136)], attrs: { pads: [1, 1, 1, 1] } },
  { name: 'l1conv 2d group 2 of 34 channels', op: 'L1Conv', inputs: [X([1, 6, 6, 6]), W([68, 3, 3, 3]), B(68)], attrs: { group: 2 } },
  { name: 'l1conv 3d 18 channels dilated', op: 'L1Conv', inputs: [X([1, 2, 5, 4, 5]), W([18, 2, 2, 2, 2])], attrs: { dilations: [2, 1, 2] } },
  { name: 'l1conv 1d point cloud 64 channels', op: 'L1Conv', inputs: [X([2, 8, 50]), W([64, 8, 1]), B(64)], attrs: {} },
  // rows of whole register tiles without padding: the CPU kernels read X where it lies (no padded copy)
  { name: 'l1conv 1d k1 rows of whole tiles', op: 'L1Conv', inputs: [X([2, 5, 128]), W([6, 5, 1]), B(6)], attrs: {} },
  // taps along the rows only, with a stride: the phases put the second tap a row's phase away
  { name: 'l1conv 1d k3 stride 2', op: 'L1Conv', inputs: [X([2, 3, 13]), W([4, 3, 3]), B(4)], attrs: { strides: [2] } },
  { name: 'l1conv 1d k2 stride 3 dilation 2 pads', op: 'L1Conv', inputs: [X([1, 2, 20]), W([5, 2, 2])], attrs: { strides: [3], dilations: [2], pads: [1, 2] } },
  { name: 'l1conv 2d unpadded rows of 64', op: 'L1Conv', inputs: [X([1, 2, 3, 66]), W([5, 2, 2, 3])], attrs: { strides: [2, 1] } },
  { name: 'l1conv 1d large and close (cancellation) rows of whole tiles', op: 'L1Conv', inputs: [X([1, 3, 66], 'near-million'), W([5, 3, 3], 'near-million'), B(5)], attrs: {} },
  // NaN reaches every output whose window holds it; an infinity gives -inf (both signs in one window too)
  { name: 'l1conv NaN, padded', op: 'L1Conv', inputs: [{ dims: [1, 2, 5, 6], values: special(60, [7, 40], [], []) }, W([3, 2, 3, 3]), B(3)], attrs: { pads: [1, 1, 1, 1] } },
  {
    name: 'l1conv NaN and infinities, padded',
    op: 'L1Conv',
    inputs: [{ dims: [1, 2, 5, 6], values: special(60, [7, 40], [20, 50], [21]) }, W([3, 2, 3, 3]), B(3)],
    attrs: { pads: [1, 1, 1, 1] },
    kernelsOnly: "the body unfolds windows with a one-hot Conv, where an infinite input times a 0 tap is NaN (ops.md's tolerances are for finite inputs)",
  },
  { name: 'l1conv NaN and infinities, rows of whole tiles', op: 'L1Conv', inputs: [{ dims: [2, 3, 64], values: special(384, [5, 200], [70, 300], [71, 301]) }, W([4, 3, 1]), B(4)], attrs: {} },
  {
    name: 'l1conv weights fed at run time',
    op: 'L1Conv',
    inputs: [X([1, 2, 6, 6]), W([3, 2, 3, 3]), B(3)],
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1] },
    feedWeights: true,
  },
];

/** float16-specific cases (ops.md, "float16"), beside every case's float16 twin. */
export const l1ConvFloat16Cases: OpCase[] = [
  // 64 x 9 = 576 terms of |x - w| near 60: the sum (about 35000 per output, minus a bias) is near float16's top
  { name: 'l1conv float16 large sums', op: 'L1Conv', inputs: [X([1, 64, 6, 6], 'positive'), { dims: [4, 64, 3, 3], values: new Array<number>(4 * 64 * 9).fill(60) }, B(4)], attrs: {}, dtype: 'float16' },
  // sums beyond 65504: -inf
  { name: 'l1conv float16 result overflows to -inf', op: 'L1Conv', inputs: [{ dims: [1, 2, 3], values: [4e4, -4e4, 1, -3e4, 3e4, 2] }, { dims: [1, 2, 1], values: [-4e4, 3e4] }], attrs: {}, dtype: 'float16' },
];
