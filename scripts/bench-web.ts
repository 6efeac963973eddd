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
import { seededRandom } from '../src/cli/run';
import { exportDualPath } from '../src/export/dual-path';
import { GraphBuilder, type Value } from '../src/graph/builder';
import { encodeModel } from '../src/onnx/codec';

type W = (n: number, lo?: number, hi?: number) => Float32Array;
interface WebCase {
  name: string;
  native: string;
  input: number[];
  lp: (b: GraphBuilder, x: Value, w: W) => Value;
  anchorName: string;
  anchor: (b: GraphBuilder, x: Value, w: W) => Value;
}

const pool = { kernel_shape: [3, 3], strides: [2, 2] };
const conv2 = { pads: [1, 1, 1, 1] };
const conv3 = { pads: [1, 1, 1, 1, 1, 1] };
const matmul = (k: number, m: number) => (b: GraphBuilder, x: Value, w: W) => x.matmul(b.initializer('W', w(k * m), [k, m]));

export const WEB_CASES: WebCase[] = [
  {
    name: 'LpNorm B16 K512 M512 shared p',
    native: 'B64 K1024 M1024',
    input: [16, 512],
    lp: (b, x, w) => b.lpNorm(x, b.initializer('W', w(512 * 512, 0, 1), [512, 512]), undefined, { p: 3 }),
    anchorName: 'MatMul [16,512]x[512,512]',
    anchor: matmul(512, 512),
  },
  {
    name: 'LpNorm B16 K512 M512 per-unit p',
    native: 'B64 K1024 M1024',
    input: [16, 512],
    lp: (b, x, w) => b.lpNorm(x, b.initializer('W', w(512 * 512, 0, 1), [512, 512]), b.initializer('P', w(512, 1, 6), [512])),
    anchorName: 'MatMul [16,512]x[512,512]',
    anchor: matmul(512, 512),
  },
  ...[0, 1].map((mean) => ({
    name: `LpPool N2 C64 112x112 k3 s2 per-channel p mean ${mean}`,
    native: 'N8 C64 112x112',
    input: [2, 64, 112, 112],
    lp: (b: GraphBuilder, x: Value, w: W) => b.lpPool(x, { ...pool, mean }, b.initializer('P', w(64, 1, 6), [64])),
    anchorName: 'AveragePool, same geometry',
    anchor: (b: GraphBuilder, x: Value) => b.averagePool(x, pool),
  })),
  {
    name: 'L1Conv2d N1 32->32 56x56 k3 pad 1',
    native: 'N8 64->64 56x56',
    input: [1, 32, 56, 56],
    lp: (b, x, w) => b.l1Conv(x, b.initializer('W', w(32 * 32 * 9), [32, 32, 3, 3]), undefined, conv2),
    anchorName: 'Conv, same geometry',
    anchor: (b, x, w) => b.conv(x, b.initializer('W', w(32 * 32 * 9), [32, 32, 3, 3]), undefined, conv2),
  },
  {
    name: 'L1Conv1d N2 64->128 P1024 k1',
    native: 'N8 64->128 P4096',
    input: [2, 64, 1024],
    lp: (b, x, w) => b.l1Conv(x, b.initializer('W', w(128 * 64), [128, 64, 1])),
    anchorName: 'Conv, same geometry',
    anchor: (b, x, w) => b.conv(x, b.initializer('W', w(128 * 64), [128, 64, 1])),
  },
  {
    name: 'L1Conv3d N1 8->16 16^3 k3 pad 1',
    native: 'N2 16->32 32^3',
    input: [1, 8, 16, 16, 16],
    lp: (b, x, w) => b.l1Conv(x, b.initializer('W', w(16 * 8 * 27), [16, 8, 3, 3, 3]), undefined, conv3),
    anchorName: 'Conv, same geometry',
    anchor: (b, x, w) => b.conv(x, b.initializer('W', w(16 * 8 * 27), [16, 8, 3, 3, 3]), undefined, conv3),
  },
];

function model(c: WebCase, which: 'lp' | 'anchor'): Uint8Array {
  const r = seededRandom(11);
  const w: W = (n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
  const b = new GraphBuilder({ name: 'bench', opset: 18 });
  const x = b.input('x', 'float32', c.input);
  b.output(which === 'lp' ? c.lp(b, x, w) : c.anchor(b, x, w), 'y');
  return encodeModel(which === 'lp' ? exportDualPath(b.build()).model : b.build());
}

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
      const y = await session.run({ x });
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
  const cases = WEB_CASES.filter((c) => !only || c.name.includes(only));
  const models: Record<string, Uint8Array> = {};
  for (const [i, c] of cases.entries()) {
    models[`case${i}.lp.onnx`] = model(c, 'lp');
    models[`case${i}.anchor.onnx`] = model(c, 'anchor');
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
    rows.push('| case (native benchmark shape) | fused WGSL | function body | body / fused | anchor | fused / anchor |', '|---|---|---|---|---|---|');
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
