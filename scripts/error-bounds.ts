// The worst errors of the CPU kernels' exp2 and log2 for a sum's terms over every float of their
// domains (scripts/error-bounds/error_bounds.cc, built here with g++ against the kernels' headers),
// and the error they put into a root of degree p. `npm run error-bounds` runs it exhaustively (about a
// minute on 2 cores); `--step N` takes every N-th float (test/error-bounds.test.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/version';

const ROOT = packageRoot();

export interface Worst {
  error: number;
  at: number;
}
export type Bounds = Record<string, Worst | number | boolean> & { step: number; avx512: boolean };

/** onnxruntime's C API headers, as scripts/build-native.js finds them (the kernels' headers include them). */
export function ortInclude(): string | undefined {
  const dir = process.env.LP_ONNX_ORT_INCLUDE || join(ROOT, 'build', 'ort-headers', 'usr', 'include', 'onnxruntime');
  return existsSync(join(dir, 'onnxruntime_cxx_api.h')) ? dir : undefined;
}

/** Builds the measuring program and runs it on every step-th float. */
export function errorBounds(step: number): Bounds {
  const include = ortInclude();
  if (!include) throw new Error('onnxruntime C API headers not found: run `npm run build:native` first or set LP_ONNX_ORT_INCLUDE');
  const out = join(ROOT, 'build', 'error-bounds');
  mkdirSync(out, { recursive: true });
  const exe = join(out, 'error_bounds');
  const src = join(ROOT, 'scripts', 'error-bounds');
  execFileSync('g++', ['-O2', '-std=c++17', '-Wall', '-Wextra', '-Werror', '-pthread', '-I', join(ROOT, 'kernels', 'cpu'), '-I', src, '-I', include, join(src, 'error_bounds.cc'), '-o', exe], { stdio: ['ignore', 'inherit', 'inherit'] });
  return JSON.parse(execFileSync(exe, [String(step)], { encoding: 'utf8' })) as Bounds;
}

/** The worst relative error of a term of 2^(p log2 r) (exp2 of `degree`) and of the root of degree p of their sum. */
export function rootError(b: Bounds, degree: 3 | 4, p: number): { term: number; root: number } {
  const w = (k: string) => Math.max(...Object.entries(b).filter(([n]) => n.startsWith(k)).map(([, v]) => (v as Worst).error));
  const e = w(`exp2_degree${degree}`);
  const d = w('log2');
  // a term 2^(p (l + d)) (1 + e): relative p d ln 2 + e; the root of their sum: d ln 2 + e / p
  return { term: p * d * Math.LN2 + e, root: d * Math.LN2 + e / p };
}

if (require.main === module) {
  const i = process.argv.indexOf('--step');
  const step = i > 0 ? Number(process.argv[i + 1]) : 1;
  const t0 = Date.now();
  const b = errorBounds(step);
  console.log(JSON.stringify(b, null, 2));
  console.log(`${step === 1 ? 'every float' : `every ${step}-th float`} of each domain, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const [degree, p] of [[4, 1], [4, 2], [3, 2], [3, 3]] as const) {
    const r = rootError(b, degree, p);
    console.log(`exp2 of degree ${degree}, p = ${p}: a term within ${r.term.toExponential(2)}, the root within ${r.root.toExponential(2)} (the kernels' rtol: 1e-4)`);
  }
}
