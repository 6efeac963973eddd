// `lp-onnx serve`: the demo page, onnxruntime-web's files, the browser build of lp-onnx/web, and
// the models named on the command line, from one loopback HTTP server. The browser tests use it too.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
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
  /** a client that has not sent its request headers within this many ms is cut off (default 10 s) */
  headersTimeoutMs?: number;
}

export interface Served {
  url: string;
  close(): Promise<void>;
}

/** The longest request path served (a longer one is answered 414). */
const MAX_PATH = 1024;
/** A file name served from a folder: no separators, no leading dot (so no '..'). */
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/** A plain file named NAME directly inside DIR, or undefined. */
function fileIn(dir: string, name: string): string | undefined {
  if (!SAFE_NAME.test(name)) return undefined;
  const file = join(dir, name);
  try {
    return statSync(file).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Routes: / (the demo page), /demo.mjs, /lp-onnx/* (dist/web), /ort/* (onnxruntime-web's dist),
 * /models/index.json and /models/NAME. Cross-origin isolated, so onnxruntime-web may use threads.
 * GET and HEAD only (405 otherwise); a path that is not valid percent-encoding is 400, one over
 * MAX_PATH 414; nothing outside those folders and files is ever served, and no request can stop
 * the server.
 */
export async function serveDemo(options: ServeOptions = {}): Promise<Served> {
  const models = options.models ?? {};
  if (!existsSync(join(WEB_BUILD, 'lp-onnx-web.mjs'))) throw new UsageError(`the browser build is missing (${join(WEB_BUILD, 'lp-onnx-web.mjs')}): run npm run build`);
  const ort = ortDist();
  const folders: [string, string][] = [
    ['/lp-onnx/', WEB_BUILD],
    ['/ort/', ort],
  ];
  const route = (path: string): { type: string; body: () => Uint8Array | string } | undefined => {
    if (path === '/' || path === '/index.html') return { type: TYPES['.html'], body: () => readFileSync(join(DEMO_DIR, 'index.html')) };
    if (path === '/demo.mjs') return { type: TYPES['.mjs'], body: () => readFileSync(join(DEMO_DIR, 'demo.mjs')) };
    if (path === '/models/index.json') return { type: TYPES['.json'], body: () => JSON.stringify(Object.keys(models)) };
    if (path.startsWith('/models/')) {
      const name = path.slice('/models/'.length);
      return Object.hasOwn(models, name) ? { type: TYPES['.onnx'], body: () => models[name] } : undefined;
    }
    for (const [prefix, dir] of folders) {
      if (!path.startsWith(prefix)) continue;
      const file = fileIn(dir, path.slice(prefix.length));
      if (file) return { type: typeOf(file), body: () => readFileSync(file) };
    }
    return undefined;
  };
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  // slow clients are looked for every second (Node's default: every 30 s)
  const server: Server = createServer({ connectionsCheckingInterval: Math.min(1000, headersTimeout) }, (req, res) => {
    const send = (status: number, type: string, body: Uint8Array | string, extra: Record<string, string> = {}) => {
      res.writeHead(status, {
        'content-type': type,
        'content-length': String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength),
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        ...extra,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n', { allow: 'GET, HEAD' });
      const raw = (req.url ?? '/').split('?')[0];
      if (raw.length > MAX_PATH) return send(414, 'text/plain', 'path too long\n');
      let path: string;
      try {
        path = decodeURIComponent(raw);
      } catch {
        return send(400, 'text/plain', 'bad request: the path is not valid percent-encoding\n');
      }
      if (!path.startsWith('/') || path.includes('\0')) return send(400, 'text/plain', 'bad request\n');
      const found = route(path);
      if (!found) return send(404, 'text/plain', 'not found\n');
      send(200, found.type, found.body());
    } catch {
      // a file that vanished or could not be read: the request fails, the server goes on
      if (!res.headersSent) send(500, 'text/plain', 'internal error\n');
      else res.destroy();
    }
  });
  server.headersTimeout = headersTimeout;
  server.requestTimeout = Math.max(server.headersTimeout, 30_000);
  server.keepAliveTimeout = 5_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new UsageError(e.code === 'EADDRINUSE' ? `port ${options.port} is in use` : `cannot listen on ${host}:${options.port}: ${e.message}`)));
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`, close };
}
