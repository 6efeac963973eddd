// One stock runtime of the portability matrix (scripts/portability.ts), in a process of its own:
// loads onnxruntime-node or onnxruntime-web (wasm) from a folder outside the lock file, runs every
// case's dual-path and lowered model, and prints one JSON line per model: ok, wrong (with the worst
// error as a fraction of the function bodies' tolerance, ops.md: 1e-5 + 1e-3 |ref|) or error.
// Usage: node dist/scripts/portability-run.js PREFIX PACKAGE CASES_DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNpy } from '../src/runtime/npy';

interface OrtLike {
  Tensor: new (type: string, data: Float32Array, dims: readonly number[]) => unknown;
  InferenceSession: { create(model: Uint8Array, options?: object): Promise<{ run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown; dims: readonly number[] }>>; release?(): Promise<void> }> };
  env: { wasm?: { numThreads?: number }; versions?: Record<string, string> };
}

export interface PortabilityResult {
  case: string;
  file: 'model.onnx' | 'lowered.onnx';
  /** beyond: refused by a runtime that does not have the model's opset (scripts/portability.ts) */
  status: 'ok' | 'wrong' | 'error' | 'beyond';
  detail?: string;
}

/** the worst |got - want| / (1e-5 + 1e-3 |want|); Infinity where shapes or NaN positions differ */
export function bodyError(got: ArrayLike<number>, gotDims: readonly number[], want: ArrayLike<number>, wantDims: readonly number[], tol = { atol: 1e-5, rtol: 1e-3 }): number {
  if (gotDims.length !== wantDims.length || gotDims.some((d, i) => d !== wantDims[i]) || got.length !== want.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const g = Number(got[i]);
    const w = Number(want[i]);
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (Number.isNaN(w) !== Number.isNaN(g)) return Number.POSITIVE_INFINITY;
      continue;
    }
    if (g === w) continue;
    // an infinity on one side only is beyond any tolerance (inf / inf would be NaN)
    const r = Number.isFinite(w) && Number.isFinite(g) ? Math.abs(g - w) / (tol.atol + tol.rtol * Math.abs(w)) : Number.POSITIVE_INFINITY;
    if (!(r <= worst)) worst = r;
  }
  return worst;
}

/** a message's first line, its middle left out when long (onnxruntime's start with a source path and a C++ signature) */
const firstLine = (e: unknown) => {
  const line = (e instanceof Error ? e.message : typeof e === 'object' ? JSON.stringify(e) : String(e)).split('\n')[0];
  return line.length > 240 ? `${line.slice(0, 100)} ... ${line.slice(-130)}` : line;
};

async function main(): Promise<void> {
  const [prefix, pkg, cases] = process.argv.slice(2);
  if (!prefix || !pkg || !cases) throw new Error('usage: portability-run PREFIX PACKAGE CASES_DIR');
  // resolved from the prefix as a user's require is, through the package's own exports (1.17's main is wrong)
  const ort = require(require.resolve(pkg, { paths: [prefix] })) as OrtLike;
  const web = pkg === 'onnxruntime-web';
  if (web && ort.env.wasm) ort.env.wasm.numThreads = 1;
  const options = { executionProviders: [web ? 'wasm' : 'cpu'], logSeverityLevel: 4 };
  for (const name of readdirSync(cases).sort()) {
    const dir = join(cases, name);
    const info = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as { input: string; output: string; wrongBodies: boolean; tol?: { atol: number; rtol: number } };
    if (info.wrongBodies) continue;
    const x = parseNpy(new Uint8Array(readFileSync(join(dir, 'input.npy'))), 'input.npy');
    const want = parseNpy(new Uint8Array(readFileSync(join(dir, 'reference.npy'))), 'reference.npy');
    for (const file of ['model.onnx', 'lowered.onnx'] as const) {
      const result: PortabilityResult = { case: name, file, status: 'ok' };
      try {
        const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(join(dir, file))), options);
        const out = await session.run({ [info.input]: new ort.Tensor('float32', x.data as Float32Array, x.dims) });
        const y = out[info.output];
        if (!y) throw new Error(`no output '${info.output}'`);
        const err = bodyError(y.data as Float32Array, y.dims, want.data as Float64Array, want.dims, info.tol);
        if (!(err <= 1)) Object.assign(result, { status: 'wrong', detail: `${err === Number.POSITIVE_INFINITY ? 'shape or NaN' : err.toFixed(1)} x the tolerance` });
        await session.release?.();
      } catch (e) {
        Object.assign(result, { status: 'error', detail: firstLine(e) });
      }
      process.stdout.write(`${JSON.stringify(result)}\n`);
    }
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(`portability-run: ${firstLine(e)}`);
      process.exit(2);
    },
  );
}
