// The benchmark cases, shared by `npm run bench` (native shapes, onnxruntime-node) and
// `npm run bench:web` (the same cases scaled down, in chromium): each an lp layer and a
// standard-op anchor of the same size, from one set of sizes.
import { seededRandom } from '../src/cli/run';
import { exportDualPath } from '../src/export/dual-path';
import { GraphBuilder, type Value } from '../src/graph/builder';
import { encodeModel } from '../src/onnx/codec';

type W = (n: number, lo?: number, hi?: number) => Float32Array;
export interface BenchCase {
  name: string;
  input: number[];
  lp: (b: GraphBuilder, x: Value, w: W) => Value;
  anchorName: string;
  anchor: (b: GraphBuilder, x: Value, w: W) => Value;
  /** the same layer in PyTorch eager, as scripts/bench-torch.py builds it */
  torch: TorchForm;
}

/** What scripts/bench-torch.py needs to build a case's PyTorch peer. */
export type TorchForm =
  | { form: 'lpnorm'; B: number; K: number; M: number; p?: number }
  | { form: 'lppool'; N: number; C: number; H: number; k: number; s: number; mean: number }
  | { form: 'gem'; N: number; C: number; H: number; p: number; eps: number }
  | { form: 'l1conv'; N: number; Cin: number; Cout: number; spatial: number[]; k: number; pad: number };

export interface BenchSizes {
  /** batch, K, M */
  lpNorm: [number, number, number];
  /** N, C, H (= W) */
  lpPool: [number, number, number];
  /** N, Cin, Cout, H (= W) */
  conv2d: [number, number, number, number];
  /** N, Cin, Cout, points */
  conv1d: [number, number, number, number];
  /** N, Cin, Cout, D (= H = W) */
  conv3d: [number, number, number, number];
  /** N, C, H (= W): GeM over the whole plane (image retrieval's head) */
  gem: [number, number, number];
  /** GeM at retrieval sizes: these batches at C 2048, 7x7 (ResNet-50's last map) */
  gemRetrieval?: number[];
}

/** The native benchmark (issue 4). */
export const NATIVE_SIZES: BenchSizes = {
  lpNorm: [64, 1024, 1024],
  lpPool: [8, 64, 112],
  conv2d: [8, 64, 64, 56],
  conv1d: [8, 64, 128, 4096],
  conv3d: [2, 16, 32, 32],
  gem: [32, 512, 14],
  gemRetrieval: [1, 8, 64],
};

const pool = { kernel_shape: [3, 3], strides: [2, 2] };
const conv2 = { pads: [1, 1, 1, 1] };
const conv3 = { pads: [1, 1, 1, 1, 1, 1] };

export function benchCases(s: BenchSizes): BenchCase[] {
  const [B, K, M] = s.lpNorm;
  const [pn, pc, ph] = s.lpPool;
  const [n2, ci2, co2, h2] = s.conv2d;
  const [n1, ci1, co1, p1] = s.conv1d;
  const [n3, ci3, co3, d3] = s.conv3d;
  const [gn, gc, gh] = s.gem;
  const matmul = (b: GraphBuilder, x: Value, w: W) => x.matmul(b.initializer('W', w(K * M), [K, M]));
  const conv = (dims: number[], attrs?: object) => (b: GraphBuilder, x: Value, w: W) => b.conv(x, b.initializer('W', w(dims.reduce((a, c) => a * c, 1)), dims), undefined, attrs);
  const l1 = (dims: number[], attrs?: object) => (b: GraphBuilder, x: Value, w: W) => b.l1Conv(x, b.initializer('W', w(dims.reduce((a, c) => a * c, 1)), dims), undefined, attrs);
  const gemCase = (n: number, c: number, h: number): BenchCase => ({
    name: `GeM: LpPool global mean 1 clamp p 3, N${n} C${c} ${h}x${h}`,
    input: [n, c, h, h],
    lp: (b, x) => b.lpPool(x, undefined, { global: 1, mean: 1, mode: 'clamp', eps: 1e-6, p: 3 }),
    anchorName: 'GlobalAveragePool',
    anchor: (b, x) => b.globalAveragePool(x),
    torch: { form: 'gem', N: n, C: c, H: h, p: 3, eps: 1e-6 },
  });
  return [
    {
      name: `LpNorm B${B} K${K} M${M} shared p`,
      input: [B, K],
      lp: (b, x, w) => b.lpNorm(x, b.initializer('W', w(M * K, 0, 1), [M, K]), undefined, { p: 3 }),
      anchorName: `MatMul [${B},${K}]x[${K},${M}]`,
      anchor: matmul,
      torch: { form: 'lpnorm', B, K, M, p: 3 },
    },
    {
      name: `LpNorm B${B} K${K} M${M} per-unit p`,
      input: [B, K],
      lp: (b, x, w) => b.lpNorm(x, b.initializer('W', w(M * K, 0, 1), [M, K]), b.initializer('P', w(M, 1, 6), [M])),
      anchorName: `MatMul [${B},${K}]x[${K},${M}]`,
      anchor: matmul,
      torch: { form: 'lpnorm', B, K, M },
    },
    ...[0, 1].map((mean) => ({
      name: `LpPool N${pn} C${pc} ${ph}x${ph} k3 s2 per-channel p mean ${mean}`,
      input: [pn, pc, ph, ph],
      lp: (b: GraphBuilder, x: Value, w: W) => b.lpPool(x, b.initializer('P', w(pc, 1, 6), [pc]), { ...pool, mean }),
      anchorName: 'AveragePool, same geometry',
      anchor: (b: GraphBuilder, x: Value) => b.averagePool(x, pool),
      torch: { form: 'lppool', N: pn, C: pc, H: ph, k: 3, s: 2, mean } as TorchForm,
    })),
    gemCase(gn, gc, gh),
    {
      name: `L1Conv2d N${n2} ${ci2}->${co2} ${h2}x${h2} k3 pad 1`,
      input: [n2, ci2, h2, h2],
      lp: l1([co2, ci2, 3, 3], conv2),
      anchorName: 'Conv, same geometry',
      anchor: conv([co2, ci2, 3, 3], conv2),
      torch: { form: 'l1conv', N: n2, Cin: ci2, Cout: co2, spatial: [h2, h2], k: 3, pad: 1 },
    },
    {
      name: `L1Conv1d N${n1} ${ci1}->${co1} P${p1} k1`,
      input: [n1, ci1, p1],
      lp: l1([co1, ci1, 1]),
      anchorName: 'Conv, same geometry',
      anchor: conv([co1, ci1, 1]),
      torch: { form: 'l1conv', N: n1, Cin: ci1, Cout: co1, spatial: [p1], k: 1, pad: 0 },
    },
    {
      name: `L1Conv3d N${n3} ${ci3}->${co3} ${d3}^3 k3 pad 1`,
      input: [n3, ci3, d3, d3, d3],
      lp: l1([co3, ci3, 3, 3, 3], conv3),
      anchorName: 'Conv, same geometry',
      anchor: conv([co3, ci3, 3, 3, 3], conv3),
      torch: { form: 'l1conv', N: n3, Cin: ci3, Cout: co3, spatial: [d3, d3, d3], k: 3, pad: 1 },
    },
    // after the others, so that bench:web's scaled cases (without these) pair with the native ones by index
    ...(s.gemRetrieval ?? []).map((n) => gemCase(n, 2048, 7)),
  ];
}

/** Seeded uniform floats in [lo, hi). */
export function seededWeights(seed: number): W {
  const r = seededRandom(seed);
  return (n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/**
 * The case as a dual-path model, input X and output Y: its lp layer, or its anchor; with float16,
 * as `lp-onnx export --float16 --float16-io` writes it (X, W, B, Y float16; P float).
 */
export function benchModel(c: BenchCase, which: 'lp' | 'anchor', w: W, float16 = false): Uint8Array {
  const b = new GraphBuilder({ name: 'bench' });
  const x = b.input('X', 'float32', c.input);
  b.output((which === 'anchor' ? c.anchor : c.lp)(b, x, w), 'Y');
  return encodeModel(exportDualPath(b.build(), float16 ? { float16: { io: true } } : {}).model);
}
