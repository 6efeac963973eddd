// The `lp-onnx` command line.
import yargs from 'yargs';
import { LpOpError } from '../../ops/attributes';
import { GeometryError } from '../../ops/geometry';
import { MIN_BODY_OPSET } from '../../ops/body';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ArchError, buildFromArch } from '../export/arch';
import { exportDualPath, MAX_OPSET, setMetadata } from '../export/dual-path';
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
import { ModelError } from '../graph/infer';
import { encodeModel, OnnxFormatError } from '../onnx/codec';
import { TensorDataError } from '../onnx/tensor';
import { NpyError } from '../runtime/npy';
import { PRODUCER_VERSION } from '../version';
import { formatInspect, inspectModel } from './inspect';
import { loadModel, saveModel, UsageError } from './model-io';
import { BACKEND_LABELS, BACKENDS, type Backend, makeFeeds, parseAssignments, runModel, summarize, writeOutputs } from './run';

const KNOWN_ERRORS = [UsageError, ModelError, OnnxFormatError, TensorDataError, LpOpError, GeometryError, BuilderError, NpyError, ArchError, PickleError, SafetensorsError, ZipError, WeightsError];

function checkOpset(v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < MIN_BODY_OPSET || v > MAX_OPSET) throw new UsageError(`--opset ${v}: expected an integer from ${MIN_BODY_OPSET} to ${MAX_OPSET}`);
  return v;
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

/** Max abs and rel error, and the worst error as a multiple of atol 1e-5 + rtol |want| (NaN equal to NaN). */
function maxErrors(got: Tensor | undefined, want: Tensor, rtol: number): { abs: number; rel: number; ratio: number } {
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
    ratio = Math.max(ratio, Number.isNaN(e) ? Number.POSITIVE_INFINITY : e / (1e-5 + rtol * Math.abs(w[i])));
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
    .command(
      'export <input>',
      'write a dual-path model: every com.lponnx node plus a standard-op function body',
      (y) =>
        y
          .positional('input', { type: 'string', demandOption: true, describe: 'an .onnx model with com.lponnx nodes, or an architecture spec (.json, lp-onnx/arch@1) with --weights' })
          .option('o', { alias: 'output', type: 'string', demandOption: true, describe: 'the .onnx file to write' })
          .option('weights', { type: 'string', describe: 'the state_dict of an architecture spec: .safetensors, .pt or .pth' })
          .option('batch', { type: 'number', describe: 'a static batch size for the spec\'s inputs (default: symbolic)' })
          .option('opset', { type: 'number', describe: `ONNX opset of a model without one (${MIN_BODY_OPSET}-${MAX_OPSET}; default: the model's own, else 18); bodies always use the model's opset` })
          .option('external-data', { type: 'boolean', describe: 'store weights in <output>.data next to the model (default: as the input)' })
          .option('fuse', { type: 'boolean', default: true, describe: 'fuse Lp layers written with standard ops (GeM, nn.LPPool, learned-norm layers) into lp nodes; --no-fuse keeps the graph as it is' }),
      (a) => {
        const isSpec = /\.json$/i.test(a.input);
        if (isSpec && !a.weights) throw new UsageError(`${a.input}: an architecture spec needs --weights (.safetensors, .pt or .pth)`);
        if (!isSpec && a.weights) throw new UsageError(`--weights applies to an architecture spec (.json), not to ${a.input}`);
        if (!isSpec && a.batch !== undefined) throw new UsageError(`--batch applies to an architecture spec (.json), not to ${a.input}`);
        if (a.batch !== undefined && (!Number.isInteger(a.batch) || a.batch < 1)) throw new UsageError(`--batch ${a.batch}: expected a positive integer`);
        const opset = checkOpset(a.opset);
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
          source = buildFromArch(spec, weights, { what: a.input, weightsWhat: a.weights as string, batch: a.batch, opset });
          sources.push(['weights', a.weights as string]);
        } else {
          const loaded = loadModel(a.input);
          source = loaded.model;
          external = loaded.hadExternalData;
        }
        const { model, report } = exportDualPath(source, { opset, what: a.input, fuse: a.fuse });
        for (const [key, file] of sources) {
          setMetadata(model, `lp-onnx.${key}`, basename(file));
          setMetadata(model, `lp-onnx.${key}.sha256`, createHash('sha256').update(readFileSync(file)).digest('hex'));
        }
        saveModel(a.o, model, a['external-data'] ?? external);
        const byType = new Map<string, number>();
        for (const n of report.lpNodes) byType.set(n.opType, (byType.get(n.opType) ?? 0) + 1);
        const kinds = [...byType].map(([k, v]) => `${k} x${v}`).join(', ') || 'none';
        const folded = report.folded ? `, ${report.folded} constant nodes folded` : '';
        process.stdout.write(`wrote ${a.o}: ${report.lpNodes.length} lp nodes (${kinds}), ${report.functions} function bodies${folded}\n`);
        process.stdout.write(formatFusion(report.fusion));
      },
    )
    .command(
      'lower <input>',
      'inline the lp functions: the result uses the default ONNX domain only',
      (y) =>
        y
          .positional('input', { type: 'string', demandOption: true })
          .option('o', { alias: 'output', type: 'string', demandOption: true })
          .option('external-data', { type: 'boolean', describe: 'store weights in <output>.data' }),
      (a) => {
        const loaded = loadModel(a.input);
        const { model, inlined } = lowerModel(loaded.model, a.input, loaded.readExternal);
        saveModel(a.o, model, a['external-data'] ?? loaded.hadExternalData);
        process.stdout.write(`wrote ${a.o}: ${inlined} function calls inlined, ${(model.graph?.node ?? []).length} nodes\n`);
      },
    )
    .command(
      'inspect <model>',
      'inputs, outputs, opsets, op counts, lp nodes, parameters, function bodies',
      (y) => y.positional('model', { type: 'string', demandOption: true }).option('json', { type: 'boolean', describe: 'print JSON' }),
      (a) => {
        const loaded = loadModel(a.model);
        const r = inspectModel(loaded.model, a.model);
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
      'run a model and write its outputs as .npy',
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true })
          .option('input', { type: 'string', array: true, default: [] as string[], describe: 'NAME=file.npy (repeatable); missing inputs are seeded random' })
          .option('seed', { type: 'number', default: 0, describe: 'seed of the random inputs' })
          .option('dim', { type: 'string', array: true, default: [] as string[], describe: 'NAME=SIZE for a symbolic dim of random inputs (default 1)' })
          .option('backend', {
            choices: BACKENDS,
            describe:
              'reference (float64 TypeScript), ort (onnxruntime-node, function bodies), ort-web (onnxruntime-web wasm), native (lp-onnx/node fused kernels), webgpu (lp-onnx/web); default: native where the fused kernels are built, else ort',
          })
          .option('out', { type: 'string', describe: 'folder for the output .npy files' }),
      async (a) => {
        if (!Number.isInteger(a.seed) || a.seed < 0) throw new UsageError(`--seed ${a.seed}: expected a non-negative integer`);
        const loaded = loadModel(a.model);
        const feeds = makeFeeds(loaded.model, a.model, parseAssignments(a.input, '--input'), dimsOf(a.dim), a.seed);
        // the fastest path by default: the fused kernels where they are built
        let backend = a.backend as Backend | undefined;
        let why = '';
        if (!backend) {
          const { nativeStatus } = require('../node/index') as typeof import('../node/index');
          const s = nativeStatus();
          backend = s.available ? 'native' : 'ort';
          if (!s.available) why = `; the fused kernels are not available: ${s.reason}`;
        }
        const t0 = performance.now();
        const outputs = await runModel(loaded.model, a.model, backend, feeds, loaded.readExternal);
        const ms = performance.now() - t0;
        process.stdout.write(`${a.model} on ${backend} (${BACKEND_LABELS[backend]}${why}): ${ms.toFixed(1)} ms\n`);
        for (const [k, t] of Object.entries(feeds)) process.stdout.write(`  in  ${summarize(k, t)}\n`);
        for (const [k, t] of Object.entries(outputs)) process.stdout.write(`  out ${summarize(k, t)}\n`);
        if (a.out) for (const p of writeOutputs(a.out, outputs)) process.stdout.write(`  wrote ${p}\n`);
      },
    )
    .command(
      'verify <model>',
      'run the same inputs on the reference, the function bodies and the fused kernels (CPU and WebGPU); report the max errors',
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true })
          .option('input', { type: 'string', array: true, default: [] as string[], describe: 'NAME=file.npy (repeatable); missing inputs are seeded random' })
          .option('seed', { type: 'number', default: 0 })
          .option('dim', { type: 'string', array: true, default: [] as string[], describe: 'NAME=SIZE for a symbolic dim (default 1)' }),
      async (a) => {
        const loaded = loadModel(a.model);
        const feeds = makeFeeds(loaded.model, a.model, parseAssignments(a.input, '--input'), dimsOf(a.dim), a.seed);
        const ref = await runModel(loaded.model, a.model, 'reference', feeds, loaded.readExternal);
        process.stdout.write(`${a.model}: max errors against the float64 reference (tolerance atol 1e-5 + rtol * |ref|)\n`);
        let worst = 0;
        const label = { ort: 'function bodies (onnxruntime-node)', native: 'fused kernels (lp-onnx/node)', webgpu: 'WGSL kernels (lp-onnx/web, WebGPU)' };
        for (const backend of ['ort', 'native', 'webgpu'] as const) {
          let out: Record<string, Tensor>;
          try {
            out = await runModel(loaded.model, a.model, backend, feeds, loaded.readExternal);
          } catch (e) {
            process.stdout.write(`  ${label[backend]}: not run: ${(e as Error).message}\n`);
            continue;
          }
          const rtol = backend === 'ort' ? 1e-3 : 1e-4;
          for (const [name, want] of Object.entries(ref)) {
            const e = maxErrors(out[name], want, rtol);
            worst = Math.max(worst, e.ratio);
            process.stdout.write(`  ${label[backend]} ${name}: max abs ${e.abs.toExponential(2)}, max rel ${e.rel.toExponential(2)}, ${e.ratio <= 1 ? 'within' : 'OUTSIDE'} rtol ${rtol}\n`);
          }
        }
        if (worst > 1) process.exitCode = 1;
      },
    )
    .command(
      'bench <model>',
      'time a model on one or more backends (median of --runs after a warm-up)',
      (y) =>
        y
          .positional('model', { type: 'string', demandOption: true })
          .option('backend', { type: 'string', array: true, default: ['native', 'ort'] as string[], describe: `backends to time: ${BACKENDS.join(', ')}` })
          .option('runs', { type: 'number', default: 10 })
          .option('seed', { type: 'number', default: 0 })
          .option('dim', { type: 'string', array: true, default: [] as string[], describe: 'NAME=SIZE for a symbolic dim (default 1)' }),
      async (a) => {
        if (!Number.isInteger(a.runs) || a.runs < 1) throw new UsageError(`--runs ${a.runs}: expected a positive integer`);
        for (const b of a.backend) {
          if (!(BACKENDS as readonly string[]).includes(b)) throw new UsageError(`--backend ${b}: expected one of ${BACKENDS.join(', ')}`);
        }
        const loaded = loadModel(a.model);
        const feeds = makeFeeds(loaded.model, a.model, new Map(), dimsOf(a.dim), a.seed);
        const times: Record<string, number> = {};
        for (const b of a.backend as Backend[]) {
          await runModel(loaded.model, a.model, b, feeds, loaded.readExternal);
          const t: number[] = [];
          for (let i = 0; i < a.runs; i++) {
            const t0 = performance.now();
            await runModel(loaded.model, a.model, b, feeds, loaded.readExternal);
            t.push(performance.now() - t0);
          }
          t.sort((x, y2) => x - y2);
          times[b] = t[Math.floor(t.length / 2)];
          process.stdout.write(`${b}: median ${times[b].toFixed(2)} ms over ${a.runs} runs (session creation included)\n`);
        }
      },
    )
    .command(
      'serve [models..]',
      'serve the demo page: run a model in the browser on the fused WebGPU kernels and on its function bodies',
      (y) =>
        y
          .positional('models', { type: 'string', array: true, describe: 'dual-path .onnx files to list on the page (any other can be dropped on it)' })
          .option('port', { type: 'number', default: 8080, describe: 'TCP port (0: any free one)' })
          .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on' }),
      async (a) => {
        if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new UsageError(`--port ${a.port}: expected an integer from 0 to 65535`);
        const models: Record<string, Uint8Array> = {};
        for (const file of a.models ?? []) {
          if (!file.endsWith('.onnx')) throw new UsageError(`${file}: expected an .onnx model`);
          const { model } = loadModel(file);
          const name = basename(file);
          if (models[name]) throw new UsageError(`${file}: two models named ${name}`);
          models[name] = encodeModel(model);
        }
        const { serveDemo } = await import('./serve');
        const served = await serveDemo({ port: a.port, host: a.host, models });
        process.stdout.write(`lp-onnx demo at ${served.url} (${Object.keys(models).length} models listed; Ctrl-C stops)\n`);
        await new Promise<void>((resolve) => {
          const stop = () => served.close().then(resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      },
    )
    .command(
      'doctor',
      'which native parts lp-onnx found here, and why any are missing',
      (y) => y,
      () => {
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
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    )
    .demandCommand(1, 'name a command (see --help)')
    .strict()
    .version(PRODUCER_VERSION)
    .help()
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  try {
    await cli.parseAsync();
  } catch (e) {
    if (!failed) fail(e);
  }
}
