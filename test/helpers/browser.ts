// Headless Debian chromium driven by playwright-core, serving onnxruntime-web and models on
// loopback. `browserUnavailable()` is the printed reason when it cannot run here.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';

export const CHROMIUM = process.env.LP_ONNX_CHROMIUM ?? '/usr/bin/chromium';
const ORT_DIST = join(__dirname, '..', '..', 'node_modules', 'onnxruntime-web', 'dist');

export function browserUnavailable(): string | undefined {
  if (!existsSync(CHROMIUM)) return `no chromium at ${CHROMIUM} (apt-get install chromium)`;
  try {
    require.resolve('playwright-core');
  } catch {
    return 'playwright-core is not installed';
  }
  return undefined;
}

/** Serves onnxruntime-web's files under /ort/ and the given models under /models/NAME. */
export async function serve(models: Record<string, Uint8Array>): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>lp-onnx</title>');
      return;
    }
    if (url.startsWith('/models/') && models[basename(url)]) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(models[basename(url)]);
      return;
    }
    const file = join(ORT_DIST, basename(url));
    if (url.startsWith('/ort/') && existsSync(file)) {
      res.writeHead(200, { 'content-type': file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' });
      res.end(readFileSync(file));
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
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
