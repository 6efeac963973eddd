// The lp-onnx command line, run as a user runs it (a child process): the main job on the
// bundled example, every command, and clear errors with exit code 1 and nothing written.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveDemo } from '../src/cli/serve';
import { GraphBuilder } from '../src/graph/builder';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import { makeTensor, toFloat64 } from '../src/onnx/tensor';
import { formatNpy, parseNpy } from '../src/runtime/npy';
import { runOrt } from '../src/runtime/ort';
import { runReference } from '../src/runtime/reference';
import { compareArrays, TOL } from './helpers/compare';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'bin', 'lp-onnx.js');
const EXAMPLE = join(ROOT, 'examples', 'adder-cnn.onnx');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'lp-onnx-cli-'));
const dual = join(dir, 'adder-cnn.dual.onnx');

describe('lp-onnx CLI', () => {
  test('--help lists the commands', () => {
    const r = cli('--help');
    expect(r.code).toBe(0);
    for (const c of ['export', 'lower', 'inspect', 'run']) expect(r.out).toContain(`lp-onnx ${c}`);
  });

  test('export writes a dual-path model of the bundled example', () => {
    const r = cli('export', EXAMPLE, '-o', dual);
    expect(r.err).toBe('');
    expect(r.out).toBe(`wrote ${dual}: 5 lp nodes (L1Conv x2, LpPool x2, LpNorm x1), 3 function bodies\n`);
    const m = decodeModel(new Uint8Array(readFileSync(dual)));
    // one body per op, no overload: the two L1Conv (strides 1 and 2, a bias and none) and the
    // windowed and the global LpPool each share one body that reads their attributes by reference
    expect((m.functions ?? []).map((f) => `${f.name}/${f.overload ?? '-'}`).sort()).toEqual(['L1Conv/-', 'LpNorm/-', 'LpPool/-']);
    expect((m.graph?.node ?? []).filter((n) => n.overload)).toEqual([]);
    expect(Number(m.ir_version)).toBe(8);
    expect(m.opset_import).toEqual(expect.arrayContaining([{ domain: 'com.lponnx', version: 1 }]));
    expect((m.graph?.value_info ?? []).length).toBeGreaterThan(5);
  });

  test('export is idempotent: a dual-path model exports to the same model (only its source record differs)', () => {
    const again = join(dir, 'again.onnx');
    expect(cli('export', dual, '-o', again).code).toBe(0);
    const strip = (p: string) => {
      const m = decodeModel(new Uint8Array(readFileSync(p)));
      m.metadata_props = (m.metadata_props ?? []).filter((e) => !e.key?.startsWith('lp-onnx.source'));
      return Buffer.from(encodeModel(m));
    };
    expect(strip(again).equals(strip(dual))).toBe(true);
  });

  test('inspect --json reports the lp nodes, bodies and parameters', () => {
    const r = cli('inspect', dual, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.dualPath).toBe(true);
    expect(j.inputs).toEqual([{ name: 'image', type: 'float32[N, 3, 32, 32]', dtype: 'float32', dims: ['N', 3, 32, 32] }]);
    expect(j.outputs).toEqual([{ name: 'scores', type: 'float32[N, 10]', dtype: 'float32', dims: ['N', 10] }]);
    expect(j.lpNodes.map((n: { name: string; opType: string }) => `${n.name}:${n.opType}`)).toEqual([
      'features.0:L1Conv',
      'features.3:LpPool',
      'features.4:L1Conv',
      'pool:LpPool',
      'head:LpNorm',
    ]);
    expect(j.lpNodes[3].attributes).toMatchObject({ global: 1, mean: 1, mode: 'clamp' });
    // 15 of the example, and the zero B the export gives features.0 so both L1Conv share one body
    expect(j.parameters.tensors).toBe(16);
    const text = cli('inspect', dual).out;
    expect(text).toContain('dual-path: yes (runs on stock onnxruntime)');
  });

  test('run gives the same outputs on reference, onnxruntime-node and onnxruntime-web; lower keeps them', () => {
    const lowered = join(dir, 'lowered.onnx');
    expect(cli('lower', dual, '-o', lowered).code).toBe(0);
    const m = decodeModel(new Uint8Array(readFileSync(lowered)));
    expect((m.graph?.node ?? []).every((n) => !n.domain)).toBe(true);
    expect(m.functions ?? []).toEqual([]);
    // opset 18 came with IR 8 (onnx 1.13); nothing in the lowered file needs more, so runtimes
    // that read IR 9 at most (onnxruntime 1.17) load it
    expect(Number(m.ir_version)).toBe(8);
    const outs: Record<string, { dims: number[]; data: Float32Array }> = {};
    for (const [name, model, backend] of [
      ['ref', dual, 'reference'],
      ['ort', dual, 'ort'],
      ['web', dual, 'ort-web'],
      ['lowered', lowered, 'ort'],
    ]) {
      const out = join(dir, `out-${name}`);
      const r = cli('run', model, '--backend', backend, '--seed', '4', '--dim', 'N=3', '--out', out);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const t = parseNpy(new Uint8Array(readFileSync(join(out, 'scores.npy'))), 'scores.npy');
      outs[name] = { dims: t.dims, data: t.data as Float32Array };
    }
    expect(outs.ref.dims).toEqual([3, 10]);
    for (const k of ['ort', 'web', 'lowered']) compareArrays(`${k} vs reference`, outs[k], outs.ref, TOL.body);
  });

  test('run reads inputs from .npy files and checks them', () => {
    const x = makeTensor('float32', [2, 3, 32, 32], Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.cos(i * 0.11)));
    const xPath = join(dir, 'image.npy');
    writeFileSync(xPath, formatNpy(x));
    const want = runReference(decodeModel(new Uint8Array(readFileSync(dual))), { image: { dims: x.dims, data: toFloat64(x) } }).scores;
    const out = join(dir, 'from-npy');
    const r = cli('run', dual, '--input', `image=${xPath}`, '--out', out);
    expect(r.err).toBe('');
    const got = parseNpy(new Uint8Array(readFileSync(join(out, 'scores.npy'))), 'scores.npy');
    compareArrays('ort with --input', { dims: got.dims, data: got.data as Float32Array }, want, TOL.body);
    const wrong = join(dir, 'wrong.npy');
    writeFileSync(wrong, formatNpy(makeTensor('float32', [2, 3, 16, 16])));
    expect(cli('run', dual, '--input', `image=${wrong}`).err).toBe(`lp-onnx: error: --input image=${wrong}: shape [2,3,16,16] does not match the model's [N,3,32,32]\n`);
    writeFileSync(wrong, formatNpy(makeTensor('float64', [2, 3, 32, 32])));
    expect(cli('run', dual, '--input', `image=${wrong}`).err).toBe(`lp-onnx: error: --input image=${wrong}: dtype float64, the model expects float32\n`);
    writeFileSync(wrong, 'not an array');
    expect(cli('run', dual, '--input', `image=${wrong}`).err).toBe(`lp-onnx: error: --input image=${wrong}: not a .npy file (bad magic)\n`);
  });

  test('a model written by torch.onnx.export (opset 17, custom symbolic) exports and matches PyTorch', () => {
    const fx = join(ROOT, 'fixtures', 'onnx');
    const out = join(dir, 'torch-lpnorm.dual.onnx');
    const e = cli('export', join(fx, 'torch-lpnorm.onnx'), '-o', out);
    expect(e.err).toBe('');
    const m = decodeModel(new Uint8Array(readFileSync(out)));
    // bodies follow the model's opset; the model keeps it
    expect(m.opset_import?.find((o) => !o.domain)?.version).toBe(17);
    expect(m.opset_import?.find((o) => o.domain === 'com.lponnx')?.version).toBe(1);
    expect(m.graph?.output?.[0].type?.tensor_type?.shape?.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 6 }]);
    const want = parseNpy(new Uint8Array(readFileSync(join(fx, 'torch-lpnorm.y.npy'))), 'y.npy');
    for (const backend of ['ort', 'ort-web', 'reference']) {
      const o = join(dir, `torch-${backend}`);
      const r = cli('run', out, '--backend', backend, '--input', `x=${join(fx, 'torch-lpnorm.x.npy')}`, '--out', o);
      expect(r.err).toBe('');
      const got = parseNpy(new Uint8Array(readFileSync(join(o, 'y.npy'))), 'y.npy');
      compareArrays(`${backend} vs PyTorch`, { dims: got.dims, data: got.data as Float32Array }, { dims: want.dims, data: want.data as Float32Array }, TOL.body);
    }
  });

  describe('errors: one clear message, exit code 1, nothing written', () => {
    const bad = (name: string, bytes: Uint8Array) => {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      return p;
    };
    const good = readFileSync(EXAMPLE);
    test.each([
      [
        'empty file',
        () => bad('empty.onnx', new Uint8Array(0)),
        (p: string) => `lp-onnx: error: ${p}: the file is empty (0 bytes), expected an ONNX ModelProto\n`,
      ],
      [
        'truncated file',
        () => bad('trunc.onnx', good.subarray(0, good.length - 100)),
        (p: string) => expect.stringContaining(`lp-onnx: error: ${p}: not a valid ONNX ModelProto: the file is truncated or corrupt`),
      ],
      ['missing file', () => join(dir, 'nope.onnx'), (p: string) => `lp-onnx: error: ${p}: no such file\n`],
    ])('export of a %s', (_n, make, message) => {
      const p = make();
      const out = join(dir, `never-${_n.replace(/ /g, '-')}.onnx`);
      const r = cli('export', p, '-o', out);
      expect(r.code).toBe(1);
      expect(r.err).toEqual(message(p));
      expect(existsSync(out)).toBe(false);
    });

    test('a model whose nodes of one op cannot share a function body is refused, naming them and what to do', async () => {
      // two L1Conv of different geometry, one with a bias of unknown length (W's C_out is symbolic): a
      // zero bias cannot be given to the other, so one body cannot serve both
      const b = new GraphBuilder({ name: 'conflict', opset: 18 });
      const x = b.input('x', 'float32', [1, 3, 8, 8]);
      const y1 = b.l1Conv(x, b.input('w1', 'float32', ['M', 3, 3, 3]), b.input('b1', 'float32', ['M']), { kernel_shape: [3, 3] }, 'conv_a');
      const y2 = b.l1Conv(x, b.input('w2', 'float32', ['K', 3, 2, 2]), undefined, { kernel_shape: [2, 2], strides: [2, 2] }, 'conv_b');
      b.output(y1, 'y1').output(y2, 'y2');
      const src = bad('conflict.onnx', encodeModel(b.build()));
      const out = join(dir, 'conflict.dual.onnx');
      const r = cli('export', src, '-o', out);
      expect(r.code).toBe(1);
      expect(r.err).toBe(
        `lp-onnx: error: ${src}: the L1Conv nodes 'conv_a', 'conv_b' need different function bodies and cannot share one (some nodes have a bias B and others none, and the length of B is unknown); ` +
          "a file with several bodies for one op computes wrong values on onnxruntime before 1.27 and on onnx's reference evaluator, so it is not written. " +
          '`lp-onnx lower` writes a standard-ops file that runs everywhere; or give every node the same form\n',
      );
      expect(existsSync(out)).toBe(false);
      // lower gives each node its own body and inlines it: stock onnxruntime runs the result right
      const lowered = join(dir, 'conflict.lowered.onnx');
      expect(cli('lower', src, '-o', lowered).code).toBe(0);
      const wave = (dims: number[], f: number) => makeTensor('float32', dims, Float32Array.from({ length: dims.reduce((p, q) => p * q, 1) }, (_, i) => Math.sin(i * f)));
      const feeds = { x: wave([1, 3, 8, 8], 0.37), w1: wave([4, 3, 3, 3], 0.11), b1: wave([4], 0.5), w2: wave([5, 3, 2, 2], 0.23) };
      const got = await runOrt('ort', new Uint8Array(readFileSync(lowered)), feeds);
      const ref = runReference(decodeModel(new Uint8Array(readFileSync(src))), Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { dims: t.dims, data: toFloat64(t) }])));
      for (const name of ['y1', 'y2']) compareArrays(`lowered ${name}`, { dims: got[name].dims, data: got[name].data as Float32Array }, ref[name], TOL.body);
    });

    test('an invalid lp node names the file, node and value', () => {
      const r = cli('export', join(ROOT, 'fixtures', 'models', 'bad-negative-weight.onnx'), '-o', join(dir, 'x.onnx'));
      expect(r.code).toBe(1);
      expect(r.err).toContain("bad-negative-weight.onnx: LpNorm node 'lp': W[1,2] = -0.25 is negative; weights must be >= 0");
      expect(existsSync(join(dir, 'x.onnx'))).toBe(false);
    });

    test.each([
      [['export', EXAMPLE, '-o', join(dir, 'o.onnx'), '--opset', '12'], 'lp-onnx: error: --opset 12: expected an integer from 13 to 23\n'],
      [
        ['export', EXAMPLE, '-o', join(dir, 'o.onnx'), '--opset', '17'],
        `lp-onnx: error: ${EXAMPLE}: the model's standard nodes are at ONNX opset 18; function bodies must use the same opset (onnxruntime inlines them at the model's opset), so --opset 17 cannot be applied; convert the model first or drop --opset\n`,
      ],
      [['export', EXAMPLE, '-o', join(dir, 'o.txt')], `lp-onnx: error: -o ${join(dir, 'o.txt')}: the output file must end in .onnx\n`],
      [['export', EXAMPLE], 'lp-onnx: error: Missing required argument: o\n'],
      [['export', EXAMPLE, '-o', join(dir, 'o.onnx'), '--frobnicate'], 'lp-onnx: error: Unknown argument: frobnicate\n'],
      [
        ['run', EXAMPLE, '--backend', 'gpu'],
        expect.stringContaining('Invalid values:\n  Argument: backend, Given: "gpu", Choices: "reference", "ort", "ort-web"'),
      ],
      [['run', EXAMPLE, '--seed', '-1'], 'lp-onnx: error: --seed -1: expected a non-negative integer\n'],
      [['run', EXAMPLE, '--input', 'image'], 'lp-onnx: error: --input image: expected NAME=VALUE\n'],
      [['run', EXAMPLE, '--input', 'pixels=x.npy'], `lp-onnx: error: --input pixels=...: ${EXAMPLE} has no input 'pixels' (inputs: image)\n`],
      [['run', EXAMPLE, '--dim', 'N=0'], 'lp-onnx: error: --dim N=0: expected a positive integer\n'],
      [
        ['run', EXAMPLE, '--backend', 'ort'],
        `lp-onnx: error: ${EXAMPLE}: node 'features.0' (L1Conv) has no function body, so stock onnxruntime cannot run it; run 'lp-onnx export' first (or use --backend reference)\n`,
      ],
      [['frob'], 'lp-onnx: error: Unknown argument: frob\n'],
    ])('%j', (args, message) => {
      const r = cli(...(args as string[]));
      expect(r.code).toBe(1);
      expect(r.err).toEqual(message);
    });

    test('run --out naming a file is a usage error', () => {
      const file = join(dir, 'not-a-folder.txt');
      writeFileSync(file, 'x');
      const r = cli('run', dual, '--out', file);
      expect(r.code).toBe(1);
      expect(r.err).toBe(`lp-onnx: error: --out ${file}: is a file, expected a folder\n`);
    });

    test('no stray files were left by failed writes', () => {
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });
  });
});

describe('lp-onnx serve', () => {
  test('serves the demo page, the browser build, onnxruntime-web and the named models, until SIGTERM', async () => {
    if (!existsSync(dual)) cli('export', EXAMPLE, '-o', dual);
    const child = spawn(process.execPath, [BIN, 'serve', dual, '--port', '0'], { cwd: ROOT });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          const m = /demo at (http:\/\/\S+) \(1 model listed/.exec(out);
          if (m) resolve(m[1]);
        });
        child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
      });
      const page = await (await fetch(url)).text();
      expect(page).toContain('<title>lp-onnx: fused WebGPU kernels vs function bodies</title>');
      expect(await (await fetch(`${url}models/index.json`)).json()).toEqual(['adder-cnn.dual.onnx']);
      const model = new Uint8Array(await (await fetch(`${url}models/adder-cnn.dual.onnx`)).arrayBuffer());
      expect(decodeModel(model).functions?.length).toBe(3);
      for (const path of ['lp-onnx/lp-onnx-web.mjs', 'ort/ort.webgpu.min.mjs', 'demo.mjs']) expect((await fetch(url + path)).status).toBe(200);
      expect((await fetch(`${url}ort/../package.json`)).status).toBe(404);
      expect((await fetch(`${url}models/other.onnx`)).status).toBe(404);
    } finally {
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  }, 30000);

  test.each([
    [['serve', '--port', '70000'], 'lp-onnx: error: --port 70000: expected an integer from 0 to 65535\n'],
    [['serve', EXAMPLE.replace('.onnx', '.json')], `lp-onnx: error: ${EXAMPLE.replace('.onnx', '.json')}: expected an .onnx model\n`],
    [['serve', join(ROOT, 'nope.onnx')], `lp-onnx: error: ${join(ROOT, 'nope.onnx')}: no such file\n`],
  ])('serve %j: one clear error', (args, message) => {
    const r = cli(...args);
    expect(r.code).toBe(1);
    expect(r.err).toBe(message);
  });

  test('serve on a port in use, or of a corrupt model: one clear error', async () => {
    const bad = join(dir, 'corrupt.onnx');
    writeFileSync(bad, 'xx');
    expect(cli('serve', bad).err).toBe(`lp-onnx: error: ${bad}: not an ONNX model: no graph (ModelProto.graph and ir_version are required)\n`);
    const busy = await serveDemo({ port: 0 });
    try {
      const port = new URL(busy.url).port;
      const r = cli('serve', '--port', port);
      expect(r.code).toBe(1);
      expect(r.err).toBe(`lp-onnx: error: port ${port} is in use\n`);
    } finally {
      await busy.close();
    }
  });
});

describe('lp-onnx CLI with the native kernels', () => {
  const dir2 = mkdtempSync(join(tmpdir(), 'lp-onnx-native-'));
  const dual2 = join(dir2, 'cnn.onnx');
  const native = require('../src/node/index').nativeStatus().available;
  const n = native ? test : test.skip;
  const webgpu = spawnSync(process.execPath, ['-e', "import('webgpu').then(async (m) => process.exit((await m.create([]).requestAdapter()) ? 0 : 3))"]).status === 0;

  beforeAll(() => {
    expect(cli('export', EXAMPLE, '-o', dual2).code).toBe(0);
  });

  n('doctor reports the fused kernels and the custom-op library', () => {
    const r = cli('doctor');
    expect(r.code).toBe(0);
    // the library lp-onnx/node loaded is the one inside the installed onnxruntime-node
    const { version } = JSON.parse(readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string };
    expect(r.out).toContain(`fused CPU kernels (lp-onnx/node): yes (onnxruntime ${version})`);
    expect(r.out).toContain('liblp_onnx_ops.so');
  });

  test('doctor says why when the kernels are off', () => {
    const r = spawnSync(process.execPath, [BIN, 'doctor'], { encoding: 'utf8', env: { ...process.env, LP_ONNX_NATIVE: 'off' } });
    expect(r.stdout).toContain('fused CPU kernels (lp-onnx/node): no: the native kernels are switched off (LP_ONNX_NATIVE=off)');
    const run = spawnSync(process.execPath, [BIN, 'run', dual2, '--backend', 'native'], { encoding: 'utf8', env: { ...process.env, LP_ONNX_NATIVE: 'off' } });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("--backend native is not available: the native kernels are switched off (LP_ONNX_NATIVE=off) (see 'lp-onnx doctor')");
  });

  n('run takes the fused kernels by default and says so; stock onnxruntime (with the reason) where they are off', () => {
    const r = cli('run', dual2, '--dim', 'N=2');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ on native \(lp-onnx\/node, fused kernels\)\n {2}session created in [0-9.]+ ms \(load, optimise\); run [0-9.]+ ms\n/);
    const off = spawnSync(process.execPath, [BIN, 'run', dual2, '--dim', 'N=2'], { encoding: 'utf8', env: { ...process.env, LP_ONNX_NATIVE: 'off' } });
    expect(off.status).toBe(0);
    expect(off.stdout).toContain(' on ort (stock onnxruntime-node, function bodies; the fused kernels are not available: the native kernels are switched off (LP_ONNX_NATIVE=off))\n');
  });

  test('output piped into a reader that stops early ends quietly (no EPIPE crash)', () => {
    // `true` reads nothing and exits: every write of lp-onnx meets a closed pipe
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" inspect "${EXAMPLE}" | true`], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain('EPIPE');
    expect(r.stderr).toBe('');
  });

  n('verify runs reference, function bodies and fused kernels and reports the errors', () => {
    const r = cli('verify', dual2, '--dim', 'N=2', '--seed', '5');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/function bodies \(onnxruntime-node\) scores: max abs [0-9.e+-]+, max rel [0-9.e+-]+, within atol 0\.00001 \+ rtol 0\.001/);
    expect(r.out).toMatch(/fused kernels \(lp-onnx\/node\) scores: max abs [0-9.e+-]+, max rel [0-9.e+-]+, within atol 0\.00001 \+ rtol 0\.0001/);
    if (webgpu) expect(r.out).toMatch(/WGSL kernels \(lp-onnx\/web, WebGPU\) scores: max abs [0-9.e+-]+, max rel [0-9.e+-]+, within atol 0\.00001 \+ rtol 0\.0001/);
    else expect(r.out).toContain('WGSL kernels (lp-onnx/web, WebGPU): not run: ');
  });

  test('run --backend webgpu (lp-onnx/web: WGSL kernels and onnxruntime-web WebGPU) matches the reference', () => {
    if (!webgpu) return console.warn('skipped: the webgpu package finds no adapter here');
    const outs: Record<string, Float32Array> = {};
    for (const b of ['webgpu', 'reference']) {
      const o = join(dir2, `w-${b}`);
      const r = cli('run', dual2, '--backend', b, '--dim', 'N=2', '--out', o);
      expect(r.code).toBe(0);
      outs[b] = parseNpy(new Uint8Array(readFileSync(join(o, 'scores.npy'))), 's').data as Float32Array;
    }
    compareArrays('webgpu vs reference', { dims: [2, 10], data: outs.webgpu }, { dims: [2, 10], data: outs.reference }, TOL.kernel);
  });

  n('run --backend native matches the reference', () => {
    const outs: Record<string, Float32Array> = {};
    for (const b of ['native', 'reference']) {
      const o = join(dir2, `o-${b}`);
      expect(cli('run', dual2, '--backend', b, '--dim', 'N=2', '--out', o).code).toBe(0);
      outs[b] = parseNpy(new Uint8Array(readFileSync(join(o, 'scores.npy'))), 's').data as Float32Array;
    }
    compareArrays('native vs reference', { dims: [2, 10], data: outs.native }, { dims: [2, 10], data: outs.reference }, TOL.kernel);
  });

  n('bench times a model on each backend', () => {
    const r = cli('bench', dual2, '--backend', 'native', 'ort', '--runs', '2', '--dim', 'N=1');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^native: median [0-9.]+ ms over 2 runs/m);
    expect(r.out).toMatch(/^ort: median [0-9.]+ ms over 2 runs/m);
    expect(cli('bench', dual2, '--backend', 'gpu').err).toBe('lp-onnx: error: --backend gpu: expected one of reference, ort, ort-web, native, webgpu\n');
  });
});
