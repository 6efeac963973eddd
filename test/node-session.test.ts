// lp-onnx/node sessions: the fused kernels inside onnxruntime-node's runtime. Run-time errors are
// JS errors naming the node and leave the session usable; concurrent runs are correct; memory
// stays flat over 1,000 runs; whole models match their references and PyTorch.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adderCnn, lpMlp } from '../scripts/make-examples';
import { buildFromArch } from '../src/export/arch';
import { exportDualPath } from '../src/export/dual-path';
import { readWeights } from '../src/export/weights/index';
import { GraphBuilder } from '../src/graph/builder';
import { cudaBuildStatus, measurePeaks, native } from '../src/node/binding';
import * as lpNode from '../src/node/index';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import { toFloat64 } from '../src/onnx/tensor';
import { parseNpy } from '../src/runtime/npy';
import { runReference } from '../src/runtime/reference';
import { compareArrays, TOL } from './helpers/compare';

const why = lpNode.nativeStatus().reason;
if (why) console.warn(`skipping the lp-onnx/node suite: ${why}`);
const d = why ? describe.skip : describe;

/** LpNorm with W and P fed at run time, so bad values reach the kernel. */
function fedLpNorm(): Uint8Array {
  const b = new GraphBuilder({ name: 'fed' });
  const x = b.input('X', 'float32', ['N', 4]);
  const w = b.input('W', 'float32', [3, 4]);
  const p = b.input('P', 'float32', [3]);
  b.output(b.lpNorm(x, w, p, {}, 'unit_layer'), 'Y');
  return encodeModel(exportDualPath(b.build()).model);
}

const T = (data: number[], dims: number[]) => new lpNode.Tensor('float32', Float32Array.from(data), dims);

d('lp-onnx/node', () => {
  test('a session from a file path, with thread and optimisation options', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lp-onnx-node-'));
    const file = join(dir, 'm.onnx');
    writeFileSync(file, fedLpNorm());
    const s = await lpNode.InferenceSession.create(file, { intraOpNumThreads: 1, graphOptimizationLevel: 'basic', logSeverityLevel: 3 });
    const out = await s.run({ X: T([3, 4, 0, 0], [1, 4]), W: T([1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1], [3, 4]), P: T([2, 1, Number.POSITIVE_INFINITY], [3]) });
    expect(Array.from(out.Y.data as Float32Array)).toEqual([5, 0, 4]);
    await s.release();
    await expect(lpNode.InferenceSession.create(join(dir, 'missing.onnx'))).rejects.toThrow(/missing\.onnx/);
  });

  test("extra: onnxruntime's configuration entries reach the session, as in onnxruntime-node; a value that is no string is refused by name", async () => {
    const ort = require('onnxruntime-node');
    const model = fedLpNorm();
    const feeds = { X: T([3, 4, 0, 0], [1, 4]), W: T([1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1], [3, 4]), P: T([2, 1, Number.POSITIVE_INFINITY], [3]) };
    const spinOff = { intraOpNumThreads: 2, extra: { session: { intra_op: { allow_spinning: '0' } } } };
    const out = await (await lpNode.InferenceSession.create(model, spinOff)).run(feeds);
    expect(Array.from(out.Y.data as Float32Array)).toEqual([5, 0, 4]);
    // an entry onnxruntime checks: both runtimes refuse it alike, so the entry reached onnxruntime
    const bad = { intraOpNumThreads: 2, extra: { session: { intra_op_thread_affinities: 'not-a-cpu' } } };
    const theirs = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], ...bad }).then(
      () => 'created',
      (e: Error) => e.message,
    );
    expect(theirs).toMatch(/affinit|processor/i);
    await expect(lpNode.InferenceSession.create(model, bad)).rejects.toThrow(theirs);
    await expect(lpNode.InferenceSession.create(model, { extra: { session: { intra_op: { allow_spinning: 0 } } } } as object)).rejects.toThrow(
      "lp-onnx/node: extra 'session.intra_op.allow_spinning' must be a string (or an object of entries), got number",
    );
  });

  test("the bench's measured peaks: every instruction-set path this CPU has gives finite positive rates at its lane width; one it lacks, or a bad thread count, is one clear error", () => {
    const flags = readFileSync('/proc/cpuinfo', 'utf8');
    const has = (f: string) => new RegExp(`\\b${f}\\b`).test(flags);
    const paths: [string, number, boolean][] = [
      ['plain', 4, true],
      ['avx2', 8, has('avx2') && has('fma')],
      ['avx512', 16, ['avx512f', 'avx512dq', 'avx512bw', 'avx512vl'].every(has)],
    ];
    for (const [isa, lanes, present] of paths) {
      if (!present) {
        expect(() => measurePeaks(isa, 1)).toThrow(`lp-onnx peaks: cpuIsa ${isa} asks for an instruction set this CPU lacks`);
        continue;
      }
      const p = measurePeaks(isa, 1);
      expect(p.lanes).toBe(lanes);
      for (const k of ['fma', 'minAdd', 'exp2Dot', 'powTerm', 'add', 'readBytes', 'writeBytes'] as const) {
        expect(Number.isFinite(p[k]) && p[k] > 1e6).toBe(true);
      }
      // the exp2 sequence is a dozen or more vector steps, the power a log and an exp2: both slower than one FMA
      expect(p.exp2Dot).toBeLessThan(p.fma);
      expect(p.powTerm).toBeLessThan(p.exp2Dot);
    }
    expect(() => measurePeaks('sse9', 1)).toThrow(new Error('lp-onnx peaks: cpuIsa sse9 is not one of avx512, avx2, plain, auto'));
    // '' takes the sessions' choice: LP_ONNX_CPU_ISA (read by the addon from the process's environment: a child), named in the error
    const code = `try { require(${JSON.stringify(join(__dirname, '..', 'dist', 'src', 'node', 'binding.js'))}).measurePeaks('', 1) } catch (e) { console.log(e.message); process.exit(1) }`;
    const child = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, LP_ONNX_CPU_ISA: 'sse9' }, encoding: 'utf8' });
    expect(child.status).toBe(1);
    expect(child.stdout.trim()).toBe('lp-onnx peaks: LP_ONNX_CPU_ISA=sse9 is not one of avx512, avx2, plain, auto');
    expect(() => measurePeaks('auto', 0)).toThrow('peaks: threads must be 1 to 1024, not 0');
  });

  test('LP_ONNX_CPU_ISA picks the kernels\' instruction-set path; an unknown one, or one this CPU lacks, is one clear error naming the node', async () => {
    // the variable as a user sets it, in a process of its own (jest's process.env is a copy)
    const dir = mkdtempSync(join(tmpdir(), 'lp-onnx-isa-'));
    writeFileSync(join(dir, 'm.onnx'), fedLpNorm());
    const create = (isa: string) => {
      const code = `require(${JSON.stringify(join(__dirname, '..', 'dist', 'src', 'node', 'index.js'))}).InferenceSession.create(${JSON.stringify(join(dir, 'm.onnx'))}).then(() => console.log('created'), (e) => { console.log(e.message); process.exit(1); });`;
      return spawnSync(process.execPath, ['-e', code], { env: { ...process.env, LP_ONNX_CPU_ISA: isa }, encoding: 'utf8' });
    };
    const bad = create('sse9');
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain("LpNorm node 'unit_layer': LP_ONNX_CPU_ISA=sse9 is not one of avx512, avx2, plain, auto");
    expect(create('plain').stdout.trim()).toBe('created');
    const flags = readFileSync('/proc/cpuinfo', 'utf8');
    const avx512 = ['avx512f', 'avx512dq', 'avx512bw', 'avx512vl'].every((f) => new RegExp(`\\b${f}\\b`).test(flags));
    if (!avx512) {
      expect(create('avx512').stdout).toContain("LpNorm node 'unit_layer': LP_ONNX_CPU_ISA=avx512 asks for an instruction set this CPU lacks (it has ");
      return;
    }
    // the addon's cpuIsa (the tests' way to each path) reaches the same choice
    const { binding } = native();
    if (!binding) throw new Error('no addon');
    expect(() => binding.createSession(fedLpNorm(), { cpuIsa: 'sse9' as 'plain', logSeverityLevel: 4 })).toThrow("LpNorm node 'unit_layer': cpuIsa sse9 is not one of avx512, avx2, plain, auto");
    // shared-p LpNorm: its own AVX-512 GEMM, onnxruntime's (MLAS) on the others: each right
    const b = new GraphBuilder({ name: 'isa' });
    const k = 512;
    const w = Float32Array.from({ length: 64 * k }, (_, i) => 0.5 + 0.5 * Math.sin(i * 0.7));
    b.output(b.lpNorm(b.input('X', 'float32', [16, k]), b.initializer('W', w, [64, k]), undefined, { p: 2 }), 'Y');
    const model = exportDualPath(b.build()).model;
    const x = Float32Array.from({ length: 16 * k }, (_, i) => Math.cos(i * 0.37));
    const ref = runReference(model, { X: { dims: [16, k], data: Float64Array.from(x) } }).Y;
    for (const cpuIsa of ['avx512', 'avx2', 'plain'] as const) {
      const s = binding.createSession(encodeModel(model), { cpuIsa });
      const [y] = await binding.run(s, ['X'], ['float32'], [[16, k]], [x], ['Y']);
      binding.release(s);
      compareArrays(`LpNorm on the ${cpuIsa} path`, { dims: y.dims, data: y.data as Float32Array }, ref, TOL.kernel);
    }
  });

  test('the session reports the model inputs and outputs', async () => {
    const s = await lpNode.InferenceSession.create(fedLpNorm());
    expect(s.inputNames).toEqual(['X', 'W', 'P']);
    expect(s.outputNames).toEqual(['Y']);
    expect(s.inputMetadata[0]).toMatchObject({ name: 'X', isTensor: true, type: 'float32', shape: ['N', 4] });
    await s.release();
  });

  test('run-time errors name the node and the value; the session stays usable', async () => {
    const s = await lpNode.InferenceSession.create(fedLpNorm());
    const x = T([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
    const w = T(new Array(12).fill(0.5), [3, 4]);
    await expect(s.run({ X: x, W: w, P: T([2, 0, 3], [3]) })).rejects.toThrow("LpNorm node 'unit_layer': P[1] = 0; exponents must be > 0 or +inf");
    await expect(s.run({ X: x, W: T([0.5, -1, ...new Array(10).fill(0.5)], [3, 4]), P: T([2, 2, 2], [3]) })).rejects.toThrow(
      "LpNorm node 'unit_layer': W[0,1] = -1 is negative; weights must be >= 0",
    );
    await expect(s.run({ X: x, W: w, P: T([2, Number.NaN, 2], [3]) })).rejects.toThrow("LpNorm node 'unit_layer': P[1] is NaN; exponents must be > 0 or +inf");
    // still fine afterwards; NaN in X propagates without an error
    const ok = await s.run({ X: T([1, 2, 3, 4, Number.NaN, 1, 1, 1], [2, 4]), W: w, P: T([1, 2, Number.POSITIVE_INFINITY], [3]) });
    const y = Array.from(ok.Y.data as Float32Array);
    expect(y.slice(0, 3).map((v) => +v.toFixed(4))).toEqual([5, +Math.sqrt(0.5 * 30).toFixed(4), 4]);
    expect(y.slice(3).every(Number.isNaN)).toBe(true);
    await s.release();
  });

  test('the addon refuses data shorter than its dims (never reads past a buffer)', async () => {
    const { native } = require('../src/node/binding');
    const { binding } = native();
    const session = binding.createSession(fedLpNorm(), {});
    expect(() => binding.run(session, ['X'], ['float32'], [[2, 4]], [new Float32Array(3)], ['Y'])).toThrow("input 'X': its data has 12 bytes, its dims need 32");
    binding.release(session);
  });

  test("pre-allocated outputs (onnxruntime-common's fetches): the run writes into the caller's tensor and returns it; a tensor of the wrong shape or type, or too short, is one clear error", async () => {
    const s = await lpNode.InferenceSession.create(fedLpNorm());
    const feeds = { X: T([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]), W: T(new Array(12).fill(0.5), [3, 4]), P: T([1, 2, 3], [3]) };
    const plain = (await s.run(feeds)).Y.data as Float32Array;
    const own = new lpNode.Tensor('float32', new Float32Array(6).fill(-7), [2, 3]);
    for (let i = 0; i < 3; i++) {
      const out = await s.run(feeds, { Y: own });
      expect(out.Y).toBe(own);
      expect(Array.from(own.data as Float32Array)).toEqual(Array.from(plain));
    }
    // and against the float64 reference
    const ref = runReference(decodeModel(fedLpNorm()), {
      X: { dims: [2, 4], data: Float64Array.from(feeds.X.data as Float32Array) },
      W: { dims: [3, 4], data: Float64Array.from(feeds.W.data as Float32Array) },
      P: { dims: [3], data: Float64Array.from(feeds.P.data as Float32Array) },
    }).Y;
    compareArrays('pre-allocated Y', { dims: [...own.dims], data: own.data as Float32Array }, ref, TOL.kernel);
    await expect(s.run(feeds, { Y: new lpNode.Tensor('float32', new Float32Array(8), [2, 4]) })).rejects.toThrow(
      /Got invalid dimensions for output: Y for the following indices\s+index: 1 Got: 4 Expected: 3/,
    );
    await expect(s.run(feeds, { Y: new lpNode.Tensor('float64', new Float64Array(6), [2, 3]) })).rejects.toThrow(
      'Unexpected output data type. Actual: (tensor(double)) , expected: (tensor(float))',
    );
    const binding = native().binding as NonNullable<ReturnType<typeof native>['binding']>;
    const session = binding.createSession(fedLpNorm(), {});
    const x = feeds.X.data as Float32Array;
    expect(() =>
      binding.run(session, ['X', 'W', 'P'], ['float32', 'float32', 'float32'], [[2, 4], [3, 4], [3]], [x, feeds.W.data, feeds.P.data], ['Y'], [{ type: 'float32', dims: [2, 3], data: new Float32Array(2) }]),
    ).toThrow("output 'Y': its data has 8 bytes, its dims need 24");
    binding.release(session);
    // still usable, and onnxruntime allocates where no tensor is given
    expect(Array.from((await s.run(feeds, { Y: null })).Y.data as Float32Array)).toEqual(Array.from(plain));
    await s.release();
  });

  test('concurrent runs on one session give each caller its own correct result', async () => {
    const model = exportDualPath(adderCnn().build()).model;
    const s = await lpNode.InferenceSession.create(encodeModel(model));
    const inputs = Array.from({ length: 8 }, (_, k) => Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.01 * (k + 1))));
    const outs = await Promise.all(inputs.map((x) => s.run({ image: new lpNode.Tensor('float32', x, [1, 3, 32, 32]) })));
    inputs.forEach((x, k) => {
      const ref = runReference(model, { image: { dims: [1, 3, 32, 32], data: Float64Array.from(x) } }).scores;
      compareArrays(`concurrent run ${k}`, { dims: [...outs[k].scores.dims], data: outs[k].scores.data as Float32Array }, ref, TOL.kernel);
    });
    await s.release();
  });

  // Under AddressSanitizer (the sanitizer run of .ci/run) freed memory sits in its quarantine, so
  // resident memory grows by design there: the test is left out, with the reason printed.
  const sanitized = process.env.LP_ONNX_SANITIZED === '1';
  if (sanitized) console.warn("skipping '1,000 runs: resident memory stops growing': AddressSanitizer's quarantine holds freed memory");
  (sanitized ? test.skip : test)('1,000 runs: resident memory stops growing', async () => {
    const model = encodeModel(exportDualPath(lpMlp().build()).model);
    const s = await lpNode.InferenceSession.create(model);
    const x = new lpNode.Tensor('float32', Float32Array.from({ length: 16 * 64 }, (_, i) => Math.cos(i)), [16, 64]);
    const rss: number[] = [];
    for (let i = 0; i < 1000; i++) {
      await s.run({ x });
      if (i % 100 === 99) {
        global.gc?.();
        rss.push(process.memoryUsage().rss);
      }
    }
    await s.release();
    // after warm-up (first 300 runs), growth over the last 700 runs stays under 8 MiB
    const growth = rss[rss.length - 1] - rss[2];
    expect(growth).toBeLessThan(8 * 1024 * 1024);
  });

  const TORCH = join(__dirname, '..', 'fixtures', 'torch');
  test.each(readdirSync(TORCH).filter((m) => m !== 'bad' && !m.endsWith('.py')))('%s (trained in PyTorch) matches PyTorch on the fused kernels', async (name) => {
    const spec = JSON.parse(readFileSync(join(TORCH, name, 'arch.json'), 'utf8'));
    const model = exportDualPath(buildFromArch(spec, readWeights(join(TORCH, name, 'weights.safetensors')), { what: name, weightsWhat: 'w' })).model;
    const x = parseNpy(new Uint8Array(readFileSync(join(TORCH, name, 'input.npy'))), 'x');
    const want = parseNpy(new Uint8Array(readFileSync(join(TORCH, name, 'output.npy'))), 'y');
    const s = await lpNode.InferenceSession.create(encodeModel(model));
    const out = await s.run({ x: new lpNode.Tensor('float32', x.data as Float32Array, x.dims) });
    const got = Object.values(out)[0];
    compareArrays(name, { dims: [...got.dims], data: got.data as Float32Array }, { dims: want.dims, data: want.data as Float32Array }, { atol: 1e-5, rtol: 1e-4 });
    const ref = Object.values(runReference(model, { x: { dims: x.dims, data: toFloat64(x) } }))[0];
    compareArrays(`${name} vs reference`, { dims: [...got.dims], data: got.data as Float32Array }, ref, TOL.kernel);
    await s.release();
  });

  test('lp nodes run on the fused kernels, not on their function bodies', async () => {
    // a dual-path model whose function body is deliberately wrong (it returns zeros)
    const model = exportDualPath(adderCnn().build()).model;
    for (const f of model.functions ?? []) {
      const last = (f.node ?? [])[(f.node ?? []).length - 1];
      last.op_type = 'Sub';
      last.input = [last.input?.[0] ?? '', last.input?.[0] ?? ''];
    }
    const bytes = encodeModel(model);
    const x = new lpNode.Tensor('float32', Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i)), [1, 3, 32, 32]);
    const fused = await (await lpNode.InferenceSession.create(bytes)).run({ image: x });
    const explicitCpu = await (await lpNode.InferenceSession.create(bytes, { executionProviders: ['cpu'] })).run({ image: x });
    const ort = require('onnxruntime-node');
    const bodies = await (await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] })).run({ image: x });
    const ref = runReference(exportDualPath(adderCnn().build()).model, { image: { dims: [1, 3, 32, 32], data: Float64Array.from(x.data as Float32Array) } }).scores;
    compareArrays('fused kernels', { dims: [...fused.scores.dims], data: fused.scores.data as Float32Array }, ref, TOL.kernel);
    compareArrays('fused kernels (executionProviders cpu)', { dims: [...explicitCpu.scores.dims], data: explicitCpu.scores.data as Float32Array }, ref, TOL.kernel);
    expect(Array.from(bodies.scores.data as Float32Array).every((v) => v === 0 || Number.isNaN(v))).toBe(true);
  });

  test('execution providers: webgpu places the other nodes on WebGPU, lp nodes stay on the kernels; unknown ones are refused', async () => {
    const model = exportDualPath(adderCnn().build()).model;
    const bytes = encodeModel(model);
    const x = new lpNode.Tensor('float32', Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.cos(i)), [1, 3, 32, 32]);
    const ref = runReference(model, { image: { dims: [1, 3, 32, 32], data: Float64Array.from(x.data as Float32Array) } }).scores;
    const webgpu = spawnSync(process.execPath, [join(__dirname, '..', 'dist', 'scripts', 'probe-webgpu.js')]).status === 0;
    if (webgpu) {
      const out = await (await lpNode.InferenceSession.create(bytes, { executionProviders: ['webgpu'] })).run({ image: x });
      compareArrays('webgpu + fused kernels', { dims: [...out.scores.dims], data: out.scores.data as Float32Array }, ref, TOL.kernel);
    } else {
      console.warn('skipping the WebGPU half: no WebGPU adapter');
    }
    await expect(lpNode.InferenceSession.create(bytes, { executionProviders: ['tpu'] })).rejects.toThrow("lp-onnx/node: execution provider 'tpu' is not supported (cpu, webgpu, cuda)");
  });

  test("executionProviders ['cuda'] without onnxruntime-node's CUDA provider: one clear error saying how to get it", async () => {
    await expect(lpNode.InferenceSession.create(fedLpNorm(), { executionProviders: ['cuda'], logSeverityLevel: 4 })).rejects.toThrow(
      /^lp-onnx\/node: the CUDA execution provider is not available here \(.*\); onnxruntime-node installs its CUDA provider when installed with network access on a machine with a GPU/,
    );
  });

  const cuda = cudaBuildStatus();
  if (!cuda.built) console.warn(`skipping the CUDA registration test: the CUDA kernels are not built (${cuda.reason})`);
  (cuda.built ? test : test.skip)('the CUDA kernels sit beside the CPU ones in one domain: onnxruntime accepts both at session creation on a CPU-only runtime', async () => {
    // onnxruntime checks that every kernel of an op name agrees on input and output counts and
    // characteristics when the session is created; the CPU kernels then run the lp nodes.
    const s = await lpNode.InferenceSession.create(fedLpNorm());
    const out = await s.run({ X: T([1, 2, 3, 4], [1, 4]), W: T(new Array(12).fill(1), [3, 4]), P: T([2, 2, 2], [3]) });
    expect(Array.from(out.Y.data as Float32Array).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([5.4772, 5.4772, 5.4772]);
    await s.release();
  });

  test('a model without lp nodes runs exactly as in onnxruntime-node', async () => {
    const bytes = readFileSync(join(__dirname, '..', 'fixtures', 'onnx', 'torch-cnn.onnx'));
    const x = new lpNode.Tensor('float32', Float32Array.from({ length: 2 * 3 * 8 * 8 }, (_, i) => Math.sin(i)), [2, 3, 8, 8]);
    const ours = await (await lpNode.InferenceSession.create(new Uint8Array(bytes))).run({ x });
    const ort = require('onnxruntime-node');
    const theirs = await (await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: ['cpu'] })).run({ x });
    expect(Array.from(ours.y.data as Float32Array)).toEqual(Array.from(theirs.y.data as Float32Array));
  });
});
