#!/usr/bin/env node
// Part of `npm run lint`: every kernels/cuda/*.cu compiles with nvcc, warnings as errors, no launch
// on the default stream (--Werror default-stream-launch). Skipped with the reason when nvcc is not on
// PATH (CI machines have it).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const dir = path.join(root, 'kernels', 'cuda');
if (spawnSync('nvcc', ['--version']).status !== 0) {
  process.stdout.write('nvcc is not on PATH: the CUDA compile check is skipped\n');
  process.exit(0);
}
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lp-onnx-nvcc-'));
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cu'));
let failed = false;
for (const f of files) {
  // sm_75 (the oldest target: no cp.async) and sm_90 (the H200: cp.async and its inline PTX)
  const args = ['-std=c++17', '-O3', '-c', path.join(dir, f), '-o', path.join(out, `${f}.o`), '-gencode', 'arch=compute_75,code=sm_75', '-gencode', 'arch=compute_90,code=sm_90', '-Werror', 'all-warnings', '-Werror', 'default-stream-launch', '-Xcompiler', '-fPIC,-Wall,-Wextra,-Werror'];
  const r = spawnSync('nvcc', args, { encoding: 'utf8' });
  if (r.status !== 0) {
    failed = true;
    process.stderr.write(`nvcc: ${f} does not compile:\n${r.stdout}${r.stderr}\n`);
  }
}
fs.rmSync(out, { recursive: true, force: true });
if (failed) process.exit(1);
process.stdout.write(`nvcc: ${files.length} CUDA files compile (sm_75 and sm_90, warnings as errors)\n`);
