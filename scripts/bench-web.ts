// npm run bench:web: in headless chromium, each case as lp-onnx/web's fused WGSL kernel and as its
// function body on onnxruntime-web WebGPU (and a standard-op anchor of the same size), side by side
// in one page on one device. Each timed run ends when the device has finished its work
// (queue.onSubmittedWorkDone), with outputs left on the GPU. Without a GPU, chromium's WebGPU
// adapter is a CPU emulation (SwiftShader here; the first line says which): read the ratios, not
// the times. The shapes are the native benchmark's scaled down (CPU emulation is slow, and the
// L1Conv bodies' [N, Cout, Cin*k, L] intermediate must fit WebGPU's buffer limits).
// Usage: npm run bench:web [-- --runs N] [-- --only TEXT]
import { writeFileSync } from 'node:fs';
import { CHROMIUM, CHROMIUM_ARGS, serveDemo } from '../src/cli/serve';
import { type BenchSizes, benchCases, benchModel, NATIVE_SIZES, seededWeights } from './bench-cases';

/** The native benchmark's cases, scaled down. */
const WEB_SIZES: BenchSizes = { lpNorm: [16, 512, 512], lpPool: [2, 64, 112], conv2d: [1, 32, 32, 56], conv1d: [2, 64, 128, 1024], conv3d: [1, 8, 16, 16], gem: [4, 256, 14] };

/** Runs in the page: median ms of `runs` runs after a warm-up, for each path of one case. */
const PAGE_BENCH = `async ({ name, dims, runs }) => {
  const lp = await import('/lp-onnx/lp-onnx-web.mjs');
  lp.env.wasm.numThreads = 1;
  lp.env.wasm.wasmPaths = '/ort/';
  const fetchModel = async (file) => new Uint8Array(await (await fetch('/models/' + file)).arrayBuffer());
  const n = dims.reduce((a, b) => a * b, 1);
  const x = new lp.Tensor('float32', Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)), dims);
  const out = {};
  for (const [path, file, options] of [['fused', name + '.lp.onnx', {}], ['body', name + '.lp.onnx', { lpKernels: 'bodies' }], ['anchor', name + '.anchor.onnx', {}]]) {
    const session = await lp.InferenceSession.create(await fetchModel(file), { ...options, preferredOutputLocation: 'gpu-buffer' });
    const device = session.device;
    const once = async () => {
      const t = performance.now();
      const y = await session.run({ X: x });
      await device.queue.onSubmittedWorkDone();
      const ms = performance.now() - t;
      for (const v of Object.values(y)) v.dispose();
      return ms;
    };
    const first = await once();
    const times = [];
    for (let i = 0; i < runs; i++) times.push(await once());
    times.sort((a, b) => a - b);
    out[path] = { mode: session.mode, first, median: times[Math.floor(times.length / 2)] };
    await session.release();
  }
  return out;
}`;

interface PathResult {
  mode: string;
  first: number;
  median: number;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runs = Number(args[args.indexOf('--runs') + 1] ?? 0) || 5;
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const native = benchCases(NATIVE_SIZES);
  const cases = benchCases(WEB_SIZES)
    .map((c, i) => ({ ...c, native: native[i].name }))
    .filter((c) => !only || c.name.includes(only));
  const models: Record<string, Uint8Array> = {};
  for (const [i, c] of cases.entries()) {
    models[`case${i}.lp.onnx`] = benchModel(c, 'lp', seededWeights(11));
    models[`case${i}.anchor.onnx`] = benchModel(c, 'anchor', seededWeights(11));
  }
  const served = await serveDemo({ models });
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const rows: string[] = [];
  const json: Record<string, Record<string, PathResult>> = {};
  try {
    const page = await browser.newPage();
    await page.goto(served.url);
    const adapter = (await page.evaluate(
      `navigator.gpu?.requestAdapter().then((a) => a ? [a.info.vendor, a.info.architecture, a.info.description].filter((s) => s).join(' / ') + (a.info.isFallbackAdapter ? ' (a fallback adapter: CPU emulation)' : '') : 'none')`,
    )) as string;
    process.stdout.write(`chromium WebGPU adapter: ${adapter}; median of ${runs} runs after a warm-up, outputs on the GPU, each run until the queue is done\n\n`);
    rows.push('| case (native benchmark case) | fused WGSL | function body | body / fused | anchor | fused / anchor |', '|---|---|---|---|---|---|');
    for (const [i, c] of cases.entries()) {
      const r = (await page.evaluate(`(${PAGE_BENCH})(${JSON.stringify({ name: `case${i}`, dims: c.input, runs })})`)) as Record<string, PathResult>;
      if (r.fused.mode !== 'webgpu-fused' || r.body.mode !== 'webgpu-bodies') throw new Error(`${c.name}: ran ${r.fused.mode} / ${r.body.mode}, not WebGPU`);
      json[c.name] = r;
      const row = `| ${c.name} (${c.native}) | ${r.fused.median.toFixed(2)} ms | ${r.body.median.toFixed(2)} ms | ${(r.body.median / r.fused.median).toFixed(1)}x | ${c.anchorName}: ${r.anchor.median.toFixed(2)} ms | ${(r.fused.median / r.anchor.median).toFixed(2)}x |`;
      rows.push(row);
      process.stdout.write(`${row}\n`);
    }
    await page.close();
  } finally {
    await browser.close();
    await served.close();
  }
  const out = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
  if (out) writeFileSync(out, JSON.stringify(json, null, 2));
}

main().catch((e) => {
  process.stderr.write(`bench:web: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
