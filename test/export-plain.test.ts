// lp-onnx export on plain (standard-op) ONNX graphs, as torch.onnx.export writes them: the export
// never makes a model worse. The types and shapes it writes into value_info are checked against
// what onnxruntime computes for every one of those values (each made a graph output and run).
import { exportDualPath } from '../src/export/dual-path';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import type { ModelProto, NodeProto, TensorProto } from '../src/onnx/proto';

// onnxruntime's names of ONNX element types (TensorProto.DataType)
const ORT_TYPE: Record<number, string> = { 1: 'float32', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };

// eslint-disable-next-line @typescript-eslint/no-require-imports
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
