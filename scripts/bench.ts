// Benchmarks of the function-body path on onnxruntime-node (CPU), with standard-op anchors.
// Each case runs in its own process so its peak resident memory (VmHWM) is its own.
// Usage: npm run bench [-- --runs N] [-- --only NAME]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { seededRandom } from '../src/cli/run';
import { exportDualPath } from '../src/export/dual-path';
import { GraphBuilder, type Value } from '../src/graph/builder';
import { encodeModel } from '../src/onnx/codec';
import { makeTensor } from '../src/onnx/tensor';

interface BenchCase {
  name: string;
  input: number[];
  build: (b: GraphBuilder, x: Value, w: (n: number, lo?: number, hi?: number) => Float32Array) => Value;
}

const B = 64;
const K = 1024;
const M = 1024;
const pool = { kernel_shape: [3, 3], strides: [2, 2] };
const conv = { pads: [1, 1, 1, 1] };

export const CASES: BenchCase[] = [
  { name: 'LpNorm B64 K1024 M1024 shared p', input: [B, K], build: (b, x, w) => b.lpNorm(x, b.initializer('W', w(M * K, 0, 1), [M, K]), undefined, { p: 3 }) },
  {
    name: 'LpNorm B64 K1024 M1024 per-unit p',
    input: [B, K],
    build: (b, x, w) => b.lpNorm(x, b.initializer('W', w(M * K, 0, 1), [M, K]), b.initializer('P', w(M, 1, 6), [M])),
  },
  { name: 'anchor: MatMul [64,1024]x[1024,1024]', input: [B, K], build: (b, x, w) => x.matmul(b.initializer('W', w(M * K), [K, M])) },
  {
    name: 'LpPool N8 C64 56x56 k3 s2 per-channel p',
    input: [8, 64, 56, 56],
    build: (b, x, w) => b.lpPool(x, pool, b.initializer('P', w(64, 1, 6), [64])),
  },
  { name: 'anchor: AveragePool N8 C64 56x56 k3 s2', input: [8, 64, 56, 56], build: (b, x) => b.averagePool(x, pool) },
  {
    name: 'L1Conv N8 64->64 56x56 k3 pad1',
    input: [8, 64, 56, 56],
    build: (b, x, w) => b.l1Conv(x, b.initializer('W', w(64 * 64 * 9), [64, 64, 3, 3]), undefined, conv),
  },
  {
    name: 'anchor: Conv N8 64->64 56x56 k3 pad1',
    input: [8, 64, 56, 56],
    build: (b, x, w) => b.conv(x, b.initializer('W', w(64 * 64 * 9), [64, 64, 3, 3]), undefined, conv),
  },
];

function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function runCase(name: string, runs: number): Promise<void> {
  const c = CASES.find((k) => k.name === name);
  if (!c) throw new Error(`no case ${name}`);
  const r = seededRandom(1);
  const w = (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
  const b = new GraphBuilder({ name: 'bench' });
  const x = b.input('X', 'float32', c.input);
  b.output(c.build(b, x, w), 'Y');
  const bytes = encodeModel(exportDualPath(b.build()).model);
  const n = c.input.reduce((p, q) => p * q, 1);
  const feeds = { X: makeTensor('float32', c.input, w(n)) };
  const ort = require('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  const input = { X: new ort.Tensor('float32', feeds.X.data, c.input) };
  const before = peakRssMiB();
  await session.run(input); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(input);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  process.stdout.write(`${JSON.stringify({ name, medianMs: times[Math.floor(times.length / 2)], runs, peakMiB: peakRssMiB(), beforeRunMiB: before })}\n`);
}

function main(): void {
  const args = process.argv.slice(2);
  const child = args.indexOf('--case');
  const runs = Number(args[args.indexOf('--runs') + 1] ?? 5) || 5;
  if (child >= 0) {
    runCase(args[child + 1], runs).catch((e) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    });
    return;
  }
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  process.stdout.write(`function bodies on onnxruntime-node CPU (${require('node:os').cpus().length} cores), median of ${runs} runs after a warm-up\n`);
  process.stdout.write(`${'case'.padEnd(44)} ${'median ms'.padStart(10)} ${'peak RSS MiB'.padStart(13)} ${'run adds MiB'.padStart(13)}\n`);
  for (const c of CASES) {
    if (only && !c.name.includes(only)) continue;
    const r = spawnSync(process.execPath, [__filename, '--case', c.name, '--runs', String(runs)], { encoding: 'utf8' });
    if (r.status !== 0) {
      process.stdout.write(`${c.name.padEnd(44)} failed: ${r.stderr.trim()}\n`);
      continue;
    }
    const j = JSON.parse(r.stdout.trim().split('\n').pop() as string);
    process.stdout.write(
      `${c.name.padEnd(44)} ${j.medianMs.toFixed(1).padStart(10)} ${j.peakMiB.toFixed(0).padStart(13)} ${(j.peakMiB - j.beforeRunMiB).toFixed(0).padStart(13)}\n`,
    );
  }
}

main();
