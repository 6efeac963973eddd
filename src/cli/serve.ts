// `lp-onnx serve`: the demo page, onnxruntime-web's files, the browser build of lp-onnx/web, and
// the models named on the command line, from one loopback HTTP server. The browser tests use it too.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { packageRoot } from '../version';
import { UsageError } from './model-io';

const ROOT = packageRoot();
export const DEMO_DIR = join(ROOT, 'src', 'cli', 'demo');
export const WEB_BUILD = join(ROOT, 'dist', 'web');

function ortDist(): string {
  // the package's main file lives in dist/ (its exports map hides package.json)
  return join(require.resolve('onnxruntime-web'), '..');
}

/** Debian's chromium, driven by playwright-core in the browser tests and `npm run bench:web`. */
export const CHROMIUM = process.env.LP_ONNX_CHROMIUM ?? '/usr/bin/chromium';

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

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript',
  '.js': 'text/javascript',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css',
  '.onnx': 'application/octet-stream',
};
const typeOf = (file: string) => TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream';

export interface ServeOptions {
  port?: number;
  host?: string;
  /** models listed on the page and served under /models/NAME */
  models?: Record<string, Uint8Array>;
}

export interface Served {
  url: string;
  close(): Promise<void>;
}

/**
 * Routes: / (the demo page), /demo.mjs, /lp-onnx/* (dist/web), /ort/* (onnxruntime-web's dist),
 * /models/index.json and /models/NAME. Cross-origin isolated, so onnxruntime-web may use threads.
 */
export async function serveDemo(options: ServeOptions = {}): Promise<Served> {
  const models = options.models ?? {};
  if (!existsSync(join(WEB_BUILD, 'lp-onnx-web.mjs'))) throw new UsageError(`the browser build is missing (${join(WEB_BUILD, 'lp-onnx-web.mjs')}): run npm run build`);
  const ort = ortDist();
  const files: [string, string][] = [
    ['/lp-onnx/', WEB_BUILD],
    ['/ort/', ort],
  ];
  const server: Server = createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const send = (status: number, type: string, body: Uint8Array | string) => {
      res.writeHead(status, { 'content-type': type, 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cache-control': 'no-store' });
      res.end(body);
    };
    if (url === '/' || url === '/index.html') return send(200, TYPES['.html'], readFileSync(join(DEMO_DIR, 'index.html')));
    if (url === '/demo.mjs') return send(200, TYPES['.mjs'], readFileSync(join(DEMO_DIR, 'demo.mjs')));
    if (url === '/models/index.json') return send(200, TYPES['.json'], JSON.stringify(Object.keys(models)));
    if (url.startsWith('/models/') && Object.hasOwn(models, basename(url))) return send(200, TYPES['.onnx'], models[basename(url)]);
    for (const [prefix, dir] of files) {
      const file = join(dir, basename(url));
      if (url.startsWith(prefix) && url.slice(prefix.length) === basename(url) && existsSync(file)) return send(200, typeOf(file), readFileSync(file));
    }
    send(404, 'text/plain', 'not found');
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new UsageError(e.code === 'EADDRINUSE' ? `port ${options.port} is in use` : `cannot listen on ${host}:${options.port}: ${e.message}`)));
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
