// Headless Debian chromium driven by playwright-core, serving onnxruntime-web and models on
// loopback. `browserUnavailable()` is the printed reason when it cannot run here.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Served, serveDemo, WEB_BUILD } from '../../src/cli/serve';

export const CHROMIUM = process.env.LP_ONNX_CHROMIUM ?? '/usr/bin/chromium';

export function browserUnavailable(): string | undefined {
  if (!existsSync(CHROMIUM)) return `no chromium at ${CHROMIUM} (apt-get install chromium)`;
  try {
    require.resolve('playwright-core');
  } catch {
    return 'playwright-core is not installed';
  }
  if (!existsSync(join(WEB_BUILD, 'lp-onnx-web.mjs'))) return 'the browser build of lp-onnx/web is missing (npm run build)';
  return undefined;
}

/** The demo server (`lp-onnx serve`): onnxruntime-web under /ort/, lp-onnx/web under /lp-onnx/, models under /models/NAME. */
export function serve(models: Record<string, Uint8Array>): Promise<Served> {
  return serveDemo({ models });
}

/** chromium flags for WebGPU on Vulkan (lavapipe without a GPU), with no outside connections. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=native',
  '--use-angle=vulkan',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
