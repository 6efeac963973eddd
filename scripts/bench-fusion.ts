// npm run bench:fusion: plain torch.onnx exports of Lp layers at realistic sizes (written by
// scripts/gen-torch-bench.py with Debian's python3-torch) on stock onnxruntime-node, against the
// same models after `lp-onnx export` (fused) on lp-onnx/node: time and peak memory, side by side in
// one run. Each measurement runs in its own process, so its peak resident memory is its own.
// Usage: npm run bench:fusion [-- --runs N] [-- --only TEXT] [-- --dir DIR (models already written)]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportDualPath } from '../src/export/dual-path';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import { parseNpy } from '../src/runtime/npy';
import { inChild, type Measured, measureSession } from './bench-process';

type Engine = 'plain' | 'fused';

async function measure(dir: string, engine: Engine, runs: number): Promise<void> {
  const x = parseNpy(new Uint8Array(readFileSync(join(dir, 'input.npy'))), 'input.npy');
  // plain: stock onnxruntime-node; fused: lp-onnx/node (the fused kernels)
  const ort = engine === 'fused' ? require('../src/node/index') : require('onnxruntime-node');
  if (engine === 'fused' && !ort.nativeStatus().available) throw new Error(ort.nativeStatus().reason);
  const bytes = readFileSync(join(dir, engine === 'fused' ? 'fused.onnx' : 'model.onnx'));
  const create = () => ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  await measureSession(create, { x: new ort.Tensor('float32', x.data, x.dims) }, runs);
}

function child(dir: string, engine: Engine, runs: number): Measured | string {
  return inChild(__filename, ['--measure', dir, '--engine', engine, '--runs', String(runs)]);
}

function main(): void {
  const args = process.argv.slice(2);
  const opt = (k: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : undefined);
  const runs = Number(opt('--runs') ?? 5) || 5;
  const measureDir = opt('--measure');
  if (measureDir) {
    measure(measureDir, opt('--engine') as Engine, runs).catch((e) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    });
    return;
  }
  let root = opt('--dir');
  if (!root) {
    root = mkdtempSync(join(tmpdir(), 'lp-onnx-bench-fusion-'));
    const gen = join(__dirname, '..', '..', 'scripts', 'gen-torch-bench.py');
    const r = spawnSync('/usr/bin/python3', [gen, root], { encoding: 'utf8' });
    if (r.status !== 0) {
      process.stderr.write(`bench:fusion needs Debian's python3-torch to write the models (apt-get install python3-torch):\n${(r.stderr || '').trim().split('\n').pop()}\n`);
      process.exit(1);
    }
  }
  const only = opt('--only');
  process.stdout.write(`lp-onnx bench:fusion on ${cpus()[0]?.model ?? 'this CPU'} (${cpus().length} cores), median of ${runs} runs, models in ${root}\n`);
  process.stdout.write('plain: the torch.onnx export on stock onnxruntime-node; fused: after lp-onnx export, on lp-onnx/node\n\n');
  const rows: string[][] = [['model', 'fused layers', 'export s', 'plain ms', 'fused ms', 'speed-up', 'plain peak MiB', 'fused peak MiB', 'memory ratio']];
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name);
    if (!existsSync(join(dir, 'model.onnx'))) continue;
    const title = existsSync(join(dir, 'name.txt')) ? readFileSync(join(dir, 'name.txt'), 'utf8') : name;
    if (only && !title.includes(only)) continue;
    const t0 = performance.now();
    const { model, report } = exportDualPath(decodeModel(new Uint8Array(readFileSync(join(dir, 'model.onnx')))), { what: name });
    const exportS = (performance.now() - t0) / 1000;
    writeFileSync(join(dir, 'fused.onnx'), encodeModel(model));
    const kinds = new Map<string, number>();
    for (const f of report.fusion.fused) kinds.set(f.op, (kinds.get(f.op) ?? 0) + 1);
    const plain = child(dir, 'plain', runs);
    const fused = child(dir, 'fused', runs);
    const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
    if (typeof plain === 'string' || typeof fused === 'string') {
      rows.push([title, '', '', typeof plain === 'string' ? plain : fmt(plain.ms), typeof fused === 'string' ? fused : fmt(fused.ms), '', '', '', '']);
      continue;
    }
    rows.push([
      title,
      [...kinds].map(([k, v]) => `${k} x${v}`).join(', '),
      exportS.toFixed(1),
      fmt(plain.ms),
      fmt(fused.ms),
      `${(plain.ms / fused.ms).toFixed(1)}x`,
      fmt(plain.peak),
      fmt(fused.peak),
      `${(plain.peak / fused.peak).toFixed(1)}x`,
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i])).join('  ')}\n`);
}

main();
