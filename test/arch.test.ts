// Architecture specs: every mistake is one error naming the spec, the layer (index and name) and
// the key; and the CLI command end to end.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ArchSpec, buildFromArch } from '../src/export/arch';
import { readWeights } from '../src/export/weights/index';
import { decodeModel } from '../src/onnx/codec';
import { makeTensor, type Tensor } from '../src/onnx/tensor';

const ROOT = join(__dirname, '..');
const FIX = join(ROOT, 'fixtures', 'torch', 'lpnorm-mlp');
const base = (): ArchSpec => JSON.parse(readFileSync(join(FIX, 'arch.json'), 'utf8'));
const weights = () => readWeights(join(FIX, 'weights.safetensors'));
const build = (spec: unknown, w: Map<string, Tensor> = weights()) => () => buildFromArch(spec, w, { what: 'a.json', weightsWhat: 'w.safetensors' });

describe('architecture spec errors', () => {
  test.each<[string, (s: ArchSpec) => unknown, string]>([
    ['format version', (s) => ({ ...s, format: 'lp-onnx/arch@2' }), 'a.json: "format" is "lp-onnx/arch@2"; expected "lp-onnx/arch@1"'],
    ['unknown type', (s) => ((s.layers[1].type = 'Swish'), s), "a.json: layer 1 (Swish): unknown layer type 'Swish' (known: "],
    ['unknown argument', (s) => ((s.layers[2].momentum = 0.1), s), "a.json: layer 2 (LpNormLayer 'lp'): unknown argument 'momentum' (LpNormLayer takes in_dim, out_dim, eps, p_init)"],
    ['missing weight', (s) => ((s.layers[0].params = 'fc0'), s), "a.json: layer 0 (Linear 'fc0'): weight 'fc0.weight' is missing from w.safetensors"],
    ['surplus weights', (s) => ((s.layers = s.layers.slice(0, 3)), s), 'a.json: w.safetensors holds weights no layer uses: head.weight, head.bias'],
    ['size mismatch', (s) => ((s.layers[2].in_dim = 16), s), "a.json: layer 2 (LpNormLayer 'lp'): in_dim = 16 but the weights give 32"],
    ['no params', (s) => (delete s.layers[0].params, s), 'a.json: layer 0 (Linear): needs "params" (the state_dict prefix of its weights)'],
    ['unknown input', (s) => ((s.layers[1].inputs = ['fc9']), s), "a.json: layer 1 (ReLU): input 'fc9' is not an earlier layer's name or a graph input"],
    ['name taken', (s) => ((s.layers[1].name = 'fc1'), s), "a.json: layer 1 (ReLU 'fc1'): the name 'fc1' is already taken"],
    ['bad output', (s) => ({ ...s, outputs: ['logits'] }), "a.json: output 'logits' is not a layer name"],
    ['bias flag', (s) => ((s.layers[0].bias = false), s), "a.json: layer 0 (Linear 'fc1'): bias = false but the weights hold 'fc1.bias'"],
    ['not an object', () => [1, 2], 'a.json: not a JSON object'],
    ['top-level key', (s) => ({ ...s, model: 'x' }), 'a.json: unknown top-level key "model"'],
  ])('%s', (_n, mutate, message) => {
    expect(build(mutate(base()))).toThrow(message);
  });

  test('a weight of the wrong shape', () => {
    const w = weights();
    w.set('lp._p', makeTensor('float32', [5], [1, 1, 1, 1, 1]));
    expect(build(base(), w)).toThrow("a.json: layer 2 (LpNormLayer 'lp'): 'lp._p' has 5 values, expected 8");
  });
  test('an input with the wrong number of features', () => {
    const s = base();
    s.inputs[0].shape = ['N', 12];
    expect(build(s)).toThrow("a.json: layer 0 (Linear 'fc1'): the input has 12 features, the weights expect 16");
  });
});

describe('lp-onnx export arch.json --weights', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lp-onnx-arch-'));
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'lp-onnx.js'), ...args], { encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  test('writes a dual-path model with producer and source hashes, and --batch makes the batch static', () => {
    const out = join(dir, 'm.onnx');
    const r = cli('export', join(FIX, 'arch.json'), '--weights', join(FIX, 'weights.pt'), '-o', out, '--batch', '4');
    expect(r.err).toBe('');
    expect(r.out).toBe(`wrote ${out}: 1 lp node (LpNorm x1), 1 function body\n`);
    const m = decodeModel(new Uint8Array(readFileSync(out)));
    const meta = Object.fromEntries((m.metadata_props ?? []).map((p) => [p.key, p.value]));
    expect(meta['lp-onnx.source']).toBe('arch.json');
    expect(meta['lp-onnx.weights']).toBe('weights.pt');
    expect(meta['lp-onnx.weights.sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(meta['lp-onnx.producer']).toMatch(/^lp-onnx /);
    expect(m.graph?.input?.[0].type?.tensor_type?.shape?.dim?.[0]).toEqual({ dim_value: 4 });
  });

  test.each([
    [['export', join(FIX, 'arch.json'), '-o', join(dir, 'a.onnx')], `lp-onnx: error: ${join(FIX, 'arch.json')}: an architecture spec needs --weights (.safetensors, .pt or .pth)\n`],
    [['export', join(FIX, 'torch.onnx'), '--weights', join(FIX, 'weights.pt'), '-o', join(dir, 'b.onnx')], `lp-onnx: error: --weights applies to an architecture spec (.json), not to ${join(FIX, 'torch.onnx')}\n`],
    [['export', join(FIX, 'arch.json'), '--weights', join(FIX, 'weights.pt'), '-o', join(dir, 'c.onnx'), '--batch', '0'], 'lp-onnx: error: --batch 0: expected a positive integer\n'],
    [['export', join(FIX, 'arch.json'), '--weights', join(FIX, 'input.npy'), '-o', join(dir, 'd.onnx')], `lp-onnx: error: ${join(FIX, 'input.npy')}: unknown weights format (expected .safetensors, .pt or .pth)\n`],
    [['export', join(FIX, 'arch.json'), '--weights', join(ROOT, 'fixtures', 'torch', 'bad', 'evil.pt'), '-o', join(dir, 'e.onnx')], expect.stringContaining("refuses the global 'posix.system' (nothing from the file is run)")],
  ])('%j', (args, message) => {
    const r = cli(...(args as string[]));
    expect(r.code).toBe(1);
    expect(r.err).toEqual(message);
    expect(existsSync((args as string[])[(args as string[]).indexOf('-o') + 1])).toBe(false);
  });

  test('a spec that is not JSON', () => {
    const p = join(dir, 'broken.json');
    writeFileSync(p, '{"format": ');
    const r = cli('export', p, '--weights', join(FIX, 'weights.pt'), '-o', join(dir, 'f.onnx'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^lp-onnx: error: ${p}: not valid JSON`));
  });
});
