#!/usr/bin/env node
// What ptxas says of every CUDA kernel for one architecture (default sm_90, the H200's): registers,
// static shared memory, stack and spills, and the occupancy that follows for 256-thread blocks (every
// kernel here launches 256 threads) on an SM of 64 K registers, 228 KiB of shared memory, 2,048
// threads and 32 blocks. A compile-time figure, not a GPU measurement. Dynamic shared memory (the
// narrow L1Conv's filters, LpPool's tiled region) is chosen at launch and not counted here.
// Usage: node scripts/gpu/ptxas-report.js [sm_90]
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const arch = (process.argv[2] || 'sm_90').replace(/^sm_/, '');
const dir = path.join(__dirname, '..', '..', 'kernels', 'cuda');
const threads = 256;
const rows = [];
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.cu')).sort()) {
  const r = spawnSync('nvcc', ['-std=c++17', '-O3', '-c', path.join(dir, file), '-o', '/dev/null', '-gencode', `arch=compute_${arch},code=sm_${arch}`, '-Xptxas', '-v'], { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`${file}: nvcc failed:\n${r.stderr}`);
    process.exit(1);
  }
  let current;
  for (const line of r.stderr.split('\n')) {
    const entry = /Compiling entry function '([^']+)'/.exec(line);
    if (entry) {
      const demangled = spawnSync('c++filt', [entry[1]], { encoding: 'utf8' }).stdout.trim();
      current = { kernel: demangled.replace(/lp::Cuda::\(anonymous namespace\)::/g, '').replace(/lp::Cuda::/g, '').replace(/\(.*$/, ''), stack: 0, spills: 0, regs: 0, smem: 0 };
      rows.push(current);
      continue;
    }
    if (!current) continue;
    const frame = /(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads/.exec(line);
    if (frame) {
      current.stack = Number(frame[1]);
      current.spills = Number(frame[2]) + Number(frame[3]);
    }
    const used = /Used (\d+) registers.*?(?:, (\d+) bytes smem)?/.exec(line);
    if (used) {
      current.regs = Number(used[1]);
      const smem = /(\d+) bytes smem/.exec(line);
      current.smem = smem ? Number(smem[1]) : 0;
    }
  }
}
const smPerBlock = (smem) => smem + 1024; // the runtime reserves 1 KiB per block
console.log(`ptxas -v, sm_${arch}, 256-thread blocks (compile-time figures, not a GPU run)`);
console.log('| kernel | registers | static shared (B) | stack (B) | spills (B) | blocks / SM | occupancy |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  const byRegs = Math.floor(65536 / (Math.ceil(r.regs / 8) * 8 * threads));
  const bySmem = Math.floor((228 * 1024) / smPerBlock(r.smem));
  const blocks = Math.min(byRegs, bySmem, 2048 / threads, 32);
  console.log(`| ${r.kernel} | ${r.regs} | ${r.smem} | ${r.stack} | ${r.spills} | ${blocks} | ${Math.round((100 * blocks * threads) / 2048)} % |`);
}
