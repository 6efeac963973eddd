// float16 nodes (ops.md, "float16") beyond the op cases: one T per node, one function body for the
// float and float16 nodes of an op in one model, the opset that needs, and lp-onnx/node's fused
// kernels on a model with both.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportDualPath } from '../src/export/dual-path';
import { GraphBuilder } from '../src/graph/builder';
import * as lpNode from '../src/node/index';
import * as lpWeb from '../src/runtime/web/index';
import { encodeModel } from '../src/onnx/codec';
import { floatToHalf, halfToFloat, makeTensor } from '../src/onnx/tensor';
import { runOrt } from '../src/runtime/ort';
import { runReference } from '../src/runtime/reference';
import { roundHalf } from './cases/types';
import { compareArrays, TOL } from './helpers/compare';
import { lpPoolOracle } from './helpers/oracle';

const dims = [1, 2, 5, 5];
const values = Float32Array.from({ length: 50 }, (_, i) => roundHalf(Math.sin(i * 0.7) * 3));
const attrs = { kernel_shape: [3, 3], strides: [2, 2], p: 3, mean: 1 };

/** One model with a float32 and a float16 LpPool node of the same attributes. */
function mixedModel(opset: number) {
  const b = new GraphBuilder({ name: 'mixed', opset });
  const x32 = b.input('X32', 'float32', dims);
  const x16 = b.input('X16', 'float16', dims);
  b.output(b.lpPool(x32, undefined, attrs), 'Y32');
  b.output(b.lpPool(x16, undefined, attrs), 'Y16');
  return b.build();
}

describe('float16 nodes', () => {
  test('a node whose X is float16 and W float32 is refused, naming both tensors and types', () => {
    const b = new GraphBuilder({ name: 'mixed-node', opset: 18 });
    const x = b.input('X', 'float16', [2, 3]);
    const w = b.initializer('W', Float32Array.from([1, 1, 1]), [1, 3]);
    expect(() => b.lpNorm(x, w, undefined, {})).toThrow(/inputs X and W must have one element type \(T\): X is float16, W is float32/);
  });

  test('float and float16 LpPool nodes in one model share one body (Cast to float, CastLike back) and both are right on onnxruntime-node', async () => {
    const { model } = exportDualPath(mixedModel(18), { what: 'mixed' });
    const bodies = (model.functions ?? []).filter((f) => f.name === 'LpPool');
    expect(bodies).toHaveLength(1);
    expect(bodies[0].node?.map((n) => n.op_type)).toEqual(expect.arrayContaining(['Cast', 'CastLike']));
    const out = await runOrt('ort', encodeModel(model), {
      X32: makeTensor('float32', dims, values),
      X16: makeTensor('float16', dims, Uint16Array.from(values, floatToHalf)),
    });
    const want = lpPoolOracle({ dims, data: Float64Array.from(values) }, undefined, attrs);
    expect(out.Y16.dtype).toBe('float16');
    compareArrays('float32 node', { dims: out.Y32.dims, data: Float64Array.from(out.Y32.data as Float32Array) }, want, TOL.body);
    compareArrays('float16 node', { dims: out.Y16.dims, data: Float64Array.from(out.Y16.data as Uint16Array, halfToFloat) }, { dims: want.dims, data: want.data.map(roundHalf) }, TOL.body16);
  });

  test('at opset 13 that one body cannot be written (CastLike is opset 15): refused with what to do', () => {
    expect(() => exportDualPath(mixedModel(13), { what: 'mixed.onnx' })).toThrow(
      /mixed\.onnx: LpPool: the model holds float and float16 LpPool nodes, whose one function body casts Y back with CastLike \(ONNX opset 15\); the model is at opset 13: export it at opset 15 or later/,
    );
  });

  test('a model of float16 nodes only is fine at opset 13 (Cast back to float16)', async () => {
    const b = new GraphBuilder({ name: 'half13', opset: 13 });
    b.output(b.lpPool(b.input('X', 'float16', dims), undefined, attrs), 'Y');
    const { model } = exportDualPath(b.build(), { what: 'half13' });
    const out = await runOrt('ort', encodeModel(model), { X: makeTensor('float16', dims, Uint16Array.from(values, floatToHalf)) });
    const want = lpPoolOracle({ dims, data: Float64Array.from(values) }, undefined, attrs);
    compareArrays('float16 at opset 13', { dims: out.Y.dims, data: Float64Array.from(out.Y.data as Uint16Array, halfToFloat) }, { dims: want.dims, data: want.data.map(roundHalf) }, TOL.body16);
  });

  const native = lpNode.nativeStatus();
  (native.available ? test : test.skip)('lp-onnx/node runs the float and the float16 node of one model on its fused CPU kernels (float16 storage, float32 compute)', async () => {
    const { model } = exportDualPath(mixedModel(18), { what: 'mixed' });
    const session = await lpNode.InferenceSession.create(encodeModel(model));
    try {
      const out = await session.run({
        X32: new lpNode.Tensor('float32', values, dims),
        X16: new lpNode.Tensor('float16', Uint16Array.from(values, floatToHalf), dims),
      });
      const want = lpPoolOracle({ dims, data: Float64Array.from(values) }, undefined, attrs);
      expect(out.Y16.type).toBe('float16');
      compareArrays('float32 node', { dims: [...out.Y32.dims], data: Float64Array.from(out.Y32.data as Float32Array) }, want, TOL.kernel);
      compareArrays('float16 node', { dims: [...out.Y16.dims], data: Float64Array.from(out.Y16.data as Uint16Array, halfToFloat) }, { dims: want.dims, data: want.data.map(roundHalf) }, TOL.kernel16);
    } finally {
      await session.release();
    }
  });

  test('lp-onnx/web runs a float16 model on its WGSL kernels: float16 tensors from and to onnxruntime-web segments on the GPU, converted on the GPU', async () => {
    const b = new GraphBuilder({ name: 'half-web', opset: 18 });
    const x = b.input('X', 'float16', dims);
    const w = b.initializer('W', Uint16Array.from({ length: 3 * 2 * 9 }, (_, i) => floatToHalf(Math.cos(i) / 2)), [3, 2, 3, 3], 'float16');
    // Relu (a segment) -> LpPool -> L1Conv (kernel to kernel) -> Neg (a segment)
    const pooled = b.lpPool(b.op('Relu', [x]), undefined, { ...attrs, strides: [1, 1] });
    b.output(b.op('Neg', [b.l1Conv(pooled, w, undefined, { pads: [1, 1, 1, 1] })]), 'Y');
    const { model } = exportDualPath(b.build(), { what: 'half-web' });
    const session = await lpWeb.InferenceSession.create(encodeModel(model));
    try {
      if (session.mode === 'wasm-bodies') return console.warn(`lp-onnx/web has no WebGPU here: ${session.reason}`);
      expect(session.mode).toBe('webgpu-fused');
      const bits = Uint16Array.from(values, floatToHalf);
      const out = await session.run({ X: new lpWeb.Tensor('float16', bits, dims) });
      expect(out.Y.type).toBe('float16');
      const want = runReference(model, { X: { dims, data: Float64Array.from(bits, halfToFloat) } }).Y;
      // two float16 roundings (LpPool's Y, L1Conv's Y) as a whole model has them
      compareArrays('float16 on lp-onnx/web', { dims: [...out.Y.dims], data: Float64Array.from(out.Y.data as Uint16Array, halfToFloat) }, want, TOL.model16);
    } finally {
      await session.release();
    }
  }, 120000);

  test('the CLI: export keeps a float16 model float16, run feeds it float16 inputs, verify holds it to the float16 tolerances', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lp-onnx-f16-'));
    const b = new GraphBuilder({ name: 'half-cli', opset: 18 });
    const x = b.input('X', 'float16', ['N', 2, 5, 5]);
    const w = b.initializer('W', Uint16Array.from({ length: 3 * 2 * 9 }, (_, i) => floatToHalf(Math.cos(i) / 2)), [3, 2, 3, 3], 'float16');
    b.output(b.l1Conv(b.lpPool(x, undefined, { ...attrs, strides: [1, 1] }), w, undefined, { pads: [1, 1, 1, 1] }), 'Y');
    writeFileSync(join(dir, 'm.onnx'), encodeModel(b.build()));
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'lp-onnx.js'), ...args], { encoding: 'utf8' });
    const exported = cli('export', join(dir, 'm.onnx'), '-o', join(dir, 'm.dual.onnx'));
    expect(exported.stderr).toBe('');
    const run = cli('run', join(dir, 'm.dual.onnx'), '--dim', 'N=2');
    expect(run.stdout).toMatch(/in {2}X: float16\[2, 2, 5, 5\]/);
    expect(run.stdout).toMatch(/out Y: float16\[2, 3, 3, 3\]/);
    const verify = cli('verify', join(dir, 'm.dual.onnx'), '--dim', 'N=2');
    expect(verify.stdout).toMatch(/function bodies \(onnxruntime-node\) Y: .* within atol 0\.0001 \+ rtol 0\.002/);
    if (native.available) expect(verify.stdout).toMatch(/fused kernels \(lp-onnx\/node\) Y: .* within atol 0\.0001 \+ rtol 0\.001/);
    expect(verify.status).toBe(0);
  }, 120000);

  (native.available ? test : test.skip)('lp-onnx/node refuses a raw node whose X is float16 and W float32 with the contract\'s words, not onnxruntime\'s', async () => {
    const vi = (name: string, elem: number, dims: number[]) => ({ name, type: { tensor_type: { elem_type: elem, shape: { dim: dims.map((d) => ({ dim_value: d })) } } } });
    const model = {
      ir_version: 8,
      opset_import: [
        { domain: '', version: 18 },
        { domain: 'com.lponnx', version: 1 },
      ],
      graph: { name: 'g', node: [{ op_type: 'LpNorm', domain: 'com.lponnx', input: ['X', 'W'], output: ['Y'], name: 'mixed' }], input: [vi('X', 10, [2, 3]), vi('W', 1, [4, 3])], output: [vi('Y', 10, [2, 4])] },
    };
    await expect(lpNode.InferenceSession.create(encodeModel(model))).rejects.toThrow(/model: LpNorm node 'mixed': inputs X and W must have one element type \(T\): X is float16, W is float32/);
  });
});
