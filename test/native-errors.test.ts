// Malformed raw com.lponnx nodes (not through lp-onnx export) fed straight to lp-onnx/node and to
// the native kernels alone (the custom-op library as Python onnxruntime loads it): one error naming
// the op, the node and the attribute or input, the same words as the TypeScript reference, and no
// out-of-bounds read (the sanitizer run of .ci/run runs this suite too). Texts are pinned.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { attributeProto } from '../ops/attributes';
import { LP_OPS } from '../ops/index';
import { nativeSchemaHeader, SCHEMA_HEADER } from '../scripts/gen-native-schema';
import { native, nativeVariant } from '../src/node/binding';
import * as lpNode from '../src/node/index';
import { AttributeType, type AttributeProto } from '../src/onnx/proto';
import { NODE_NAME, type OpType, type RawNode, rawModel, runReference } from './helpers/raw-nodes';

const I = (n: string, v: number) => attributeProto(n, 'int', v);
const IS = (n: string, v: number[]) => attributeProto(n, 'ints', v);
const F = (n: string, v: number) => attributeProto(n, 'float', v);
const S = (n: string, v: string) => attributeProto(n, 'string', v);

function input(dims: number[], constant = false, fill = 0.5) {
  return { dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(fill), constant };
}

function node(op: OpType, attrs: AttributeProto[], inputs: RawNode['inputs'], symbolic = false): RawNode {
  return { op, attrs, inputs, symbolic, invisible: false, inDomain: true, nanOnly: false };
}

// W fed at run time (a graph input), row by row
function weights(rows: number[][]) {
  return { dims: [rows.length, rows[0].length], data: new Float32Array(rows.flat()), constant: false };
}

const conv2d = (attrs: AttributeProto[], symbolic = false) => node('L1Conv', attrs, [input([1, 2, 8, 8]), input([4, 2, 3, 3], true), null], symbolic);
const pool2d = (attrs: AttributeProto[], n = 1) => node('LpPool', attrs, [input([n, 2, 4, 4]), null]);
const norm = (attrs: AttributeProto[]) => node('LpNorm', attrs, [input([2, 3]), input([2, 3], true), null]);
const msg = (op: string, what: string) => `${op} node '${NODE_NAME}': ${what}`;

// The node, and what every backend must answer.
const CASES: [string, RawNode, string][] = [
  ['L1Conv 2D pads of 2 values', conv2d([IS('pads', [1, 1])]), msg('L1Conv', 'attribute pads has 2 values; expected 4 (a begin and an end per spatial axis) for 2 spatial dims')],
  ['L1Conv 2D pads of 2 values, rank known only at run time', conv2d([IS('pads', [1, 1])], true), msg('L1Conv', 'attribute pads has 2 values; expected 4 (a begin and an end per spatial axis) for 2 spatial dims')],
  ['L1Conv 2D strides of 1 value', conv2d([IS('strides', [1])]), msg('L1Conv', 'attribute strides has 1 values; expected 2 (one per spatial axis) for 2 spatial dims')],
  ['L1Conv dilations of 3 values', conv2d([IS('dilations', [1, 1, 1])]), msg('L1Conv', 'attribute dilations has 3 values; expected 2 (one per spatial axis) for 2 spatial dims')],
  ['L1Conv group 0', conv2d([I('group', 0)]), msg('L1Conv', 'attribute group = 0; must be >= 1')],
  ['L1Conv strides beyond int32', conv2d([IS('strides', [1, 2 ** 31])]), msg('L1Conv', 'attribute strides[1] = 2147483648; must be <= 2147483647')],
  ['L1Conv pads with auto_pad', conv2d([IS('pads', [1, 1, 1, 1]), S('auto_pad', 'SAME_UPPER')]), msg('L1Conv', "pads cannot be given with auto_pad 'SAME_UPPER'")],
  ['L1Conv kernel_shape against W', conv2d([IS('kernel_shape', [2, 2])]), msg('L1Conv', "kernel_shape [2,2] disagrees with W's spatial dims [3,3]")],
  ['L1Conv B of rank 2', node('L1Conv', [], [input([1, 2, 5]), input([4, 2, 3], true), input([2, 2], true)]), msg('L1Conv', 'B must be [C_out] = [4], got [2,2]')],
  ['LpPool mean = 2', pool2d([IS('kernel_shape', [2, 2]), I('mean', 2)]), msg('LpPool', 'attribute mean = 2; must be 0 or 1')],
  ['LpPool mean = -1', pool2d([IS('kernel_shape', [2, 2]), I('mean', -1)]), msg('LpPool', 'attribute mean = -1; must be 0 or 1')],
  ['LpPool global = 2', pool2d([I('global', 2)]), msg('LpPool', 'attribute global = 2; must be 0 or 1')],
  ['LpPool negative pads on an empty batch', pool2d([IS('kernel_shape', [2, 2]), IS('pads', [-1, 0, 0, 0])], 0), msg('LpPool', 'attribute pads[0] = -1; must be >= 0')],
  ['LpPool auto_pad SAME', pool2d([IS('kernel_shape', [2, 2]), S('auto_pad', 'SAME')]), msg('LpPool', 'attribute auto_pad = \'SAME\'; must be one of "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"')],
  ['LpPool no kernel_shape', pool2d([]), msg('LpPool', 'required attribute kernel_shape is missing (it may be omitted only when global = 1)')],
  ['LpPool kernel_shape as an int', pool2d([I('kernel_shape', 2)]), msg('LpPool', "attribute 'kernel_shape' must be ints, got int")],
  ['LpPool kernel_shape as floats', pool2d([{ name: 'kernel_shape', type: AttributeType.FLOATS, floats: [2, 2] }]), msg('LpPool', "attribute 'kernel_shape' must be ints, got floats")],
  ['LpPool output dim < 1', pool2d([IS('kernel_shape', [5, 2])]), msg('LpPool', 'output dim 0 would be 0 (< 1): input 4, kernel 5, stride 1, dilation 1, pads 0+0')],
  [
    'LpPool mode_index contradicts mode',
    pool2d([IS('kernel_shape', [2, 2]), S('mode', 'clamp'), I('mode_index', 0)]),
    msg('LpPool', "attribute mode_index = 0 ('abs') contradicts mode = 'clamp'; it must be 1 or absent"),
  ],
  [
    'L1Conv auto_pad_index contradicts auto_pad',
    conv2d([I('auto_pad_index', 1)]),
    msg('L1Conv', "attribute auto_pad_index = 1 ('SAME_UPPER') contradicts auto_pad = 'NOTSET'; it must be 0 or absent"),
  ],
  ['LpNorm mode_index = 2', norm([I('mode_index', 2)]), msg('LpNorm', 'attribute mode_index = 2; must be one of -1, 0, 1')],
  ['LpNorm p = 0', norm([F('p', 0)]), msg('LpNorm', 'attribute p = 0; must be > 0 (or +inf)')],
  ['LpNorm p = NaN', norm([F('p', Number.NaN)]), msg('LpNorm', 'attribute p = NaN; must be > 0 (or +inf)')],
  ['LpNorm eps = -0.5', norm([F('eps', -0.5)]), msg('LpNorm', 'attribute eps = -0.5; must be >= 0')],
  ['LpNorm p as a string', norm([S('p', 'two')]), msg('LpNorm', "attribute 'p' must be float, got string")],
  ['LpNorm mode', norm([S('mode', 'square')]), msg('LpNorm', 'attribute mode = \'square\'; must be "abs" or "clamp"')],
  ['LpNorm W of rank 1', node('LpNorm', [], [input([2, 3]), input([3], true), null]), msg('LpNorm', 'W must have rank 2 [M, K], got rank 1')],
  ['LpNorm P of rank 2', node('LpNorm', [], [input([2, 3]), input([2, 3], true), input([1, 2], true, 2)]), msg('LpNorm', 'P must be [M], [1] or a scalar, got rank 2')],
  ['LpNorm negative weight', node('LpNorm', [], [input([2, 3]), input([2, 3], true, -0.25), null]), msg('LpNorm', 'W[0,0] = -0.25 is negative; weights must be >= 0')],
  // W fed at run time: checked on each run (by the CUDA kernels on the device)
  ['LpNorm negative weight fed at run time', node('LpNorm', [], [input([2, 3]), weights([[0.5, 0.5, 0.5], [0.5, 0, -2]]), null]), msg('LpNorm', 'W[1,2] = -2 is negative; weights must be >= 0')],
  ['LpNorm NaN weight fed at run time', node('LpNorm', [], [input([2, 3]), weights([[0.5, Number.NaN, -1], [0.5, 0.5, 0.5]]), null]), msg('LpNorm', 'W[0,1] is NaN; weights must be >= 0')],
  [
    'LpNorm mean = 1, a zero row of W fed at run time',
    node('LpNorm', [I('mean', 1)], [input([2, 3]), weights([[0.5, 0.5, 0.5], [0, 0, 0], [0, -1, 0]]), null]),
    msg('LpNorm', 'mean = 1 but row 1 of W sums to 0 (the power mean is undefined)'),
  ],
];

const { binding, reason } = native();
const d = binding ? describe : describe.skip;
if (!binding) console.warn(`skipping the native error tests: ${reason}`);
// the CUDA kernels' host code and device code, on the CPU emulation of the CUDA execution model
const emulation = nativeVariant(process.env.LP_ONNX_CUDA_EMULATION_BUILD || join(__dirname, '..', 'build', 'CudaEmulation'));
const de = emulation.binding ? describe : describe.skip;
if (!emulation.binding) console.warn(`skipping the CUDA kernels' error tests: ${emulation.reason} (npm run build:cuda-emulation)`);

async function runKernels(c: RawNode, kernels = binding): Promise<string> {
  if (!kernels) throw new Error(reason);
  const binding = kernels;
  const { bytes, feeds } = rawModel(c);
  let session: ReturnType<typeof binding.createSession> | undefined;
  try {
    session = binding.createSession(bytes, { logSeverityLevel: 4 });
    await binding.run(session, feeds.map((f) => f.name), feeds.map(() => 'float32'), feeds.map((f) => f.dims), feeds.map((f) => f.data), ['Y']);
    return 'accepted';
  } catch (e) {
    return (e as Error).message;
  } finally {
    if (session) binding.release(session);
  }
}

async function runLpNode(c: RawNode): Promise<string> {
  const { bytes, feeds } = rawModel(c);
  try {
    const s = await lpNode.InferenceSession.create(bytes, { logSeverityLevel: 4 });
    const f: Record<string, lpNode.Tensor> = {};
    for (const x of feeds) f[x.name] = new lpNode.Tensor('float32', x.data, x.dims);
    await s.run(f);
    await s.release();
    return 'accepted';
  } catch (e) {
    return (e as Error).message;
  }
}

describe('the reference refuses every malformed node', () => {
  test.each(CASES)('%s', (_name, c, want) => {
    const r = runReference(c, rawModel(c).bytes);
    expect(r.accepted ? 'accepted' : r.message).toBe(want);
  });
});

d('lp-onnx/node and the native kernels refuse every malformed node', () => {
  test.each(CASES)('%s', async (_name, c, want) => {
    expect(await runKernels(c)).toContain(want);
    expect(await runLpNode(c)).toContain(want);
  });

  test('an unknown attribute: the kernels cannot see its name, lp-onnx/node refuses it', async () => {
    const c = conv2d([I('ceil_mode', 1)]);
    expect(await runKernels(c)).toBe('accepted');
    expect(await runLpNode(c)).toBe("model: L1Conv node 'fuzz_node': unknown attribute 'ceil_mode' (expected one of kernel_shape, strides, pads, dilations, auto_pad, auto_pad_index, group)");
  });

  test('an lp node of an unknown op type is one clear error', async () => {
    const c = { ...norm([]), op: 'LpMean' as OpType };
    expect(await runLpNode(c)).toBe("model: node 'fuzz_node': unknown op 'LpMean' in domain com.lponnx (expected LpNorm, LpPool or L1Conv)");
  });

  test('a corrupt model file is one clear error', async () => {
    const { bytes } = rawModel(norm([]));
    await expect(lpNode.InferenceSession.create(bytes.subarray(0, bytes.length - 7))).rejects.toThrow(/^model: not a valid ONNX ModelProto/);
  });

  test('empty batch and zero-size K give empty or defined outputs', async () => {
    // X [0, 2, 4, 4]: Y [0, 2, 3, 3]; LpNorm with K = 0: Y = sum_eps^(1/p)
    const pool = pool2d([IS('kernel_shape', [2, 2])], 0);
    expect(await runKernels(pool)).toBe('accepted');
    const c = node('LpNorm', [F('sum_eps', 0.25), F('p', 2)], [input([3, 0]), input([2, 0], true), null]);
    const { bytes, feeds } = rawModel(c);
    const s = await lpNode.InferenceSession.create(bytes);
    const out = await s.run({ X: new lpNode.Tensor('float32', feeds[0].data, feeds[0].dims) });
    expect(out.Y.dims).toEqual([3, 2]);
    expect([...(out.Y.data as Float32Array)]).toEqual(new Array(6).fill(0.5));
    await s.release();
  });
});

de('the CUDA kernels (CPU emulation of the CUDA execution model, not a GPU) refuse every malformed node', () => {
  test.each(CASES)('%s', async (_name, c, want) => {
    expect(await runKernels(c, emulation.binding)).toContain(want);
  });
});

describe('the native attribute schema', () => {
  test('kernels/schema/lp_schema.h is what scripts/gen-native-schema.ts writes from ops/', () => {
    expect(readFileSync(SCHEMA_HEADER, 'utf8')).toBe(nativeSchemaHeader());
  });

  test('it carries every attribute of every op with the default of ops/', () => {
    const text = readFileSync(SCHEMA_HEADER, 'utf8');
    for (const [op, def] of Object.entries(LP_OPS)) {
      const start = text.indexOf(`struct ${op}Attrs {`);
      const block = text.slice(start, text.indexOf('\n};', start));
      for (const [name, spec] of Object.entries(def.attributes)) {
        expect(block).toContain(`{"${name}", AttrKind::`);
        if (spec.default === undefined) continue;
        const literal = typeof spec.default === 'string' ? `"${spec.default}"` : spec.kind === 'float' ? `${Number(spec.default).toFixed(1)}f` : String(spec.default);
        expect(block).toMatch(new RegExp(` ${name} = ${literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')};`));
      }
    }
  });
});
