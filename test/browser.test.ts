// End to end in headless chromium: dual-path models run on stock onnxruntime-web with WebGPU
// (lavapipe without a GPU) and with wasm, compared with the float64 reference.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { adderCnn, lpMlp } from '../scripts/make-examples';
import { exportDualPath } from '../src/export/dual-path';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import type { ModelProto } from '../src/onnx/proto';
import { runReference } from '../src/runtime/reference';
import { browserUnavailable, CHROMIUM, CHROMIUM_ARGS, serve } from './helpers/browser';
import { compareArrays, TOL } from './helpers/compare';

const why = browserUnavailable();
if (why) console.warn(`skipping the browser suite: ${why}`);
const d = why ? describe.skip : describe;

const torchLpNorm = () => decodeModel(new Uint8Array(readFileSync(join(__dirname, '..', 'fixtures', 'onnx', 'torch-lpnorm.onnx'))));
const MODELS: [string, () => ModelProto, number[]][] = [
  ['adder-cnn', () => adderCnn().build(), [2, 3, 32, 32]],
  ['lp-mlp', () => lpMlp().build(), [3, 64]],
  ['torch-lpnorm', torchLpNorm, [4, 12]],
];

/** Runs in the page (plain JavaScript, so that TypeScript does not rewrite its import()). */
const PAGE_RUN = `async ({ name, ep, x, dims, inputName }) => {
  const ort = await import('/ort/ort.webgpu.min.mjs');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = '/ort/';
  if (ep === 'webgpu' && !(navigator.gpu && (await navigator.gpu.requestAdapter()))) return { error: 'no WebGPU adapter in chromium' };
  const bytes = new Uint8Array(await (await fetch('/models/' + name + '.onnx')).arrayBuffer());
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [ep] });
  const out = await session.run({ [inputName]: new ort.Tensor('float32', Float32Array.from(x), dims) });
  const y = out[session.outputNames[0]];
  return { dims: Array.from(y.dims), data: Array.from(await y.getData()) };
}`;

d('onnxruntime-web in headless chromium', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof serve>>;
  const dual = Object.fromEntries(MODELS.map(([name, make]) => [name, exportDualPath(make(), { what: name }).model]));

  beforeAll(async () => {
    server = await serve(Object.fromEntries(Object.entries(dual).map(([k, m]) => [`${k}.onnx`, encodeModel(m)])));
    const { chromium } = require('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 60000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const ep of ['webgpu', 'wasm']) {
    test.each(MODELS.map(([name, , dims]) => [name, dims] as const))(`%s on ${ep}`, async (name, dims) => {
      const page = await browser.newPage();
      await page.goto(server.url);
      const n = dims.reduce((a, b) => a * b, 1);
      const x = Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 0.37)));
      const inputName = dual[name].graph?.input?.[0].name as string;
      const args = JSON.stringify({ name, ep, x, dims, inputName });
      const result = (await page.evaluate(`(${PAGE_RUN})(${args})`)) as { error: string } | { dims: number[]; data: number[] };
      await page.close();
      if ('error' in result) throw new Error(`${name} on ${ep}: ${result.error}`);
      const ref = runReference(dual[name], { [inputName]: { dims, data: Float64Array.from(x) } });
      const want = Object.values(ref)[0];
      compareArrays(`${name} on ${ep} in chromium`, result, want, TOL.body);
    });
  }
});
