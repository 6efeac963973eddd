// npm run bench: each case as the fused kernel (lp-onnx/node), as its function body (stock
// onnxruntime-node) and as a standard-op anchor of the same size, side by side in one run.
// Every measurement runs in its own process, so its peak resident memory (VmHWM) is its own.
// Usage: npm run bench [-- --runs N] [-- --only TEXT]
import { cpus } from 'node:os';
import { type BenchCase, benchCases, benchModel, NATIVE_SIZES, seededWeights } from './bench-cases';
import { inChild, type Measured, measureSession } from './bench-process';

export const CASES: BenchCase[] = benchCases(NATIVE_SIZES);

type Path = 'fused' | 'body' | 'anchor';

async function measure(name: string, path: Path, runs: number): Promise<void> {
  const c = CASES.find((k) => k.name === name);
  if (!c) throw new Error(`no case ${name}`);
  const w = seededWeights(1);
  const bytes = benchModel(c, path === 'anchor' ? 'anchor' : 'lp', w);
  const data = w(c.input.reduce((p, q) => p * q, 1));
  // fused: lp-onnx/node; body and anchor: stock onnxruntime-node
  const ort = path === 'fused' ? require('../src/node/index') : require('onnxruntime-node');
  if (path === 'fused' && !ort.nativeStatus().available) throw new Error(ort.nativeStatus().reason);
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  await measureSession(async () => session, { X: new ort.Tensor('float32', data, c.input) }, runs);
}

function child(name: string, path: Path, runs: number): Measured | string {
  return inChild(__filename, ['--case', name, '--path', path, '--runs', String(runs)]);
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
