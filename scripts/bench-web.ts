// npm run bench:web: in headless chromium, each case as lp-onnx/web's fused WGSL kernel and as its
// function body on onnxruntime-web WebGPU (and a standard-op anchor of the same size), side by side
// in one page on one device. Each timed run ends when the device has finished its work
// (queue.onSubmittedWorkDone), with outputs left on the GPU. Without a GPU, chromium's WebGPU
// adapter is a CPU emulation (SwiftShader here; the first line says which): read the ratios, not
// the times. The shapes are the native benchmark's scaled down (CPU emulation is slow, and the
// L1Conv bodies' [N, Cout, Cin*k, L] intermediate must fit WebGPU's buffer limits). float16: each
// case's float16 model (export --float16 --float16-io), fused and as its bodies, against the float32 one.
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
  const values = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37));
  const x = new lp.Tensor('float32', values, dims);
  // float16 bits of values in [-1, 1] (truncated: inputs for timing)
  const u = new Uint32Array(values.buffer);
  const half = Uint16Array.from(u, (b) => { const e = ((b >> 23) & 255) - 112; return ((b >> 16) & 0x8000) | (e <= 0 ? 0 : (e << 10) | ((b >> 13) & 0x3ff)); });
  const x16 = new lp.Tensor('float16', half, dims);
  const out = {};
  const paths = [['fused', name + '.lp.onnx', {}, x], ['body', name + '.lp.onnx', { lpKernels: 'bodies' }, x], ['anchor', name + '.anchor.onnx', {}, x],
    ['fused16', name + '.lp16.onnx', {}, x16], ['body16', name + '.lp16.onnx', { lpKernels: 'bodies' }, x16]];
  for (const [path, file, options, input] of paths) {
    try {
    const session = await lp.InferenceSession.create(await fetchModel(file), { ...options, preferredOutputLocation: 'gpu-buffer' });
    const device = session.device;
    const once = async () => {
      const t = performance.now();
      const y = await session.run({ X: input });
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
    } catch (e) {
      out[path] = { error: String(e.message || e).split('\\n')[0].slice(0, 200) };
    }
  }
  return out;
}`;

interface PathResult {
  mode: string;
  first: number;
  median: number;
  /** why the path did not run (a float16 body on an adapter without shader-f16) */
  error?: string;
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
    models[`case${i}.lp16.onnx`] = benchModel(c, 'lp', seededWeights(11), true);
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
    rows.push(
      '| case (native benchmark case) | fused WGSL | function body | body / fused | anchor | fused / anchor | fused WGSL float16 | fused16 / fused32 | float16 body | body16 / fused16 |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const [i, c] of cases.entries()) {
      const r = (await page.evaluate(`(${PAGE_BENCH})(${JSON.stringify({ name: `case${i}`, dims: c.input, runs })})`)) as Record<string, PathResult>;
      for (const [path, mode] of [['fused', 'webgpu-fused'], ['body', 'webgpu-bodies'], ['fused16', 'webgpu-fused'], ['body16', 'webgpu-bodies']]) {
        if (r[path].error && path !== 'body16') throw new Error(`${c.name}: ${path}: ${r[path].error}`);
        if (!r[path].error && r[path].mode !== mode) throw new Error(`${c.name}: ${path} ran ${r[path].mode}, not ${mode}`);
      }
      const body16 = r.body16.error ? `n/a (${/requires f16/.test(r.body16.error) ? "onnxruntime-web's WebGPU provider needs shader-f16 for float16, which this adapter lacks" : r.body16.error})` : `${r.body16.median.toFixed(2)} ms`;
      const body16Ratio = r.body16.error ? 'n/a' : `${(r.body16.median / r.fused16.median).toFixed(1)}x`;
      json[c.name] = r;
      const row =
        `| ${c.name} (${c.native}) | ${r.fused.median.toFixed(2)} ms | ${r.body.median.toFixed(2)} ms | ${(r.body.median / r.fused.median).toFixed(1)}x | ${c.anchorName}: ${r.anchor.median.toFixed(2)} ms | ${(r.fused.median / r.anchor.median).toFixed(2)}x ` +
        `| ${r.fused16.median.toFixed(2)} ms | ${(r.fused16.median / r.fused.median).toFixed(2)}x | ${body16} | ${body16Ratio} |`;
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
