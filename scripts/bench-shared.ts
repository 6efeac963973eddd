// npm run bench:shared — what one body per op costs (ops.md, "Portable form"). Every model of the
// portable set (scripts/portable-cases.ts) whose op needed a shared body (nodes that read their
// attributes by reference) runs on stock onnxruntime-node (CPU) twice, interleaved in one process:
// as exported (one shared body per op) and with each node given its own specialised body, chosen by
// `overload` (only onnxruntime 1.27 and later select it: the form the exporter no longer writes).
// The ratio shared / specialised of the median run time is the figure; no lp-onnx kernels load.
// Usage: npm run bench:shared [-- --only TEXT]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LP_DOMAIN } from '../ops/types';
import { withNodeBodies } from '../src/export/lower';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import type { FunctionProto, ModelProto } from '../src/onnx/proto';
import { parseNpy } from '../src/runtime/npy';
import { inChild, measureInterleaved, pairedRatio, type Spread } from './bench-process';
import { writePortableCases } from './portable-cases';

/** Whether an lp function reads attributes by reference (a shared body). */
const isShared = (f: FunctionProto) => (f.attribute ?? []).length > 0;

/** The model with every lp node given its own specialised body (a per-node overload), as `lower` does. */
function specialised(model: ModelProto): ModelProto {
  const m = structuredClone(model);
  m.functions = (m.functions ?? []).filter((f) => f.domain !== LP_DOMAIN);
  const out = withNodeBodies(m, 'bench-shared');
  out.ir_version = 10; // overloads
  return out;
}

async function child(dir: string): Promise<void> {
  const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
  const info = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as { input: string };
  const x = parseNpy(new Uint8Array(readFileSync(join(dir, 'input.npy'))), 'input.npy');
  const shared = decodeModel(new Uint8Array(readFileSync(join(dir, 'model.onnx'))));
  const options = { executionProviders: ['cpu'], intraOpNumThreads: 2 };
  const sessions = {
    shared: await ort.InferenceSession.create(encodeModel(shared), options),
    specialised: await ort.InferenceSession.create(encodeModel(specialised(shared)), options),
  };
  const feeds = { [info.input]: new ort.Tensor('float32', x.data as Float32Array, x.dims) };
  await measureInterleaved(sessions, feeds, { budgetMs: 4000, minRounds: 9, maxRounds: 61 });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1]);
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'lp-onnx-bench-shared-'));
  try {
    writePortableCases(dir);
    const names = readdirSync(dir)
      .sort()
      .filter((n) => (!only || n.includes(only)) && (decodeModel(new Uint8Array(readFileSync(join(dir, n, 'model.onnx')))).functions ?? []).some(isShared));
    console.log(`bench:shared: ${names.length} models with a shared body, stock onnxruntime-node ${require('onnxruntime-node/package.json').version} (CPU, 2 threads)`);
    console.log('| model | shared ms | specialised ms | shared / specialised |\n|---|---|---|---|');
    for (const name of names) {
      const m = inChild(__filename, ['--child', join(dir, name)]);
      if (typeof m === 'string') {
        console.log(`| ${name} | failed: ${m} | | |`);
        continue;
      }
      const r = m as unknown as { shared: Spread; specialised: Spread; times: { shared: number[]; specialised: number[] } };
      const ratio = pairedRatio(r.times.shared, r.times.specialised);
      console.log(`| ${name} | ${r.shared.ms.toFixed(3)} | ${r.specialised.ms.toFixed(3)} | ${ratio.ms.toFixed(2)} (${ratio.lo.toFixed(2)}-${ratio.hi.toFixed(2)}, ${ratio.rounds} rounds) |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`bench:shared: ${(e as Error).message}`);
  process.exit(1);
});
