// npm run bench: each case as the fused kernel (lp-onnx/node), as its function body (stock
// onnxruntime-node) and as a standard-op anchor of the same size, side by side in one run.
// Every measurement runs in its own process, so its peak resident memory (VmHWM) is its own.
// Usage: npm run bench [-- --runs N] [-- --only TEXT]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { seededRandom } from '../src/cli/run';
import { exportDualPath } from '../src/export/dual-path';
import { GraphBuilder, type Value } from '../src/graph/builder';
import { encodeModel } from '../src/onnx/codec';

type W = (n: number, lo?: number, hi?: number) => Float32Array;
interface BenchCase {
  name: string;
  input: number[];
  lp: (b: GraphBuilder, x: Value, w: W) => Value;
  anchorName: string;
  anchor: (b: GraphBuilder, x: Value, w: W) => Value;
}

const pool = { kernel_shape: [3, 3], strides: [2, 2] };
const conv2 = { pads: [1, 1, 1, 1] };
const conv3 = { pads: [1, 1, 1, 1, 1, 1] };
const matmul = (b: GraphBuilder, x: Value, w: W) => x.matmul(b.initializer('W', w(1024 * 1024), [1024, 1024]));

export const CASES: BenchCase[] = [
  {
    name: 'LpNorm B64 K1024 M1024 shared p',
    input: [64, 1024],
    lp: (b, x, w) => b.lpNorm(x, b.initializer('W', w(1024 * 1024, 0, 1), [1024, 1024]), undefined, { p: 3 }),
    anchorName: 'MatMul [64,1024]x[1024,1024]',
    anchor: matmul,
  },
  {
    name: 'LpNorm B64 K1024 M1024 per-unit p',
    input: [64, 1024],
    lp: (b, x, w) => b.lpNorm(x, b.initializer('W', w(1024 * 1024, 0, 1), [1024, 1024]), b.initializer('P', w(1024, 1, 6), [1024])),
    anchorName: 'MatMul [64,1024]x[1024,1024]',
    anchor: matmul,
  },
  ...[0, 1].map((mean) => ({
    name: `LpPool N8 C64 112x112 k3 s2 per-channel p mean ${mean}`,
    input: [8, 64, 112, 112],
    lp: (b: GraphBuilder, x: Value, w: W) => b.lpPool(x, { ...pool, mean }, b.initializer('P', w(64, 1, 6), [64])),
    anchorName: 'AveragePool, same geometry',
    anchor: (b: GraphBuilder, x: Value) => b.averagePool(x, pool),
  })),
  {
    name: 'L1Conv2d N8 64->64 56x56 k3 pad 1',
    input: [8, 64, 56, 56],
    lp: (b, x, w) => b.l1Conv(x, b.initializer('W', w(64 * 64 * 9), [64, 64, 3, 3]), undefined, conv2),
    anchorName: 'Conv, same geometry',
    anchor: (b, x, w) => b.conv(x, b.initializer('W', w(64 * 64 * 9), [64, 64, 3, 3]), undefined, conv2),
  },
  {
    name: 'L1Conv1d N8 64->128 P4096 k1',
    input: [8, 64, 4096],
    lp: (b, x, w) => b.l1Conv(x, b.initializer('W', w(128 * 64), [128, 64, 1])),
    anchorName: 'Conv, same geometry',
    anchor: (b, x, w) => b.conv(x, b.initializer('W', w(128 * 64), [128, 64, 1])),
  },
  {
    name: 'L1Conv3d N2 16->32 32^3 k3 pad 1',
    input: [2, 16, 32, 32, 32],
    lp: (b, x, w) => b.l1Conv(x, b.initializer('W', w(32 * 16 * 27), [32, 16, 3, 3, 3]), undefined, conv3),
    anchorName: 'Conv, same geometry',
    anchor: (b, x, w) => b.conv(x, b.initializer('W', w(32 * 16 * 27), [32, 16, 3, 3, 3]), undefined, conv3),
  },
];

type Path = 'fused' | 'body' | 'anchor';

function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function measure(name: string, path: Path, runs: number): Promise<void> {
  const c = CASES.find((k) => k.name === name);
  if (!c) throw new Error(`no case ${name}`);
  const r = seededRandom(1);
  const w: W = (n, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
  const b = new GraphBuilder({ name: 'bench' });
  const x = b.input('X', 'float32', c.input);
  b.output((path === 'anchor' ? c.anchor : c.lp)(b, x, w), 'Y');
  const bytes = encodeModel(exportDualPath(b.build()).model);
  const data = w(c.input.reduce((p, q) => p * q, 1));
  // fused: lp-onnx/node; body and anchor: stock onnxruntime-node
  const ort = path === 'fused' ? require('../src/node/index') : require('onnxruntime-node');
  if (path === 'fused' && !ort.nativeStatus().available) throw new Error(ort.nativeStatus().reason);
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  const feeds = { X: new ort.Tensor('float32', data, c.input) };
  const before = peakRssMiB();
  await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  times.sort((a, b2) => a - b2);
  process.stdout.write(`${JSON.stringify({ ms: times[Math.floor(times.length / 2)], peak: peakRssMiB(), added: peakRssMiB() - before })}\n`);
}

function child(name: string, path: Path, runs: number): { ms: number; peak: number; added: number } | string {
  const r = spawnSync(process.execPath, [__filename, '--case', name, '--path', path, '--runs', String(runs)], { encoding: 'utf8' });
  if (r.status !== 0) return (r.stderr || 'failed').trim().split('\n').pop() ?? 'failed';
  return JSON.parse(r.stdout.trim().split('\n').pop() as string);
}

function main(): void {
  const args = process.argv.slice(2);
  const opt = (k: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : undefined);
  const runs = Number(opt('--runs') ?? 5) || 5;
  const name = opt('--case');
  if (name) {
    measure(name, opt('--path') as Path, runs).catch((e) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    });
    return;
  }
  const only = opt('--only');
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`lp-onnx bench: onnxruntime-node CPU, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), median of ${runs} runs after a warm-up; each path in its own process`);
  out('');
  out('| case | fused ms | body ms | speed-up | fused peak MiB (+run) | body peak MiB (+run) | memory ratio | anchor | anchor ms | fused / anchor |');
  out('|---|---|---|---|---|---|---|---|---|---|');
  for (const c of CASES) {
    if (only && !c.name.includes(only)) continue;
    const f = child(c.name, 'fused', runs);
    const bd = child(c.name, 'body', runs);
    const a = child(c.name, 'anchor', runs);
    const cell = (v: typeof f, k: 'ms' | 'peak') => (typeof v === 'string' ? `n/a (${v})` : k === 'ms' ? v.ms.toFixed(1) : `${v.peak.toFixed(0)} (+${v.added.toFixed(0)})`);
    const ratio = (p: typeof f, q: typeof f, k: 'ms' | 'added') => (typeof p === 'string' || typeof q === 'string' ? 'n/a' : `${(p[k] / Math.max(q[k], 1e-9)).toFixed(k === 'ms' ? 1 : 2)}x`);
    out(`| ${c.name} | ${cell(f, 'ms')} | ${cell(bd, 'ms')} | ${ratio(bd, f, 'ms')} | ${cell(f, 'peak')} | ${cell(bd, 'peak')} | ${typeof f === 'string' || typeof bd === 'string' ? 'n/a' : `${(f.added / Math.max(bd.added, 1)).toFixed(3)}`} | ${c.anchorName} | ${cell(a, 'ms')} | ${ratio(f, a, 'ms')} |`);
  }
}

main();
