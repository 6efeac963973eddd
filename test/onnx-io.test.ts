// ONNX I/O: decode then encode loses nothing on models lp-onnx did not write (PyTorch's
// exporter, the onnx package with external data, onnxruntime's optimizer); tensor codec;
// clear errors on corrupt, truncated and empty files; atomic writes.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeModel, encodeModel, OnnxFormatError } from '../src/onnx/codec';
import { lowestIrVersion } from '../src/onnx/ir-version';
import { externalReaderFor, internalizeExternalData, readModelFile, writeModelFile } from '../src/onnx/model-file';
import { bfloat16ToFloat, floatToBfloat16, floatToHalf, halfToFloat, makeTensor, tensorFromProto, toFloat32 } from '../src/onnx/tensor';
import { runOrt } from '../src/runtime/ort';

const FIX = join(__dirname, '..', 'fixtures', 'onnx');
const tmp = () => mkdtempSync(join(tmpdir(), 'lp-onnx-io-'));

function roundTrip(bytes: Uint8Array): Uint8Array {
  return encodeModel(decodeModel(bytes));
}

describe('round trip is byte-identical on models lp-onnx did not write', () => {
  test.each(['torch-cnn.onnx', 'torch-cnn-external.onnx'])('%s (PyTorch / onnx package)', (f) => {
    const bytes = new Uint8Array(readFileSync(join(FIX, f)));
    expect(Buffer.from(roundTrip(bytes)).equals(Buffer.from(bytes))).toBe(true);
  });

  test('a model optimized and written by onnxruntime (with external initializers)', async () => {
    const dir = tmp();
    const ort = require('onnxruntime-node');
    const out = join(dir, 'optimized.onnx');
    await ort.InferenceSession.create(join(FIX, 'torch-cnn.onnx'), {
      graphOptimizationLevel: 'extended',
      optimizedModelFilePath: out,
      extra: {
        session: { optimized_model_external_initializers_file_name: 'optimized.onnx.data', optimized_model_external_initializers_min_size_in_bytes: '64' },
      },
    });
    const bytes = new Uint8Array(readFileSync(out));
    const model = decodeModel(bytes);
    const source = decodeModel(new Uint8Array(readFileSync(join(FIX, 'torch-cnn.onnx'))));
    // onnxruntime rewrote the graph (Conv+BatchNormalization fused, constants folded)
    expect((model.graph?.node ?? []).length).toBeLessThan((source.graph?.node ?? []).length);
    expect(Buffer.from(encodeModel(model)).equals(Buffer.from(bytes))).toBe(true);
    expect(readdirSync(dir)).toContain('optimized.onnx.data');
  });

  test('int64 values beyond 2^53 come back as bigint and re-encode unchanged', () => {
    const big = 9223372036854775807n;
    const bytes = encodeModel({ ir_version: 10, graph: { node: [{ op_type: 'Slice', attribute: [{ name: 'ends', type: 7, ints: [big, -big - 1n, 5] }] }] } });
    const back = decodeModel(bytes);
    expect(back.graph?.node?.[0].attribute?.[0].ints).toEqual([big, -big - 1n, 5]);
    expect(Buffer.from(encodeModel(back)).equals(Buffer.from(bytes))).toBe(true);
  });

  test('every field of the current IR survives (overload, value_info, attribute_proto, metadata)', () => {
    const model = {
      ir_version: 11,
      opset_import: [{ domain: '', version: 21 }],
      metadata_props: [{ key: 'k', value: 'v' }],
      graph: {
        name: 'g',
        node: [{ op_type: 'F', domain: 'd', overload: 'o1', input: ['x'], output: ['y'], metadata_props: [{ key: 'a', value: 'b' }] }],
        value_info: [{ name: 'y', type: { tensor_type: { elem_type: 10, shape: { dim: [{ dim_param: 'N' }, { dim_value: 3 }] } } } }],
      },
      functions: [
        {
          name: 'F',
          domain: 'd',
          overload: 'o1',
          input: ['x'],
          output: ['y'],
          attribute_proto: [{ name: 'alpha', type: 1, f: 0.5 }],
          value_info: [{ name: 't', type: { tensor_type: { elem_type: 16 } } }],
          node: [{ op_type: 'Identity', input: ['x'], output: ['y'] }],
          opset_import: [{ domain: '', version: 21 }],
        },
      ],
    };
    expect(decodeModel(encodeModel(model))).toEqual(model);
  });
});

describe('external data', () => {
  test('tensors read through the external reader equal the self-contained model', async () => {
    const ext = readModelFile(join(FIX, 'torch-cnn-external.onnx'));
    const inner = readModelFile(join(FIX, 'torch-cnn.onnx'));
    const byName = new Map((inner.model.graph?.initializer ?? []).map((t) => [t.name, t]));
    let external = 0;
    for (const t of ext.model.graph?.initializer ?? []) {
      if (t.data_location === 1) external++;
      const a = tensorFromProto(t, ext.readExternal);
      const b = tensorFromProto(byName.get(t.name) ?? {});
      expect(Array.from(a.data as Float32Array)).toEqual(Array.from(b.data as Float32Array));
    }
    expect(external).toBeGreaterThan(0);
    const x = makeTensor(
      'float32',
      [1, 3, 8, 8],
      Array.from({ length: 192 }, (_, i) => Math.sin(i)),
    );
    const a = await runOrt('ort', encodeModel(internalizeExternalData(ext.model, ext.readExternal)), { x });
    const b = await runOrt('ort', encodeModel(inner.model), { x });
    expect(Array.from(a.y.data as Float32Array)).toEqual(Array.from(b.y.data as Float32Array));
  });

  test('writing with external data and reading back gives the same tensors', () => {
    const dir = tmp();
    const inner = readModelFile(join(FIX, 'torch-cnn.onnx'));
    writeModelFile(join(dir, 'm.onnx'), inner.model, { externalData: { threshold: 64 } });
    expect(existsSync(join(dir, 'm.onnx.data'))).toBe(true);
    const back = readModelFile(join(dir, 'm.onnx'));
    const again = internalizeExternalData(back.model, back.readExternal);
    const strip = (ts: typeof again.graph) => (ts?.initializer ?? []).map((t) => Array.from(toFloat32(tensorFromProto(t))));
    expect(strip(again.graph)).toEqual(strip(inner.model.graph));
  });

  test('a missing external file is a clear error', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'm.onnx'), readFileSync(join(FIX, 'torch-cnn-external.onnx')));
    const m = readModelFile(join(dir, 'm.onnx'));
    const t = (m.model.graph?.initializer ?? []).find((x) => x.data_location === 1);
    expect(() => tensorFromProto(t ?? {}, externalReaderFor(join(dir, 'm.onnx')))).toThrow(
      `${join(dir, 'm.onnx')}: external data file 'torch-cnn-external.onnx.data' not found next to the model`,
    );
  });

  test('a location that climbs out of the model\'s folder is refused by the file reader and by lp-onnx/web; one inside it is read', async () => {
    const dir = tmp();
    const m = readModelFile(join(FIX, 'torch-cnn-external.onnx')).model;
    const location = (t: { external_data?: { key?: string; value?: string }[] }) => t.external_data?.find((e) => e.key === 'location');
    const moved = (to: string) => {
      const c = structuredClone(m);
      for (const t of c.graph?.initializer ?? []) if (t.data_location === 1) (location(t) as { value: string }).value = to;
      return c;
    };
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'outside.data'), readFileSync(join(FIX, 'torch-cnn-external.onnx.data')));
    writeFileSync(join(dir, 'sub', 'w.data'), readFileSync(join(FIX, 'torch-cnn-external.onnx.data')));
    const web = require('../src/runtime/web/index') as typeof import('../src/runtime/web/index');
    web.env.wasm.numThreads = 1;
    for (const [to, ok] of [
      ['../outside.data', false],
      [join(dir, 'outside.data'), false],
      ['sub/../../outside.data', false],
      ['x/../w.data', true],
    ] as const) {
      const path = join(dir, 'sub', 'm.onnx');
      writeFileSync(path, encodeModel(moved(to)));
      const refusal = `${path}: external data location '${to}' must be a path inside the model's folder`;
      const t = (readModelFile(path).model.graph?.initializer ?? []).find((x) => x.data_location === 1);
      if (ok) {
        expect(() => tensorFromProto(t ?? {}, externalReaderFor(path))).not.toThrow();
        const session = await web.InferenceSession.create(path, { executionProviders: ['wasm'] });
        expect(session.inputNames.length).toBe(1);
        await session.release();
      } else {
        expect(() => tensorFromProto(t ?? {}, externalReaderFor(path))).toThrow(refusal);
        await expect(web.InferenceSession.create(path, { executionProviders: ['wasm'] })).rejects.toThrow(refusal);
      }
    }
  }, 60000);
});

describe('tensor codec', () => {
  test('typed fields decode to the declared element types', () => {
    expect(Array.from(tensorFromProto({ dims: [2], data_type: 1, float_data: [1.5, -2] }).data as Float32Array)).toEqual([1.5, -2]);
    expect(Array.from(tensorFromProto({ dims: [2], data_type: 11, double_data: [0.1, 3] }).data as Float64Array)).toEqual([0.1, 3]);
    expect(Array.from(tensorFromProto({ dims: [2], data_type: 7, int64_data: [-5, 9223372036854775807n] }).data as BigInt64Array)).toEqual([
      -5n,
      9223372036854775807n,
    ]);
    expect(Array.from(tensorFromProto({ dims: [3], data_type: 9, int32_data: [1, 0, 1] }).data as Uint8Array)).toEqual([1, 0, 1]);
    expect(Array.from(tensorFromProto({ dims: [1], data_type: 13, uint64_data: [18446744073709551615n] }).data as BigUint64Array)).toEqual([
      18446744073709551615n,
    ]);
    expect(Array.from(tensorFromProto({ dims: [2], data_type: 3, int32_data: [-128, 127] }).data as Int8Array)).toEqual([-128, 127]);
    // float16 values travel in int32_data as their bit patterns
    expect(Array.from(toFloat32(tensorFromProto({ dims: [2], data_type: 10, int32_data: [0x3c00, 0xc000] })))).toEqual([1, -2]);
  });

  test('raw_data of the wrong size is a clear error', () => {
    expect(() => tensorFromProto({ name: 'w', dims: [3], data_type: 1, raw_data: new Uint8Array(8) })).toThrow(
      "tensor 'w': raw data has 8 bytes, expected 12 (3 x float32)",
    );
  });

  test('float16 and bfloat16 conversions (IEEE binary16 and bfloat16 bit patterns)', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [2 ** -24, 0x0001],
      [2 ** -14, 0x0400],
      [0.1, 0x2e66],
      [Number.POSITIVE_INFINITY, 0x7c00],
      [1e6, 0x7c00],
    ];
    for (const [v, h] of cases) expect(floatToHalf(v)).toBe(h);
    for (const [v, h] of cases.slice(0, 5)) expect(halfToFloat(h)).toBe(v);
    expect(Number.isNaN(halfToFloat(floatToHalf(Number.NaN)))).toBe(true);
    expect(floatToBfloat16(1)).toBe(0x3f80);
    expect(floatToBfloat16(-2)).toBe(0xc000);
    expect(bfloat16ToFloat(0x3f80)).toBe(1);
    expect(bfloat16ToFloat(floatToBfloat16(3.140625))).toBe(3.140625);
  });
});

describe('bad files', () => {
  const good = new Uint8Array(readFileSync(join(FIX, 'torch-cnn.onnx')));
  test('empty', () => {
    expect(() => decodeModel(new Uint8Array(0), 'e.onnx')).toThrow('e.onnx: the file is empty (0 bytes), expected an ONNX ModelProto');
  });
  test('truncated', () => {
    expect(() => decodeModel(good.subarray(0, 3000), 't.onnx')).toThrow(/^t\.onnx: not a valid ONNX ModelProto: the file is truncated or corrupt/);
  });
  test('not protobuf', () => {
    const junk = new Uint8Array(Buffer.from('this is plainly not an onnx model, just text\n'.repeat(4)));
    expect(() => decodeModel(junk, 'j.onnx')).toThrow(OnnxFormatError);
    expect(() => decodeModel(junk, 'j.onnx')).toThrow(/^j\.onnx: not/);
  });
  test('protobuf but not a model', () => {
    expect(() => decodeModel(new Uint8Array([0x08, 0x07]), 'n.onnx')).toThrow(
      'n.onnx: not an ONNX model: no graph (ModelProto.graph and ir_version are required)',
    );
  });
  test('writing into a missing folder fails without leaving files', () => {
    const dir = tmp();
    expect(() => writeModelFile(join(dir, 'nope', 'm.onnx'), decodeModel(good))).toThrow(`folder '${join(dir, 'nope')}' does not exist`);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('the lowest IR version a model needs', () => {
  // onnx's release table: opsets 13-14 came with IR 7, 15-18 with 8, 19-20 with 9, 21-22 with 10, 23 with 11
  const model = (opset: number, extra: object = {}) => ({ ir_version: 11, opset_import: [{ domain: '', version: opset }], graph: { node: [] }, ...extra });
  test.each([
    [13, 7],
    [17, 8],
    [18, 8],
    [20, 9],
    [21, 10],
    [23, 11],
  ])('opset %i: IR %i', (opset, ir) => {
    expect(lowestIrVersion(model(opset))).toBe(ir);
  });
  test('model-local functions need IR 8; overload 10; a float8 initializer 9; a subgraph counts', () => {
    expect(lowestIrVersion(model(13, { functions: [{ name: 'F', domain: 'd', node: [] }] }))).toBe(8);
    expect(lowestIrVersion(model(13, { functions: [{ name: 'F', domain: 'd', overload: 'a', node: [] }] }))).toBe(10);
    expect(lowestIrVersion(model(17, { graph: { node: [], initializer: [{ name: 'w', data_type: 17, dims: [1] }] } }))).toBe(9);
    const sub = { node: [], initializer: [{ name: 'u', data_type: 21, dims: [1] }] };
    expect(lowestIrVersion(model(17, { graph: { node: [{ op_type: 'If', input: ['c'], output: ['y'], attribute: [{ name: 'then_branch', type: 5, g: sub }] }] } }))).toBe(10);
  });
});

describe('lower inlines a function whose body holds a subgraph', () => {
  test("an If's branches get the call's attribute values and the call's value names; the result runs as the function does", async () => {
    const { lowerModel } = require('../src/export/lower') as typeof import('../src/export/lower');
    const tensorType = { tensor_type: { elem_type: 1 } };
    const branch = (name: string, op: string): object => ({
      name,
      node: [{ op_type: 'Constant', input: [], output: [`${name}_k`], attribute: [{ name: 'value_float', type: 1, ref_attr_name: 'k' }] }, { op_type: op, input: ['X', `${name}_k`], output: [`${name}_y`] }],
      output: [{ name: `${name}_y`, type: tensorType }],
    });
    const model = {
      ir_version: 8,
      opset_import: [{ domain: '', version: 13 }, { domain: 'local', version: 1 }],
      graph: {
        name: 'g',
        node: [
          { op_type: 'F', domain: 'local', input: ['x'], output: ['y1'], attribute: [{ name: 'add', type: 2, i: 1 }, { name: 'k', type: 1, f: 2 }] },
          { op_type: 'F', domain: 'local', input: ['x'], output: ['y2'], attribute: [{ name: 'add', type: 2, i: 0 }, { name: 'k', type: 1, f: 3 }] },
        ],
        input: [{ name: 'x', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 3 }] } } } }],
        output: [{ name: 'y1', type: tensorType }, { name: 'y2', type: tensorType }],
      },
      functions: [
        {
          name: 'F',
          domain: 'local',
          input: ['X'],
          output: ['Y'],
          attribute: ['add', 'k'],
          opset_import: [{ domain: '', version: 13 }],
          node: [
            { op_type: 'Constant', input: [], output: ['a'], attribute: [{ name: 'value_int', type: 2, ref_attr_name: 'add' }] },
            { op_type: 'Cast', input: ['a'], output: ['c'], attribute: [{ name: 'to', type: 2, i: 9 }] },
            { op_type: 'If', input: ['c'], output: ['Y'], attribute: [{ name: 'then_branch', type: 5, g: branch('th', 'Add') }, { name: 'else_branch', type: 5, g: branch('el', 'Mul') }] },
          ],
        },
      ],
    } as unknown as import('../src/onnx/proto').ModelProto;
    const lowered = lowerModel(model).model;
    expect(lowered.functions).toEqual([]);
    const ifs = (lowered.graph?.node ?? []).filter((n) => n.op_type === 'If');
    expect(ifs.length).toBe(2);
    const ks = ifs.map((n) => n.attribute?.find((a) => a.name === 'then_branch')?.g?.node?.[0].attribute?.[0]);
    expect(ks.map((a) => [a?.name, a?.f, a?.ref_attr_name])).toEqual([
      ['value_float', 2, undefined],
      ['value_float', 3, undefined],
    ]);
    const x = makeTensor('float32', [3], [1, 2, 3]);
    const before = await runOrt('ort', encodeModel(model), { x });
    const after = await runOrt('ort', encodeModel(lowered), { x });
    // x + 2 (add = 1) and x * 3 (add = 0), from onnxruntime inlining the function itself
    expect(Array.from(before.y1.data as Float32Array)).toEqual([3, 4, 5]);
    expect(Array.from(before.y2.data as Float32Array)).toEqual([3, 6, 9]);
    expect(Array.from(after.y1.data as Float32Array)).toEqual([3, 4, 5]);
    expect(Array.from(after.y2.data as Float32Array)).toEqual([3, 6, 9]);
  });
});
