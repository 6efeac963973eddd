// Writes the bundled example models (examples/*.onnx) with the graph builder: lp nodes only,
// no function bodies; `lp-onnx export` turns them into dual-path models.
// Usage: node dist/scripts/make-examples.js [outdir]
import { join } from 'node:path';
import { seededRandom } from '../src/cli/run';
import { GraphBuilder, type Value } from '../src/graph/builder';
import { writeModelFile } from '../src/onnx/model-file';

function weights(rand: () => number, n: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
}

/** BatchNormalization with running statistics drawn from the given ranges. */
function batchNorm(b: GraphBuilder, r: () => number, x: Value, prefix: string, c: number, mean: [number, number], variance: [number, number]): Value {
  return b.batchNorm(
    x,
    b.initializer(`${prefix}.weight`, weights(r, c, 0.5, 1.5), [c]),
    b.initializer(`${prefix}.bias`, weights(r, c), [c]),
    b.initializer(`${prefix}.running_mean`, weights(r, c, ...mean), [c]),
    b.initializer(`${prefix}.running_var`, weights(r, c, ...variance), [c]),
  );
}

/** An adder CNN: L1Conv -> BatchNorm -> ReLU -> learned-p LpPool -> GeM -> LpNorm head. */
export function adderCnn(): GraphBuilder {
  const r = seededRandom(7);
  const b = new GraphBuilder({ name: 'adder-cnn', opset: 18, docString: 'lp-onnx example: L1Conv, LpPool (per-channel p), GeM, LpNorm' });
  const x = b.input('image', 'float32', ['N', 3, 32, 32]);
  const w1 = b.initializer('features.0.weight', weights(r, 16 * 3 * 9, -0.5, 0.5), [16, 3, 3, 3]);
  let h = b.l1Conv(x, w1, undefined, { pads: [1, 1, 1, 1] }, 'features.0');
  h = batchNorm(b, r, h, 'features.1', 16, [-17, -13], [2, 5]).relu();
  const p1 = b.initializer('features.3.p', weights(r, 16, 1.5, 4), [16]);
  h = b.lpPool(h, p1, { kernel_shape: [2, 2], strides: [2, 2] }, 'features.3');
  const w2 = b.initializer('features.4.weight', weights(r, 32 * 16 * 9, -0.5, 0.5), [32, 16, 3, 3]);
  h = b.l1Conv(h, w2, b.initializer('features.4.bias', weights(r, 32), [32]), { pads: [1, 1, 1, 1], strides: [2, 2] }, 'features.4');
  h = batchNorm(b, r, h, 'features.5', 32, [-300, -280], [1500, 3000]).relu();
  const gem = b.lpPool(h, b.initializer('pool.p', [3], [1]), { global: 1, mean: 1, mode: 'clamp', eps: 1e-6 }, 'pool');
  const flat = gem.flatten();
  const head = b.initializer('head._w', weights(r, 10 * 32, 0.1, 1), [10, 32]);
  const hp = b.initializer('head.p', weights(r, 10, 1.2, 6), [10]);
  const logits = b.lpNorm(flat, head, hp, { mean: 1, eps: 1e-6 }, 'head');
  b.output(logits, 'scores');
  return b;
}

/** A learned-norm MLP (Gulcehre): Gemm -> LpNorm units with per-unit p -> Gemm. */
export function lpMlp(): GraphBuilder {
  const r = seededRandom(11);
  const b = new GraphBuilder({ name: 'lp-mlp', opset: 18, docString: 'lp-onnx example: LpNormLayer MLP' });
  const x = b.input('x', 'float32', ['N', 64]);
  let h = b.gemm(x, b.initializer('fc1.weight', weights(r, 128 * 64, -0.2, 0.2), [128, 64]), b.initializer('fc1.bias', weights(r, 128, -0.1, 0.1), [128]), {
    transB: 1,
  });
  h = b.lpNorm(
    h,
    b.initializer('lp._w', weights(r, 32 * 128, 0.5, 1), [32, 128]),
    b.initializer('lp.p', weights(r, 32, 1, 5), [32]),
    { sum_eps: 1e-6, eps: 1e-6 },
    'lp',
  );
  h = b.gemm(h, b.initializer('fc2.weight', weights(r, 10 * 32, -0.3, 0.3), [10, 32]), b.initializer('fc2.bias', weights(r, 10), [10]), { transB: 1 });
  b.output(h.softmax(-1), 'probs');
  return b;
}

if (require.main === module) {
  const dir = process.argv[2] ?? 'examples';
  for (const [file, make] of [
    ['adder-cnn.onnx', adderCnn],
    ['lp-mlp.onnx', lpMlp],
  ] as const) {
    writeModelFile(join(dir, file), make().build());
    process.stdout.write(`wrote ${join(dir, file)}\n`);
  }
}
