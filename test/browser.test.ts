// End to end in headless chromium: dual-path models run on stock onnxruntime-web with WebGPU
// (lavapipe without a GPU) and with wasm, and through lp-onnx/web's browser build (fused WGSL
// kernels; the wasm fallback), compared with the float64 reference; the demo page, driven.
import { mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { GraphBuilder } from '../src/graph/builder';
import { writeModelFile } from '../src/onnx/model-file';
import type { Browser } from 'playwright-core';
import { adderCnn, lpMlp } from '../scripts/make-examples';
import { STRESS_CHANNELS, STRESS_WIDTH, stressL1Conv, stressLpNorm, stressLpNormShared, stressLpPool } from '../scripts/stress-models';
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
  ['pointnet-l1', () => torchModel('pointnet-l1'), [2, 3, 64]],
  ['voxel-l1', () => torchModel('voxel-l1'), [1, 1, 8, 8, 8]],
  // many nodes of one op in one shared function body (attributes by reference, numeric twins of mode and auto_pad)
  ['stress-lppool-op13', () => stressLpPool(13), [2, STRESS_CHANNELS, 11, STRESS_WIDTH]],
  ['stress-l1conv-op18', () => stressL1Conv(18), [2, STRESS_CHANNELS, 11, STRESS_WIDTH]],
  ['stress-lpnorm-op23', () => stressLpNorm(23), [2, STRESS_CHANNELS, 11, STRESS_WIDTH]],
  // the shared form's If to the per-unit form, taken
  ['stress-lpnorm-shared-op13', () => stressLpNormShared(13), [2, STRESS_CHANNELS, 11, STRESS_WIDTH]],
];

function torchModel(name: string): ModelProto {
  const dir = join(__dirname, '..', 'fixtures', 'torch', name);
  return decodeModel(new Uint8Array(readFileSync(join(dir, 'torch.onnx'))), `${name}/torch.onnx`);
}

/** lp-onnx/web's browser build in the page; `hideGpu` takes WebGPU away first. */
const PAGE_RUN_LP = `async ({ name, x, dims, inputName, hideGpu }) => {
  if (hideGpu) Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
  const lp = await import('/lp-onnx/lp-onnx-web.mjs');
  lp.env.wasm.numThreads = 1;
  lp.env.wasm.wasmPaths = '/ort/';
  const bytes = new Uint8Array(await (await fetch('/models/' + name + '.onnx')).arrayBuffer());
  const session = await lp.InferenceSession.create(bytes);
  const out = await session.run({ [inputName]: new lp.Tensor('float32', Float32Array.from(x), dims) });
  const y = out[session.outputNames[0]];
  const result = { mode: session.mode, reason: session.reason, segments: session.segments, dims: Array.from(y.dims), data: Array.from(y.data) };
  await session.release();
  return result;
}`;

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

  const runLp = async (name: string, dims: number[], hideGpu: boolean) => {
    const page = await browser.newPage();
    await page.goto(server.url);
    const x = Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.fround(Math.sin(i * 0.37)));
    const inputName = dual[name].graph?.input?.[0].name as string;
    const result = (await page.evaluate(`(${PAGE_RUN_LP})(${JSON.stringify({ name, x, dims, inputName, hideGpu })})`)) as { mode: string; reason?: string; dims: number[]; data: number[] };
    await page.close();
    const want = Object.values(runReference(dual[name], { [inputName]: { dims, data: Float64Array.from(x) } }))[0];
    return { result, want };
  };

  test.each(MODELS.map(([name, , dims]) => [name, dims] as const))('%s through lp-onnx/web (browser build): fused WGSL kernels on WebGPU', async (name, dims) => {
    const { result, want } = await runLp(name, dims, false);
    expect(result.mode).toBe('webgpu-fused');
    compareArrays(`${name} through lp-onnx/web in chromium`, result, want, TOL.kernel);
  });

  test('without WebGPU, lp-onnx/web runs the function bodies on wasm and says why', async () => {
    const { result, want } = await runLp('adder-cnn', [2, 3, 32, 32], true);
    expect(result.mode).toBe('wasm-bodies');
    expect(result.reason).toBe('this browser has no WebGPU (navigator.gpu is undefined)');
    compareArrays('adder-cnn on the wasm fallback', result, want, TOL.body);
  });

  test('the demo page: a served model, a picked file and a dropped one; all paths run, timings and agreement shown; screenshot', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    await page.goto(server.url);
    await page.waitForFunction('window.lpOnnxDemo?.ready');
    // a served model, by its button
    await page.getByRole('button', { name: 'adder-cnn.onnx' }).click();
    await page.waitForFunction(`window.lpOnnxDemo?.loaded === 'adder-cnn.onnx'`);
    expect(await page.locator('#inputs tbody tr').count()).toBe(1);
    expect(await page.locator('#inputs').innerText()).toContain('image');
    await page.fill('input.dim', '2');
    await page.click('#run');
    await page.waitForFunction('window.lpOnnxDemo?.done || window.lpOnnxDemo?.error', undefined, { timeout: 120000 });
    const demo = (await page.evaluate('window.lpOnnxDemo')) as { error?: string; agree: boolean; results: { key: string; mode: string; median: number }[] };
    expect(demo.error).toBeUndefined();
    expect(demo.agree).toBe(true);
    expect(demo.results.map((r) => [r.key, r.mode])).toEqual([
      ['fused', 'webgpu-fused'],
      ['bodies-webgpu', 'webgpu-bodies'],
      ['bodies-wasm', 'wasm-bodies'],
    ]);
    for (const r of demo.results) expect(r.median).toBeGreaterThan(0);
    expect(await page.locator('#verdict').innerText()).toContain('All paths agree');
    const out = join(__dirname, '..', 'test-results');
    mkdirSync(out, { recursive: true });
    await page.screenshot({ path: join(out, 'demo.png'), fullPage: true });
    expect(statSync(join(out, 'demo.png')).size).toBeGreaterThan(10000);
    // a file picked from disk; a corrupt one gets a message, not a broken page
    await page.setInputFiles('#file', { name: 'lp-mlp.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(encodeModel(dual['lp-mlp'])) });
    await page.waitForFunction(`window.lpOnnxDemo?.loaded === 'lp-mlp.onnx'`);
    // a file dropped on the page
    const dropped = Array.from(encodeModel(dual['torch-lpnorm']));
    await page.evaluate(`(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(${JSON.stringify(dropped)})], 'dropped.onnx'));
      document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    })()`);
    await page.waitForFunction(`window.lpOnnxDemo?.loaded === 'dropped.onnx'`);
    expect(await page.locator('#model-info').innerText()).toContain('lp nodes: LpNorm x1');
    await page.setInputFiles('#file', { name: 'broken.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from([8, 7, 18, 200]) });
    await page.waitForFunction('window.lpOnnxDemo?.error');
    expect(await page.locator('#status').innerText()).toMatch(/^broken\.onnx: /);
    await page.close();
  }, 180000);

  test('the demo page takes a float16 model (export --float16 --float16-io): shows the type, feeds float16, the fused path runs its WGSL kernels, the paths agree', async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForFunction('window.lpOnnxDemo?.ready');
    const half = exportDualPath(adderCnn().build(), { float16: { io: true } }).model;
    await page.setInputFiles('#file', { name: 'adder.f16.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(encodeModel(half)) });
    await page.waitForFunction(`window.lpOnnxDemo?.loaded === 'adder.f16.onnx'`);
    expect(await page.locator('#inputs').innerText()).toContain('float16');
    expect(await page.locator('#model-info').innerText()).toMatch(/float16 \(5 float16 lp nodes; paths agree within atol 0.0003 \+ rtol 0.003\)/);
    await page.fill('input.dim', '2');
    await page.click('#run');
    await page.waitForFunction('window.lpOnnxDemo?.done || window.lpOnnxDemo?.error', undefined, { timeout: 120000 });
    const demo = (await page.evaluate('window.lpOnnxDemo')) as { error?: string; agree: boolean; results: { key: string; mode?: string; skipped?: string }[] };
    expect(demo.error).toBeUndefined();
    expect(demo.results[0]).toMatchObject({ key: 'fused', mode: 'webgpu-fused' });
    const wasm = demo.results.find((r) => r.key === 'bodies-wasm');
    expect(wasm?.mode).toBe('wasm-bodies');
    // chromium's SwiftShader has no shader-f16: onnxruntime-web's WebGPU provider cannot run the float16 bodies, and the row says so
    const webgpu = demo.results.find((r) => r.key === 'bodies-webgpu');
    if (webgpu?.skipped) expect(webgpu.skipped).toMatch(/shader-f16/);
    expect(demo.agree).toBe(true);
    await page.close();
  }, 180000);

  /** Files for the page's file input: name and bytes. */
  const file = (name: string, bytes: Uint8Array) => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
  const demoState = (page: Page) => page.evaluate('window.lpOnnxDemo') as Promise<Record<string, unknown> & { error?: string; loaded?: string; done?: boolean }>;
  const runDemo = async (page: Page) => {
    await page.evaluate('window.lpOnnxDemo = {}');
    await page.click('#run');
    await page.waitForFunction('window.lpOnnxDemo?.done || window.lpOnnxDemo?.error', undefined, { timeout: 120000 });
    return demoState(page);
  };

  test('the demo page as a new user meets it: first served model loaded, red errors that clear the old model, a model without bodies, bad dims, external data, a model without lp nodes, the adapter named; screenshot', async () => {
    // models of every kind the page must handle, served by lp-onnx serve's own server
    const tmp = mkdtempSync(join(tmpdir(), 'lp-onnx-demo-'));
    writeModelFile(join(tmp, 'ext.onnx'), dual['adder-cnn'], { externalData: {} });
    const plain = new GraphBuilder({ name: 'plain' });
    plain.output(plain.conv(plain.input('x', 'float32', ['N', 3, 8, 8]), plain.initializer('w', Array.from({ length: 4 * 3 * 9 }, (_, i) => Math.sin(i)), [4, 3, 3, 3])).relu(), 'y');
    const demoServer = await serve({ 'lp-mlp.onnx': encodeModel(dual['lp-mlp']), 'plain.onnx': encodeModel(plain.build()) });
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    try {
      await page.goto(demoServer.url);
      // the first served model is on the page without a click
      await page.waitForFunction(`window.lpOnnxDemo?.loaded === 'lp-mlp.onnx'`);
      expect(await page.locator('#model').isVisible()).toBe(true);
      expect((await runDemo(page)).done).toBe(true);
      expect(await page.locator('#results').isVisible()).toBe(true);
      // the adapter that ran, against what the browser itself says of it: its vendor and
      // architecture named, and a fallback adapter (chromium's SwiftShader here) called one and a CPU emulation
      const info = (await page.evaluate(
        'navigator.gpu.requestAdapter().then((a) => ({ vendor: a.info.vendor, architecture: a.info.architecture, fallback: Boolean(a.info.isFallbackAdapter ?? a.isFallbackAdapter) }))',
      )) as { vendor: string; architecture: string; fallback: boolean };
      const shown = await page.locator('#adapter').innerText();
      expect(shown).toMatch(/^WebGPU adapter: /);
      for (const part of [info.vendor, info.architecture]) if (part) expect(shown).toContain(part);
      if (info.fallback) expect(shown).toContain('(a fallback adapter, a CPU emulation, not a GPU');
      else if (/swiftshader|llvmpipe|lavapipe/i.test(`${info.vendor} ${info.architecture}`)) expect(shown).toContain('a CPU emulation, not a GPU');

      // a corrupt file after a good model: the old model and results go, the error is red and names the file once
      await page.setInputFiles('#file', file('truncated.onnx', encodeModel(dual['adder-cnn']).slice(0, 300)));
      await page.waitForFunction('window.lpOnnxDemo?.error');
      const message = await page.locator('#status').innerText();
      expect(message).toMatch(/^truncated\.onnx: /);
      expect(message).not.toMatch(/^truncated\.onnx: truncated\.onnx/);
      expect(await page.evaluate("getComputedStyle(document.getElementById('status')).color")).toBe('rgb(198, 40, 40)');
      expect(await page.locator('#model').isVisible()).toBe(false);
      expect(await page.locator('#results').isVisible()).toBe(false);

      // N = 0 and an empty dim box: the page says which input and dim, before anything runs
      await page.setInputFiles('#file', file('lp-mlp.onnx', encodeModel(dual['lp-mlp'])));
      await page.waitForFunction(`window.lpOnnxDemo?.loaded === 'lp-mlp.onnx'`);
      for (const [value, shown] of [['0', '0'], ['', 'nothing'], ['2.5', '2.5']]) {
        await page.fill('input.dim', value);
        expect((await runDemo(page)).error).toBe(`error: input 'x': dim N must be a positive integer, got ${shown}`);
      }
      await page.fill('input.dim', '3');

      // a model whose lp nodes have no function bodies: the fused path runs, the others say why not
      await page.setInputFiles('#file', file('raw.onnx', encodeModel(lpMlp().build())));
      await page.waitForFunction(`window.lpOnnxDemo?.loaded === 'raw.onnx'`);
      expect(await page.locator('#model-info').innerText()).toContain('NOT dual-path');
      const raw = await runDemo(page);
      expect(raw.error).toBeUndefined();
      const rows = raw.results as { key: string; mode?: string; skipped?: string }[];
      expect(rows[0]).toMatchObject({ key: 'fused', mode: 'webgpu-fused' });
      for (const r of rows.slice(1)) expect(r.skipped).toMatch(/^not run: stock onnxruntime cannot run lp nodes without function bodies \(.*LpNorm.*\); `lp-onnx export` adds them$/);
      expect(await page.locator('#verdict').innerText()).toContain('Only the fused path can run this model');

      // external data: the model alone is refused with what to do; with its .data file it runs
      const ext = readFileSync(join(tmp, 'ext.onnx'));
      const data = readFileSync(join(tmp, 'ext.onnx.data'));
      await page.setInputFiles('#file', file('ext.onnx', ext));
      await page.waitForFunction('window.lpOnnxDemo?.error');
      expect(await page.locator('#status').innerText()).toBe('ext.onnx keeps its weights in ext.onnx.data beside it: pick or drop ext.onnx and ext.onnx.data together');
      await page.setInputFiles('#file', [file('ext.onnx', ext), file('ext.onnx.data', data)]);
      await page.waitForFunction(`window.lpOnnxDemo?.loaded === 'ext.onnx'`);
      await page.fill('input.dim', '2');
      const withData = await runDemo(page);
      expect(withData.error).toBeUndefined();
      expect(withData.agree).toBe(true);

      // a model without lp nodes: no claim that anything was fused
      await page.getByRole('button', { name: 'plain.onnx' }).click();
      await page.waitForFunction(`window.lpOnnxDemo?.loaded === 'plain.onnx'`);
      const none = await runDemo(page);
      expect(none.error).toBeUndefined();
      const verdict = await page.locator('#verdict').innerText();
      expect(verdict).toContain('This model has no lp nodes: nothing is fused');
      expect(verdict).not.toContain('Fused WebGPU is');
      const out = join(__dirname, '..', 'test-results');
      mkdirSync(out, { recursive: true });
      await page.screenshot({ path: join(out, 'demo-plain.png'), fullPage: true });
      // the error state, for a look
      await page.setInputFiles('#file', file('ext.onnx', ext));
      await page.waitForFunction('window.lpOnnxDemo?.error');
      await page.screenshot({ path: join(out, 'demo-error.png'), fullPage: true });
    } finally {
      await page.close();
      await demoServer.close();
    }
  }, 300000);
});
