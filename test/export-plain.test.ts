// lp-onnx export on plain (standard-op) ONNX graphs, as torch.onnx.export writes them: the export
// never makes a model worse. The types and shapes it writes into value_info are checked against
// what onnxruntime computes for every one of those values (each made a graph output and run).
import { lpOp } from '../ops/index';
import { exportDualPath } from '../src/export/dual-path';
import { lpAttributes } from '../src/export/fuse-graph';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import type { ModelProto, NodeProto, TensorProto } from '../src/onnx/proto';

// onnxruntime's names of ONNX element types (TensorProto.DataType)
const ORT_TYPE: Record<number, string> = { 1: 'float32', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };

const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');

const int64 = (name: string, dims: number[], values: number[]): TensorProto => ({
  name,
  data_type: 7,
  dims,
  raw_data: new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer),
});
const node = (op_type: string, input: string[], output: string[], attribute: NodeProto['attribute'] = []): NodeProto => ({
  op_type,
  input,
  output,
  name: output[0],
  attribute,
});

// x.reshape(x.size(0), -1).abs().sum(1) as torch writes it: Shape -> Gather -> Unsqueeze -> Concat
// -> Reshape (int64 values feeding a float graph), with its Constant nodes.
function shapeArithmetic(): ModelProto {
  return {
    ir_version: 8,
    opset_import: [{ domain: '', version: 13 }],
    producer_name: 'pytorch',
    graph: {
      name: 'torch_jit',
      input: [{ name: 'x', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'N' }, { dim_value: 3 }, { dim_value: 4 }, { dim_value: 4 }] } } } }],
      output: [{ name: 'y', type: { tensor_type: { elem_type: 1 } } }],
      initializer: [int64('axes1', [1], [1])],
      node: [
        node('Shape', ['x'], ['/Shape_output_0']),
        node('Constant', [], ['/Constant_output_0'], [{ name: 'value', type: 4, t: int64('', [], [0]) }]),
        node('Gather', ['/Shape_output_0', '/Constant_output_0'], ['/Gather_output_0'], [{ name: 'axis', type: 2, i: 0 }]),
        node('Constant', [], ['/Constant_1_output_0'], [{ name: 'value', type: 4, t: int64('', [1], [0]) }]),
        node('Unsqueeze', ['/Gather_output_0', '/Constant_1_output_0'], ['/Unsqueeze_output_0']),
        node('Constant', [], ['/Constant_2_output_0'], [{ name: 'value_ints', type: 7, ints: [-1] }]),
        node('Concat', ['/Unsqueeze_output_0', '/Constant_2_output_0'], ['/Concat_output_0'], [{ name: 'axis', type: 2, i: 0 }]),
        node('Reshape', ['x', '/Concat_output_0'], ['/Reshape_output_0']),
        node('Abs', ['/Reshape_output_0'], ['/Abs_output_0']),
        node('Cast', ['/Abs_output_0'], ['/Cast_output_0'], [{ name: 'to', type: 2, i: 11 }]),
        node('Cast', ['/Cast_output_0'], ['/Cast_1_output_0'], [{ name: 'to', type: 2, i: 1 }]),
        node('Pow', ['/Cast_1_output_0', '/Constant_1_output_0'], ['/Pow_output_0']),
        node('ReduceSum', ['/Pow_output_0', 'axes1'], ['y'], [{ name: 'keepdims', type: 2, i: 0 }]),
      ],
    },
  };
}

// Every value_info entry made a graph output: onnxruntime's own type and dims for each.
async function runtimeTypes(model: ModelProto, dims: number[]): Promise<Map<string, { type: string; dims: readonly number[] }>> {
  const probe = decodeModel(encodeModel(model));
  const graph = probe.graph ?? {};
  graph.output = [...(graph.output ?? []), ...(graph.value_info ?? []).map((v) => ({ name: v.name }))];
  graph.value_info = [];
  const s = await ort.InferenceSession.create(encodeModel(probe));
  const n = dims.reduce((a, b) => a * b, 1);
  const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => (i % 7) - 3), dims) });
  await s.release();
  return new Map(Object.entries(out).map(([k, t]) => [k, { type: t.type, dims: t.dims }]));
}

describe('lp-onnx export of a plain torch-style graph with shape arithmetic', () => {
  const { model } = exportDualPath(decodeModel(encodeModel(shapeArithmetic())));

  test('the exported model loads and runs on stock onnxruntime-node, with the source outputs', async () => {
    const dims = [2, 3, 4, 4];
    const a = await runtimeTypes(shapeArithmetic(), dims);
    const b = await runtimeTypes(model, dims);
    expect(b.get('y')).toEqual(a.get('y'));
  });

  test('every value_info it writes agrees with what onnxruntime computes (type, and every known dim)', async () => {
    const got = await runtimeTypes(model, [2, 3, 4, 4]);
    const infos = model.graph?.value_info ?? [];
    expect(infos.length).toBeGreaterThan(0);
    for (const vi of infos) {
      const t = vi.type?.tensor_type;
      const rt = got.get(vi.name ?? '');
      expect([vi.name, ORT_TYPE[t?.elem_type ?? 0] ?? `code ${t?.elem_type}`]).toEqual([vi.name, rt?.type]);
      if (t?.shape) {
        const dims = (t.shape.dim ?? []).map((d) => (d.dim_value !== undefined ? Number(d.dim_value) : null));
        expect([vi.name, dims.length]).toEqual([vi.name, rt?.dims.length]);
        dims.forEach((d, i) => {
          if (d !== null) expect([vi.name, i, d]).toEqual([vi.name, i, rt?.dims[i]]);
        });
      }
    }
  });

  test('values whose type inference cannot know (after Shape, Gather, Cast) get no value_info', () => {
    const names = new Set((model.graph?.value_info ?? []).map((v) => v.name));
    for (const unknown of ['/Gather_output_0', '/Unsqueeze_output_0', '/Concat_output_0']) expect(names.has(unknown)).toBe(false);
  });
});

// GeM as other tools write it: the exponent through Identity and Cast, shaped [C, 1, 1]; the root as
// Div(1, p') where p' is a second initializer holding the same values; the clamp as Max(x, eps).
function writtenGeM(rootScale = 1, epsPerChannel = false): ModelProto {
  const f32 = (name: string, dims: number[], values: number[]): TensorProto => ({
    name,
    data_type: 1,
    dims,
    raw_data: new Uint8Array(new Float32Array(values).buffer),
  });
  const p = [2, 3, 4.5];
  return {
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'written_gem',
      input: [{ name: 'x', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'N' }, { dim_value: 3 }, { dim_value: 5 }, { dim_value: 4 }] } } } }],
      output: [{ name: 'y', type: { tensor_type: { elem_type: 1 } } }],
      initializer: [
        f32('p', [3, 1, 1], p),
        f32('p_copy', [1, 3, 1, 1], p.map((v) => v * rootScale)),
        epsPerChannel ? f32('eps', [3, 1, 1], [1e-6, 0.05, 0.2]) : f32('eps', [], [1e-6]),
        f32('one', [], [1]),
      ],
      node: [
        node('Max', ['x', 'eps'], ['m']),
        node('Identity', ['p'], ['p_id']),
        node('Cast', ['p_id'], ['p_cast'], [{ name: 'to', type: 2, i: 1 }]),
        node('Pow', ['m', 'p_cast'], ['mp']),
        node('GlobalAveragePool', ['mp'], ['avg']),
        node('Div', ['one', 'p_copy'], ['inv']),
        node('Pow', ['avg', 'inv'], ['y']),
      ],
    },
  };
}

describe('GeM written with Identity, Cast, Max, a [C, 1, 1] exponent and Div(1, p) on another initializer', () => {
  test('becomes one LpPool with P per channel, and computes what the source computes', async () => {
    const { model, report } = exportDualPath(writtenGeM());
    expect(report.fusion.fused.map((f) => [f.op, f.attrs.global, f.attrs.mean, f.attrs.mode, f.attrs.P])).toEqual([['LpPool', 1, 1, 'clamp', [3]]]);
    expect((model.graph?.node ?? []).map((n) => n.op_type)).toEqual(['LpPool']);
    const dims = [2, 3, 5, 4];
    const x = Float32Array.from({ length: 120 }, (_, i) => Math.sin(i * 0.7) * 2);
    const run = async (m: ModelProto) => {
      const s = await ort.InferenceSession.create(encodeModel(m));
      const out = await s.run({ x: new ort.Tensor('float32', x, dims) });
      await s.release();
      return Array.from(out.y.data as Float32Array);
    };
    const [a, b] = [await run(writtenGeM()), await run(model)];
    expect(b.length).toBe(a.length);
    b.forEach((v, i) => expect(Math.abs(v - a[i])).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(a[i])));
  });

  test('a clamp whose bound differs between channels stays a node; the pooled power still fuses (exact)', async () => {
    const { model, report } = exportDualPath(writtenGeM(1, true));
    expect(report.fusion.fused.map((f) => [f.op, f.attrs.mode ?? 'abs', f.attrs.eps ?? 0])).toEqual([['LpPool', 'abs', 0]]);
    expect((model.graph?.node ?? []).map((n) => n.op_type)).toEqual(['Max', 'LpPool']);
    const x = Float32Array.from({ length: 120 }, (_, i) => Math.sin(i * 0.7) * 2);
    const run = async (m: ModelProto) => {
      const s = await ort.InferenceSession.create(encodeModel(m));
      const out = await s.run({ x: new ort.Tensor('float32', x, [2, 3, 5, 4]) });
      await s.release();
      return Array.from(out.y.data as Float32Array);
    };
    const [a, b] = [await run(writtenGeM(1, true)), await run(model)];
    b.forEach((v, i) => expect(Math.abs(v - a[i])).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(a[i])));
  });

  test('a root that is not 1/p is left alone, with the reason', () => {
    const { report } = exportDualPath(writtenGeM(1.25));
    expect(report.fusion.fused).toEqual([]);
    expect(report.fusion.nearMisses.map((m) => m.why)).toEqual([expect.stringMatching(/the root's exponent .* is not 1\/p for p = \[2,3,4\.5\]/)]);
  });
});

describe("fused nodes' attributes follow ops/", () => {
  test('each is written with the kind the op schema declares, defaults left out (group of L1Conv is an int)', () => {
    const { proto, shown } = lpAttributes('L1Conv', { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 0, 0], dilations: [1, 1], group: 2 });
    expect(shown).toEqual({ kernel_shape: [3, 3], pads: [1, 1, 0, 0], group: 2 });
    const parsed = lpOp('L1Conv')?.parse(proto, 'n') as Record<string, unknown>;
    expect([parsed.group, parsed.kernel_shape, parsed.pads]).toEqual([2, [3, 3], [1, 1, 0, 0]]);
    const pool = lpAttributes('LpPool', { global: 1, p: 2, eps: 0, mean: 1, mode: 'abs', count_include_pad: 0 });
    expect(pool.shown).toEqual({ global: 1, p: 2, mean: 1 });
    expect(() => lpOp('LpPool')?.parse(pool.proto, 'n')).not.toThrow();
    expect(() => lpAttributes('LpNorm', { kernel_shape: [1] })).toThrow("LpNorm has no attribute 'kernel_shape'");
  });
});
