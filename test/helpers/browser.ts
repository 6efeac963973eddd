// Headless Debian chromium driven by playwright-core, serving onnxruntime-web and models on
// loopback. `browserUnavailable()` is the printed reason when it cannot run here.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CHROMIUM, type Served, serveDemo, WEB_BUILD } from '../../src/cli/serve';

export { CHROMIUM, CHROMIUM_ARGS } from '../../src/cli/serve';

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
