// Models that stress the one-body rule (ops.md, "Portable form"): in each, many nodes of one op that
// differ in every attribute and input form the op's function body depends on, on one input with
// symbolic dims (N and H). 1D and 3D nodes see the input reshaped; every output is flattened into one.
// Used by the portability matrix (scripts/portable-cases.ts) at opsets 13 and 23.
import { seededRandom } from '../src/cli/run';
import { GraphBuilder, type Value } from '../src/graph/builder';

const inf = Number.POSITIVE_INFINITY;

/** The input of every stress model: [N, 4, H, 10], N and H symbolic. */
export const STRESS_CHANNELS = 4;
export const STRESS_WIDTH = 10;

function start(name: string, opset: number) {
  const b = new GraphBuilder({ name, opset, docString: `lp-onnx stress model: ${name}` });
  const x = b.input('x', 'float32', ['N', STRESS_CHANNELS, 'H', STRESS_WIDTH]);
  const r = seededRandom(name.length * 31 + opset);
  const init = (label: string, dims: number[], lo: number, hi: number) =>
    b.initializer(
      label,
      Float32Array.from({ length: dims.reduce((a, c) => a * c, 1) }, () => lo + (hi - lo) * r()),
      dims,
    );
  const x1 = b.reshape(x, [0, 0, -1]); // [N, 4, H*10]
  const x3 = b.unsqueeze(x, [2]); // [N, 4, 1, H, 10]
  const outputs: Value[] = [];
  const finish = () => {
    b.output(b.concat(outputs.map((y) => b.reshape(y, [-1])), 0), 'y');
    return b.build();
  };
  return { b, x, x1, x3, init, outputs, finish };
}

/** LpPool: windowed and global, 1D to 3D, p attribute and P (shared, per-channel, +inf), mean, count_include_pad, ceil_mode, SAME and VALID, abs and clamp. */
export function stressLpPool(opset: number) {
  const { b, x, x1, x3, init, outputs, finish } = start(`stress-lppool-op${opset}`, opset);
  const C = STRESS_CHANNELS;
  const P = (values: number[]) => b.initializer(`p${outputs.length}`, values, [values.length]);
  const add = (input: Value, attrs: Record<string, number | string | number[]>, p?: Value) => outputs.push(b.lpPool(input, p, attrs, `pool${outputs.length}`));
  add(x, { kernel_shape: [3, 3], strides: [2, 2] });
  add(x, { kernel_shape: [2, 2], pads: [1, 0, 0, 1], ceil_mode: 1, mean: 1, count_include_pad: 1, mode: 'clamp', eps: 1e-6 }, P([1, 2, 3.5, inf]));
  add(x, { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER', mean: 1, p: 3 });
  add(x, { kernel_shape: [2, 3], strides: [2, 2], auto_pad: 'SAME_LOWER', count_include_pad: 1, mean: 1 }, P([2.5]));
  add(x, { kernel_shape: [3, 2], strides: [1, 2], auto_pad: 'VALID', ceil_mode: 1, p: 1.5 });
  add(x, { kernel_shape: [2, 2], dilations: [2, 1], pads: [1, 1, 1, 1], mean: 1 }, init('pool.p', [C], 1.2, 5));
  add(x1, { kernel_shape: [4], strides: [3], p: inf });
  add(x1, { kernel_shape: [5], strides: [2], pads: [2, 1], ceil_mode: 1, mean: 1, mode: 'clamp' }, P([3]));
  add(x3, { kernel_shape: [1, 2, 2], strides: [1, 2, 2], p: 4 });
  add(x, { global: 1, mean: 1, mode: 'clamp', eps: 1e-6 }, P([3]));
  add(x, { global: 1, p: 2 });
  add(x1, { global: 1 }, P([1, 4, inf, 2]));
  add(x3, { global: 1, p: inf });
  return finish();
}

/** L1Conv: 1D to 3D, kernels, strides, pads, dilations, groups, SAME and VALID, with and without a bias. */
export function stressL1Conv(opset: number) {
  const { b, x, x1, x3, init, outputs, finish } = start(`stress-l1conv-op${opset}`, opset);
  const C = STRESS_CHANNELS;
  let k = 0;
  const add = (input: Value, w: number[], attrs: Record<string, number | string | number[]>, bias: boolean) => {
    k++;
    const W = init(`conv${k}.weight`, w, -1, 1);
    outputs.push(b.l1Conv(input, W, bias ? init(`conv${k}.bias`, [w[0]], -1, 1) : undefined, attrs, `conv${k}`));
  };
  add(x, [6, C, 3, 3], {}, true);
  add(x, [5, C, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }, false);
  add(x, [4, C / 2, 2, 2], { strides: [2, 2], auto_pad: 'SAME_UPPER', group: 2 }, true);
  add(x, [C, 1, 3, 3], { dilations: [2, 2], auto_pad: 'SAME_LOWER', group: C }, false);
  add(x, [3, C, 2, 3], { strides: [2, 1], auto_pad: 'VALID' }, false);
  add(x, [2, C, 1, 1], {}, true);
  add(x1, [3, C, 5], { strides: [2], pads: [2, 2] }, true);
  add(x1, [4, C / 2, 3], { dilations: [3], group: 2, auto_pad: 'SAME_UPPER' }, false);
  add(x3, [2, C, 1, 3, 3], { pads: [0, 1, 1, 0, 1, 1] }, true);
  return finish();
}

/** LpNorm: p attribute and P (shared, per-unit, scalar, +inf), mean, eps, sum_eps, abs and clamp, rank 2 and 4 inputs. */
export function stressLpNorm(opset: number) {
  const { b, x, init, outputs, finish } = start(`stress-lpnorm-op${opset}`, opset);
  const K = STRESS_WIDTH;
  const x2 = b.reshape(x, [-1, K]);
  let k = 0;
  const add = (input: Value, m: number, attrs: Record<string, number | string>, p?: number[] | 'learned' | 'scalar') => {
    k++;
    const W = init(`norm${k}.weight`, [m, K], 0.05, 1);
    const P = p === 'learned' ? init(`norm${k}.p`, [m], 1.1, 6) : p === 'scalar' ? b.initializer(`norm${k}.p`, [2.5], []) : p ? b.initializer(`norm${k}.p`, p, [p.length]) : undefined;
    outputs.push(b.lpNorm(input, W, P, attrs, `norm${k}`));
  };
  add(x, 6, {});
  add(x2, 5, { p: 1, mean: 1 });
  add(x, 6, {}, [1, 2, 3.7, 16, inf, 1.5]);
  add(x2, 4, { mode: 'clamp', eps: 1e-6, mean: 1 }, [3.7]);
  add(x, 5, { eps: 1e-4, sum_eps: 1e-3 }, 'learned');
  add(x2, 3, { p: inf });
  add(x, 4, { mode: 'clamp', sum_eps: 1e-2, p: 2.5 });
  add(x2, 3, { mean: 1 }, 'scalar');
  // units whose weighted inputs are all far below their row's maximum (the per-unit form scales each
  // unit by its own)
  const spread = spreadRows(b, x2);
  outputs.push(b.lpNorm(spread, farApart(b, 'apart.weight'), b.initializer('apart.p', [8, 9, 10, 11], [4]), {}, `norm${++k}`));
  return finish();
}

/** Rows of x whose first column is 1e6 times the input and the others 1e-2 times. */
function spreadRows(b: GraphBuilder, x: Value): Value {
  return x.mul(b.initializer('spread', Float32Array.from({ length: STRESS_WIDTH }, (_, i) => (i === 0 ? 1e6 : 1e-2)), [STRESS_WIDTH]));
}

/** 4 units over STRESS_WIDTH inputs, the first two with no weight on the first column. */
function farApart(b: GraphBuilder, label: string): Value {
  const K = STRESS_WIDTH;
  return b.initializer(label, Float32Array.from({ length: 4 * K }, (_, i) => (i % K === 0 && i < 2 * K ? 0 : 0.25 + ((i * 7) % 11) / 11)), [4, K]);
}

/**
 * LpNorm with shared exponents only (the model's one body is then the shared form, Pow then
 * MatMul, with an If to the per-unit form): p attribute and P [1], mean, sum_eps, and units whose
 * weighted inputs are all 1e-8 of their row's maximum (p = 8: their terms underflow in the shared
 * form, so the If's branch runs).
 */
export function stressLpNormShared(opset: number) {
  const { b, x, init, outputs, finish } = start(`stress-lpnorm-shared-op${opset}`, opset);
  const K = STRESS_WIDTH;
  const x2 = b.reshape(x, [-1, K]);
  outputs.push(b.lpNorm(x, init('shared1.weight', [6, K], 0.05, 1), undefined, { p: 3 }, 'shared1'));
  outputs.push(b.lpNorm(x2, init('shared2.weight', [5, K], 0.05, 1), b.initializer('shared2.p', [2.5], [1]), { mean: 1, sum_eps: 1e-3 }, 'shared2'));
  outputs.push(b.lpNorm(spreadRows(b, x2), farApart(b, 'apart.weight'), undefined, { p: 8 }, 'apart'));
  return finish();
}
