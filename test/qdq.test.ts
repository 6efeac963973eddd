// QuantizeLinear / DequantizeLinear: the reference evaluators against onnxruntime's own kernels
// (ties, saturation on both sides, uint8 and int8, per-tensor and per-axis), and QDQ graphs around
// L1Conv (a W that comes from a DequantizeLinear) read and exported like any other model.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../src/cli/run';
import { GraphBuilder } from '../src/graph/builder';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import { makeTensor, toFloat64 } from '../src/onnx/tensor';
import { formatNpy, parseNpy } from '../src/runtime/npy';
import { runOrt } from '../src/runtime/ort';
import { runReference } from '../src/runtime/reference';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'bin', 'lp-onnx.js');
const rand = seededRandom(27);
const uniform = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());

type Q = 'uint8' | 'int8';

/** X (float) -> QuantizeLinear -> Q, and Q -> DequantizeLinear -> D: both graph outputs. */
function quantModel(dims: number[], scale: number[], zero: number[], type: Q, axis?: number) {
  const b = new GraphBuilder({ name: 'qdq' });
  const x = b.input('X', 'float32', dims);
  const shape = scale.length === 1 ? [] : [scale.length];
  const s = b.initializer('s', Float32Array.from(scale), shape);
  const z = b.initializer('z', zero, shape, type);
  const attrs: Record<string, number> = axis === undefined ? {} : { axis };
  const q = b.op('QuantizeLinear', [x, s, z], attrs, { name: 'Q' });
  b.output(q);
  b.output(b.op('DequantizeLinear', [q, s, z], attrs, { name: 'D' }));
  return b.build();
}

async function agree(dims: number[], values: Float32Array, scale: number[], zero: number[], type: Q, axis?: number) {
  const model = quantModel(dims, scale, zero, type, axis);
  const ort = await runOrt('ort', encodeModel(model), { X: makeTensor('float32', dims, values) });
  const ref = runReference(model, { X: { dims, data: Float64Array.from(values) } });
  expect(Array.from(ref.Q.data)).toEqual(Array.from(ort.Q.data as Uint8Array | Int8Array, Number));
  expect(Array.from(ref.D.data)).toEqual(Array.from(ort.D.data as Float32Array, Number));
  return ref;
}

describe('QuantizeLinear and DequantizeLinear: the reference against onnxruntime', () => {
  test('uint8 per tensor: ties to even, saturation at 0 and 255, NaN and infinities', async () => {
    // x / 0.5 = k + 0.5 for k from -4: every kind of tie, then values far outside the range
    const ties = Float32Array.from([...Array.from({ length: 12 }, (_, k) => (k - 4 + 0.5) * 0.5), -1000, 1000, 63.75, 64.25, Number.NaN, Infinity, -Infinity]);
    const ref = await agree([ties.length], ties, [0.5], [3], 'uint8');
    expect(ref.Q.data[0]).toBe(0); // round(-3.5) = -4, + 3 = -1: saturated
    expect(ref.Q.data[13]).toBe(255);
  });

  test('int8 per tensor with the zero point at the ends of the range', async () => {
    const x = Float32Array.from([...uniform(64, -40, 40), Number.NaN, Infinity, -Infinity]);
    await agree([67], x, [0.25], [-128], 'int8');
    await agree([67], x, [0.25], [127], 'int8');
  });

  test('per axis: one scale and zero point per channel (axis 1 and axis 0)', async () => {
    const x = uniform(2 * 3 * 4, -10, 10);
    await agree([2, 3, 4], x, [0.05, 0.1, 0.2], [0, 100, 250], 'uint8', 1);
    await agree([2, 3, 4], x, [0.07, 0.03], [-5, 5], 'int8', 0);
  });

  test('a scale of the wrong length is one clear error naming the node', () => {
    const b = new GraphBuilder({ name: 'bad' });
    const x = b.input('X', 'float32', [2, 3]);
    b.output(b.op('QuantizeLinear', [x, b.initializer('s', Float32Array.of(0.1, 0.2), [2]), b.initializer('z', [0, 0], [2], 'uint8')], {}, { name: 'Q' }));
    expect(() => runReference(b.build(), { X: { dims: [2, 3], data: new Float64Array(6) } })).toThrow("model: Q: the scale must be a scalar, [1] or [3] (axis 1), got [2]");
  });
});

describe('QDQ graphs around L1Conv', () => {
  // X -> Q -> DQ, W (uint8) -> DQ with the same scale, -> L1Conv -> Q -> DQ: the form a QDQ
  // quantiser writes around an op it does not know
  function qdqAdder() {
    const r = seededRandom(5);
    const b = new GraphBuilder({ name: 'qdq-adder' });
    const x = b.input('X', 'float32', ['N', 3, 8, 8]);
    const s = b.initializer('x_scale', Float32Array.of(0.02), []);
    const zx = b.initializer('x_zero', [128], [], 'uint8');
    const zw = b.initializer('w_zero', [120], [], 'uint8');
    const wq = b.initializer('Wq', Uint8Array.from({ length: 4 * 3 * 9 }, () => Math.floor(256 * r())), [4, 3, 3, 3], 'uint8');
    const dx = b.op('DequantizeLinear', [b.op('QuantizeLinear', [x, s, zx]), s, zx]);
    const dw = b.op('DequantizeLinear', [wq, s, zw]);
    const y = b.op('L1Conv', [dx, dw], { pads: [1, 1, 1, 1] }, { domain: 'com.lponnx', name: 'adder' });
    const ys = b.initializer('y_scale', Float32Array.of(0.25), []);
    const zy = b.initializer('y_zero', [200], [], 'uint8');
    b.output(b.op('DequantizeLinear', [b.op('QuantizeLinear', [y, ys, zy]), ys, zy]), 'Y');
    return b.build();
  }

  test('W from a DequantizeLinear has a shape: the builder types the graph', () => {
    const y = qdqAdder().graph?.output?.[0].type?.tensor_type?.shape?.dim;
    expect(y).toEqual([{ dim_param: 'N' }, { dim_value: 4 }, { dim_value: 8 }, { dim_value: 8 }]);
  });

  test('lp-onnx export writes it dual-path; stock onnxruntime and the kernels give the reference within one step', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lp-onnx-qdq-'));
    const src = join(dir, 'qdq-adder.onnx');
    const out = join(dir, 'qdq-adder.dual.onnx');
    writeFileSync(src, encodeModel(qdqAdder()));
    execFileSync(process.execPath, [BIN, 'export', src, '-o', out], { encoding: 'utf8' });
    expect((decodeModel(new Uint8Array(readFileSync(out))).functions ?? []).map((f) => f.name)).toEqual(['L1Conv']);
    const dims = [2, 3, 8, 8];
    const x = uniform(2 * 3 * 64, -2, 2);
    const input = join(dir, 'x.npy');
    writeFileSync(input, formatNpy(makeTensor('float32', dims, x)));
    const want = runReference(qdqAdder(), { X: { dims, data: Float64Array.from(x) } }).Y;
    for (const backend of ['ort', 'native']) {
      execFileSync(process.execPath, [BIN, 'run', out, '--backend', backend, '--input', `X=${input}`, '--out', join(dir, backend)], { encoding: 'utf8' });
      const got = toFloat64(parseNpy(new Uint8Array(readFileSync(join(dir, backend, 'Y.npy'))), 'Y.npy'));
      // the float L1Conv may land on the other side of a rounding tie of the output quantiser: one
      // step (y_scale) at most
      got.forEach((g, i) => {
        if (!(Math.abs(g - want.data[i]) <= 0.25 + 1e-6)) throw new Error(`--backend ${backend}: index ${i}: got ${g}, expected ${want.data[i]} (within 0.25)`);
      });
    }
  });
});
