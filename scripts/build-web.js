#!/usr/bin/env node
// The browser build of lp-onnx/web: one ES module, dist/web/lp-onnx-web.mjs, with
// onnxruntime-web left as an import of 'onnxruntime-web/webgpu' (an import map or the page's
// bundler resolves it). Node uses the CommonJS build under dist/src instead.
'use strict';
const { join } = require('node:path');

const root = join(__dirname, '..');
let esbuild;
try {
  esbuild = require('esbuild');
} catch {
  console.warn('lp-onnx: esbuild is not installed; the browser build (dist/web) is skipped');
  process.exit(0);
}
esbuild
  .build({
    entryPoints: [join(root, 'src', 'runtime', 'web', 'index.ts')],
    outfile: join(root, 'dist', 'web', 'lp-onnx-web.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    external: ['onnxruntime-web/webgpu'],
    logLevel: 'warning',
  })
  .catch((e) => {
    console.error(`lp-onnx: the browser build failed: ${e.message}`);
    process.exit(1);
  });
