// The `lp-onnx` command line.
import yargs from 'yargs';
import { LpOpError } from '../../ops/attributes';
import { GeometryError } from '../../ops/geometry';
import { MIN_BODY_OPSET } from '../../ops/body';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ArchError, buildFromArch } from '../export/arch';
import { exportDualPath, MAX_OPSET, setMetadata } from '../export/dual-path';
import { formatFloat16 } from '../export/float16';
import { formatFusion } from '../export/fuse';
import { readWeights, WeightsError } from '../export/weights/index';
import { PickleError } from '../export/weights/pickle';
import { SafetensorsError } from '../export/weights/safetensors';
import { ZipError } from '../export/weights/zip';
import type { ModelProto } from '../onnx/proto';
import { type Tensor, toFloat64 } from '../onnx/tensor';
import { OPS_LIBRARY_PATH, PYTHON_PACKAGE } from '../node/binding';
import { lowerModel } from '../export/lower';
import { BuilderError } from '../graph/builder';
import { float16LpNodes } from '../graph/infer';
import { ModelError } from '../graph/infer';
import { encodeModel, OnnxFormatError } from '../onnx/codec';
import { TensorDataError } from '../onnx/tensor';
import { NpyError } from '../runtime/npy';
import { PRODUCER_VERSION } from '../version';
import { formatInspect, type InspectReport, inspectModel } from './inspect';
import { plural } from './words';
import { checkOutputFolder, checkOutputModel, loadModel, samePath, saveModel, UsageError } from './model-io';
import { BACKEND_LABELS, BACKENDS, type Backend, makeFeeds, openSession, quietAdapterDiscovery, parseAssignments, runModel, summarize, writeOutputs } from './run';

const KNOWN_ERRORS = [UsageError, ModelError, OnnxFormatError, TensorDataError, LpOpError, GeometryError, BuilderError, NpyError, ArchError, PickleError, SafetensorsError, ZipError, WeightsError];

const INPUT_HELP = 'NAME=file.npy (repeatable): an input from a .npy file; its shape binds the symbolic dims it has for every input; inputs not given are seeded random';
const DIM_HELP = 'NAME=SIZE (repeatable): the size of a symbolic dim of the random inputs (default 1); a dim the model does not have, or one a given input fixes otherwise, is an error';
const BACKEND_HELP =
  'reference (float64 TypeScript), ort (onnxruntime-node, function bodies), ort-web (onnxruntime-web wasm), native (lp-onnx/node fused kernels), webgpu (lp-onnx/web); default: native where the fused kernels are built, else ort';

/** A yargs coerce for an integer flag: the text as typed in the error, never NaN. */
function integer(flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: unknown): unknown => {
    if (Array.isArray(v) || v === undefined) return v; // a repeated flag: the check below names it
    const text = String(v);
    const n = text.trim() === '' ? Number.NaN : Number(text);
    if (!Number.isInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? (min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer >= ${min}`) : `an integer from ${min} to ${max}`;
      throw new UsageError(text === '' ? `${flag} needs a value (${range})` : `${flag} ${text}: expected ${range}`);
    }
    return n;
  };
}

/** The options of each command that may be given more than once. */
const REPEATABLE: Record<string, string[]> = { run: ['input', 'dim'], verify: ['input', 'dim'], bench: ['input', 'dim', 'backend'], serve: ['models'] };

/** Every other option given twice, or a value-taking option given none, is a usage error (yargs would take an array, or ''). */
function checkFlags(argv: Record<string, unknown>): void {
  const command = String((argv._ as unknown[])[0] ?? '');
  const repeatable = new Set(REPEATABLE[command] ?? []);
  for (const [key, value] of Object.entries(argv)) {
    if (key === '_' || key === '$0' || repeatable.has(key)) continue;
    const flag = key.length === 1 ? `-${key}` : `--${key}`;
    if (Array.isArray(value)) throw new UsageError(`${flag} was given ${value.length} times (${value.join(', ')}); give it once`);
    if (value === '') throw new UsageError(`${flag} needs a value`);
  }
}

function dimsOf(items: string[]): Map<string, number> {
  const dims = new Map<string, number>();
  for (const [k, v] of parseAssignments(items, '--dim')) {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--dim ${k}=${v}: expected a positive integer`);
    dims.set(k, n);
  }
  return dims;
}

/** Max abs and rel error, and the worst error as a multiple of atol + rtol |want| (NaN equal to NaN). */
function maxErrors(got: Tensor | undefined, want: Tensor, atol: number, rtol: number): { abs: number; rel: number; ratio: number } {
  if (!got) return { abs: Number.POSITIVE_INFINITY, rel: Number.POSITIVE_INFINITY, ratio: Number.POSITIVE_INFINITY };
  const g = toFloat64(got);
  const w = toFloat64(want);
  let abs = 0;
  let rel = 0;
  let ratio = 0;
  for (let i = 0; i < w.length; i++) {
    if (Number.isNaN(w[i]) && Number.isNaN(g[i])) continue;
    const e = Math.abs(g[i] - w[i]);
    abs = Math.max(abs, e);
    if (w[i] !== 0) rel = Math.max(rel, e / Math.abs(w[i]));
    ratio = Math.max(ratio, Number.isNaN(e) ? Number.POSITIVE_INFINITY : e / (atol + rtol * Math.abs(w[i])));
  }
  return { abs, rel, ratio };
}

/** doctor's line on the CUDA kernels. */
function cudaLine(): string {
  const { cudaBuildStatus } = require('../node/binding') as typeof import('../node/binding');
  const c = cudaBuildStatus();
  if (!c.built) return `not built: ${c.reason}`;
  return `built for ${c.archs?.join(', ')} + PTX ${c.ptx} (${c.toolkit}; CUDA runtime linked in, a driver is all a GPU machine needs); they run where onnxruntime has its CUDA execution provider (executionProviders: ['cuda'])`;
}

/** doctor's line on onnxruntime-node's CUDA execution provider (its install step downloads it). */
function cudaProviderLine(): string {
  const { onnxruntimeLibrary } = require('../node/binding') as typeof import('../node/binding');
  const lib = join(dirname(onnxruntimeLibrary()), 'libonnxruntime_providers_cuda.so');
  if (existsSync(lib)) return `installed (${lib})`;
  return "not installed (onnxruntime-node's install step downloads it where the network allows; ONNXRUNTIME_NODE_INSTALL=skip leaves it out): CUDA sessions cannot be made here";
}

/** doctor's line on WebGPU in Node: the webgpu package, and the adapter it finds. */
async function webGpuLine(verbose: boolean | undefined): Promise<string> {
  const { nodeNavigatorGpu } = require('../runtime/webgpu') as typeof import('../runtime/webgpu');
  const { gpu, reason } = await nodeNavigatorGpu();
  if (!gpu) return `no: ${reason}`;
  const adapter = verbose ? await gpu.requestAdapter().catch(() => null) : await quietAdapterDiscovery();
  if (!adapter) return 'the webgpu package is installed, but it found no adapter (no GPU, and no Vulkan driver such as Mesa lavapipe)';
  const info = adapter.info;
  const fallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter || info.description?.toLowerCase().includes('llvmpipe') || /cpu/i.test(info.architecture ?? '');
  return `yes: ${[info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(', ')}${fallback ? ' (a CPU emulation, not a GPU: for correctness, not speed)' : ''}`;
}

/** doctor's line on where the native binaries came from. */
function binariesLine(): string {
  const { nativeBuildStatus } = require('../node/binding') as typeof import('../node/binding');
  const s = nativeBuildStatus();
  if (!s) return 'none: the install step did not run (npm run build:native builds them)';
  const skipped = s.prebuiltSkipped ? `; prebuilt ones not used: ${s.prebuiltSkipped}` : '';
  if (!s.ok) return `none: the build from source failed${skipped}`;
  if (s.source === 'prebuilt' && s.prebuilt) {
    const p = s.prebuilt;
    return `prebuilt for ${p.platform} (needs glibc >= ${p.glibc}, N-API ${p.napi}; ${p.compiler}, ${p.built.slice(0, 10)}); LP_ONNX_BUILD_FROM_SOURCE=1 at install builds them here instead`;
  }
  return `built here from source${skipped}`;
}

export async function main(argv: string[]): Promise<void> {
  // output piped into a reader that stops early (| head): stop quietly, as Unix tools do
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  let failed = false;
  const fail = (e: unknown) => {
    failed = true;
    const err = e as Error;
    const known = KNOWN_ERRORS.some((k) => err instanceof k);
    process.stderr.write(`lp-onnx: error: ${err?.message ?? String(e)}\n`);
    if (!known && process.env.LP_ONNX_DEBUG) process.stderr.write(`${err?.stack}\n`);
    process.exitCode = known ? 1 : 2;
  };
  const cli = yargs(argv)
    .scriptName('lp-onnx')
    .usage('$0 <command> [options]\n\nDeploy Lp-norm networks (LpNorm, LpPool, L1Conv) as dual-path ONNX models.')
    .option('verbose', { type: 'boolean', describe: "print onnxruntime's and Dawn's own log lines (warnings and errors) as well" })
    .middleware((argv) => checkFlags(argv as Record<string, unknown>), true)
    .command(
      'export <input>',
      'write a dual-path model: every com.lponnx node plus a standard-op function body',
      (y) =>
        y
          .positional('input', { type: 'string', demandOption: true, describe: 'an .onnx model with com.lponnx nodes or with Lp layers written in standard ops, or an architecture spec (.json, lp-onnx/arch@1) with --weights' })
          .option('o', { alias: 'output', type: 'string', demandOption: true, describe: 'the .onnx file to write (missing folders are made; the input itself only with --force)' })
          .option('weights', { type: 'string', describe: 'the state_dict of an architecture spec: .safetensors, .pt or .pth' })
          .option('batch', { type: 'string', coerce: integer('--batch', 1), describe: "a static batch size for the spec's inputs (default: symbolic)" })
          .option('opset', { type: 'string', coerce: integer('--opset', MIN_BODY_OPSET, MAX_OPSET), describe: `ONNX opset of a model without one (${MIN_BODY_OPSET}-${MAX_OPSET}; default: the model's own, else 18); bodies always use the model's opset` })
          .option('external-data', { type: 'boolean', describe: 'store weights in <output>.data next to the model (default: as the input)' })
          .option('fuse', { type: 'boolean', default: true, describe: 'fuse Lp layers written with standard ops (GeM, nn.LPPool, learned-norm layers) into lp nodes; --no-fuse keeps the graph as it is' })
          .option('float16', {
            type: 'boolean',
            describe:
              "convert to float16: weights, activations, lp nodes and their bodies; ops without a float16 kernel in onnxruntime's CPU execution provider stay float32 with Casts around them",
          })
          .option('float16-io', { type: 'boolean', describe: 'with --float16: the graph inputs and outputs are float16 too (default: float32, with a Cast at the boundary)' })
          .option('force', { type: 'boolean', describe: 'allow -o to name the input file (it is replaced)' }),
      (a) => {
        if (a['float16-io'] && !a.float16) throw new UsageError('--float16-io applies with --float16');
        const isSpec = /\.json$/i.test(a.input);
        if (isSpec && !a.weights) throw new UsageError(`${a.input}: an architecture spec needs --weights (.safetensors, .pt or .pth)`);
        if (!isSpec && a.weights) throw new UsageError(`--weights applies to an architecture spec (.json), not to ${a.input}`);
        if (!isSpec && a.batch !== undefined) throw new UsageError(`--batch applies to an architecture spec (.json), not to ${a.input}`);
        checkOutputModel(a.o, { flag: '-o', inputs: [a.input, ...(a.weights ? [a.weights] : [])], force: a.force });
        const opset = a.opset as number | undefined;
        let source: ModelProto;
        let external = false;
        const sources: [string, string][] = [['source', a.input]];
        if (isSpec) {
          const weights = readWeights(a.weights as string);
          let spec: unknown;
          try {
            spec = JSON.parse(readFileSync(a.input, 'utf8'));
          } catch (e) {
            throw new UsageError(existsSync(a.input) ? `${a.input}: not valid JSON (${(e as Error).message})` : `${a.input}: no such file`);
          }
          source = buildFromArch(spec, weights, { what: a.input, weightsWhat: a.weights as string, batch: a.batch as number | undefined, opset });
          sources.push(['weights', a.weights as string]);
        } else {
          const loaded = loadModel(a.input);
          source = loaded.model;
          external = loaded.hadExternalData;
        }
        const { model, report } = exportDualPath(source, { opset, what: a.input, fuse: a.fuse, float16: a.float16 ? { io: a['float16-io'] } : undefined });
        for (const [key, file] of sources) {
          setMetadata(model, `lp-onnx.${key}`, basename(file));
          setMetadata(model, `lp-onnx.${key}.sha256`, createHash('sha256').update(readFileSync(file)).digest('hex'));
        }
        saveModel(a.o, model, a['external-data'] ?? external);
        const byType = new Map<string, number>();
        for (const n of report.lpNodes) byType.set(n.opType, (byType.get(n.opType) ?? 0) + 1);
        const kinds = [...byType].map(([k, v]) => `${k} x${v}`).join(', ');
        const folded = report.folded ? `, ${plural(report.folded, 'constant node')} folded` : '';
        const replaced = a.force && samePath(a.input, a.o) ? ' (replaced the input, --force)' : '';
        process.stdout.write(
          `wrote ${a.o}${replaced}: ${plural(report.lpNodes.length, 'lp node')}${kinds ? ` (${kinds})` : ''}, ${plural(report.functions, 'function body', 'function bodies')}${folded}\n`,
        );
        process.stdout.write(formatFusion(report.fusion));
        if (report.float16) process.stdout.write(formatFloat16(report.float16, report.float16.bytesBefore, report.float16.bytesAfter));
      },
    )
    .command(
      'lower <input>',
      'inline the lp functions: the result uses the default ONNX domain only (for runtimes that do not read model-local functions)',
      (y) =>
        y
          .positional('input', { type: 'string', demandOption: true, describe: 'a dual-path .onnx model (from lp-onnx export)' })
          .option('o', { alias: 'output', type: 'string', demandOption: true, describe: 'the .onnx file to write: standard ops only, no lp nodes (missing folders are made; the input itself only with --force)' })
          .option('external-data', { type: 'boolean', describe: 'store weights in <output>.data (default: as the input)' })
          .option('force', { type: 'boolean', describe: 'allow -o to name the input file (its lp nodes are replaced by their bodies)' }),
      (a) => {
        checkOutputModel(a.o, { flag: '-o', inputs: [a.input], force: a.force });
        const loaded = loadModel(a.input);
        const { model, inlined } = lowerModel(loaded.model, a.input, loaded.readExternal);
        saveModel(a.o, model, a['external-data'] ?? loaded.hadExternalData);
        const replaced = a.force && samePath(a.input, a.o) ? ' (replaced the input, --force)' : '';
        process.stdout.write(`wrote ${a.o}${replaced}: ${plural(inlined, 'function call')} inlined, ${plural((model.graph?.node ?? []).length, 'node')}\n`);
      },
    )
    .command(
      'inspect <model>',
      'inputs, outputs, opsets, op counts, lp nodes with their attributes and inputs, parameters, function bodies',
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true, describe: 'an .onnx model (external data is read from beside it)' })
          .option('json', { type: 'boolean', describe: 'print the report as JSON' }),
      (a) => {
        const loaded = loadModel(a.model);
        const r: InspectReport = inspectModel(loaded.model, a.model, loaded.readExternal);
        try {
          r.fusable = exportDualPath(loaded.model, { what: a.model, readExternal: loaded.readExternal }).report.fusion;
        } catch {
          r.fusable = { fused: [], nearMisses: [] }; // a model export refuses: nothing to fuse
        }
        process.stdout.write(
          `${a.json ? JSON.stringify(r, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) : formatInspect(r)}\n`,
        );
      },
    )
    .command(
      'run <model>',
      'run a model once and print a summary of its inputs and outputs; --out writes the outputs as .npy',
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true, describe: 'an .onnx model (external data is read from beside it)' })
          .option('input', { type: 'string', array: true, default: [] as string[], describe: INPUT_HELP })
          .option('seed', { type: 'string', default: '0', coerce: integer('--seed', 0), describe: 'seed of the random inputs' })
          .option('dim', { type: 'string', array: true, default: [] as string[], describe: DIM_HELP })
          .option('backend', { choices: BACKENDS, describe: BACKEND_HELP })
          .option('out', {
            type: 'string',
            describe: 'folder for the outputs (made if missing): one NAME.npy per graph output, NAME with characters other than letters, digits, _ . - as _ (an output named 6, as torch names some, is 6.npy)',
          }),
      async (a) => {
        if (a.out !== undefined) checkOutputFolder(a.out, '--out');
        const loaded = loadModel(a.model);
        const feeds = makeFeeds(loaded.model, a.model, parseAssignments(a.input, '--input'), dimsOf(a.dim), a.seed as number);
        // the fastest path by default: the fused kernels where they are built
        let backend = a.backend as Backend | undefined;
        let why = '';
        if (!backend) {
          const { nativeStatus } = require('../node/index') as typeof import('../node/index');
          const s = nativeStatus();
          backend = s.available ? 'native' : 'ort';
          if (!s.available) why = `; the fused kernels are not available: ${s.reason}`;
        }
        const session = await openSession(loaded.model, a.model, backend, { readExternal: loaded.readExternal, verbose: a.verbose });
        let outputs: Record<string, Tensor>;
        const t0 = performance.now();
        try {
          outputs = await session.run(feeds);
        } finally {
          await session.release();
        }
        const ms = performance.now() - t0;
        process.stdout.write(`${a.model} on ${backend} (${BACKEND_LABELS[backend]}${why})\n`);
        process.stdout.write(`  session created in ${session.createMs.toFixed(1)} ms (load, optimise${backend === 'webgpu' ? ', device and kernels' : ''}); run ${ms.toFixed(1)} ms\n`);
        for (const [k, t] of Object.entries(feeds)) process.stdout.write(`  in  ${summarize(k, t)}\n`);
        for (const [k, t] of Object.entries(outputs)) process.stdout.write(`  out ${summarize(k, t)}\n`);
        if (a.out !== undefined) for (const p of writeOutputs(a.out, outputs)) process.stdout.write(`  wrote ${p}\n`);
      },
    )
    .command(
      'verify <model>',
      'run the same inputs on the reference, the function bodies and the fused kernels (CPU and WebGPU); report the max errors',
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true, describe: 'an .onnx model (external data is read from beside it)' })
          .option('input', { type: 'string', array: true, default: [] as string[], describe: INPUT_HELP })
          .option('seed', { type: 'string', default: '0', coerce: integer('--seed', 0), describe: 'seed of the random inputs' })
          .option('dim', { type: 'string', array: true, default: [] as string[], describe: DIM_HELP }),
      async (a) => {
        const loaded = loadModel(a.model);
        const feeds = makeFeeds(loaded.model, a.model, parseAssignments(a.input, '--input'), dimsOf(a.dim), a.seed as number);
        const options = { verbose: a.verbose };
        const ref = await runModel(loaded.model, a.model, 'reference', feeds, loaded.readExternal, options);
        process.stdout.write(`${a.model}: max errors against the float64 reference (tolerance atol + rtol * |ref|: ops.md's, float16 outputs at float16's)\n`);
        let worst = 0;
        const halfModel = float16LpNodes(loaded.model).length > 0;
        const label = { ort: 'function bodies (onnxruntime-node)', native: 'fused kernels (lp-onnx/node)', webgpu: 'WGSL kernels (lp-onnx/web, WebGPU)' };
        for (const backend of ['ort', 'native', 'webgpu'] as const) {
          let out: Record<string, Tensor>;
          try {
            out = await runModel(loaded.model, a.model, backend, feeds, loaded.readExternal, options);
          } catch (e) {
            process.stdout.write(`  ${label[backend]}: not run: ${(e as Error).message}\n`);
            continue;
          }
          for (const [name, want] of Object.entries(ref)) {
            // ops.md: float32 atol 1e-5, rtol 1e-3 for bodies and 1e-4 for kernels; float16 atol 1e-4, rtol 2e-3 and 1e-3
            // a model whose lp nodes are float16 (export --float16) is held to float16's tolerances, whatever its outputs' type
            const half = out[name]?.dtype === 'float16' || halfModel;
            const atol = half ? 1e-4 : 1e-5;
            const rtol = half ? (backend === 'ort' ? 2e-3 : 1e-3) : backend === 'ort' ? 1e-3 : 1e-4;
            const e = maxErrors(out[name], want, atol, rtol);
            worst = Math.max(worst, e.ratio);
            process.stdout.write(`  ${label[backend]} ${name}: max abs ${e.abs.toExponential(2)}, max rel ${e.rel.toExponential(2)}, ${e.ratio <= 1 ? 'within' : 'OUTSIDE'} atol ${atol} + rtol ${rtol}\n`);
          }
        }
        if (worst > 1) process.exitCode = 1;
      },
    )
    .command(
      'bench <model>',
      'time a model on one or more backends: one session each, created once (its time on a line of its own), then the median of --runs runs after a warm-up run',
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true, describe: 'an .onnx model (external data is read from beside it)' })
          .option('backend', { type: 'string', array: true, default: ['native', 'ort'] as string[], describe: `backends to time, in turn: ${BACKENDS.join(', ')}` })
          .option('runs', { type: 'string', default: '10', coerce: integer('--runs', 1), describe: 'timed runs of each session (after one untimed warm-up run)' })
          .option('input', { type: 'string', array: true, default: [] as string[], describe: INPUT_HELP })
          .option('seed', { type: 'string', default: '0', coerce: integer('--seed', 0), describe: 'seed of the random inputs' })
          .option('dim', { type: 'string', array: true, default: [] as string[], describe: DIM_HELP }),
      async (a) => {
        const runs = a.runs as number;
        for (const b of a.backend) {
          if (!(BACKENDS as readonly string[]).includes(b)) throw new UsageError(`--backend ${b}: expected one of ${BACKENDS.join(', ')}`);
        }
        const backends = [...new Set(a.backend as Backend[])];
        const loaded = loadModel(a.model);
        const feeds = makeFeeds(loaded.model, a.model, parseAssignments(a.input, '--input'), dimsOf(a.dim), a.seed as number);
        for (const b of backends) {
          const session = await openSession(loaded.model, a.model, b, { readExternal: loaded.readExternal, verbose: a.verbose });
          const t: number[] = [];
          try {
            await session.run(feeds);
            for (let i = 0; i < runs; i++) {
              const t0 = performance.now();
              await session.run(feeds);
              t.push(performance.now() - t0);
            }
          } finally {
            await session.release();
          }
          t.sort((x, y2) => x - y2);
          const median = t.length % 2 ? t[(t.length - 1) / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
          process.stdout.write(`${b}: median ${median.toFixed(2)} ms over ${plural(runs, 'run')} (min ${t[0].toFixed(2)}, max ${t[t.length - 1].toFixed(2)})\n`);
          process.stdout.write(`${b}: session created in ${session.createMs.toFixed(1)} ms (not in the runs)\n`);
        }
      },
    )
    .command(
      'serve [models..]',
      'serve the demo page: run a model in the browser on the fused WebGPU kernels and on its function bodies',
      (y) =>
        y
          .positional('models', { type: 'string', array: true, describe: 'dual-path .onnx files to list on the page, the first loaded at start (any other can be dropped on it)' })
          .option('port', { type: 'string', default: '8080', coerce: integer('--port', 0, 65535), describe: 'TCP port (0: any free one)' })
          .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on' }),
      async (a) => {
        const models: Record<string, Uint8Array> = {};
        for (const file of a.models ?? []) {
          if (!file.endsWith('.onnx')) throw new UsageError(`${file}: expected an .onnx model`);
          const { model } = loadModel(file);
          const name = basename(file);
          if (models[name]) throw new UsageError(`${file}: two models named ${name}`);
          models[name] = encodeModel(model);
        }
        const { serveDemo } = await import('./serve');
        const served = await serveDemo({ port: a.port as number, host: a.host, models });
        process.stdout.write(`lp-onnx demo at ${served.url} (${plural(Object.keys(models).length, 'model')} listed; Ctrl-C stops)\n`);
        await new Promise<void>((resolve) => {
          const stop = () => served.close().then(resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      },
    )
    .command(
      'doctor',
      'which native parts lp-onnx found here (fused kernels, WebGPU, CUDA), and why any are missing',
      (y) => y,
      async (a) => {
        const lpNode = require('../node/index') as typeof import('../node/index');
        const s = lpNode.nativeStatus();
        const lines = [
          `lp-onnx ${PRODUCER_VERSION}, node ${process.version}, ${process.platform}-${process.arch}`,
          `onnxruntime-node: ${require('onnxruntime-node/package.json').version ?? '?'}`,
          `native binaries: ${binariesLine()}`,
          `fused CPU kernels (lp-onnx/node): ${s.available ? `yes (onnxruntime ${s.onnxruntime})` : `no: ${s.reason}`}`,
          `custom-op library for Python onnxruntime: ${existsSync(OPS_LIBRARY_PATH) ? OPS_LIBRARY_PATH : 'no (built with the kernels)'}`,
          `PyTorch layers (lp_onnx_torch): ${existsSync(join(PYTHON_PACKAGE, 'pyproject.toml')) ? `pip install ${PYTHON_PACKAGE}` : 'not in this copy of lp-onnx'}`,
          `CUDA kernels (onnxruntime's CUDA execution provider): ${cudaLine()}`,
          `onnxruntime's CUDA execution provider: ${cudaProviderLine()}`,
          `WebGPU (lp-onnx/web in Node, lp-onnx run --backend webgpu): ${await webGpuLine(a.verbose)}`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    )
    .demandCommand(1, 'name a command (see --help)')
    .strict()
    .version(PRODUCER_VERSION)
    .help()
    .fail((msg, err) => {
      // yargs' own errors (a coerce that refused a value comes wrapped in one) are usage errors
      if (err && err.name === 'YError') throw new UsageError(err.message);
      throw err ?? new UsageError(msg);
    });
  try {
    await cli.parseAsync();
  } catch (e) {
    if (!failed) fail(e);
  }
}
