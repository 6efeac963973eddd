// npm run bench: each case as the fused kernel (lp-onnx/node), as its function body (stock
// onnxruntime-node) and as a standard-op anchor of the same size, with PyTorch eager beside them.
// - time: the three sessions of a case in one process, interleaved (fused, body, anchor, fused, ...)
//   for as many rounds as fit a few seconds, each session's turn one untimed run and the median of
//   three (scripts/bench-process.ts); the median and the 10th-90th percentile spread over rounds;
// - alone: each path in its own process, so that its peak resident memory (VmHWM) is its own, and
//   (fused, anchor) the median of 15 runs or more (as many as fit 1 s, after 0.25 s of warm-up) with
//   nothing else in the process;
// - PyTorch: the same layer in current PyTorch (2.13 from the wheels on disk, in a venv made here
//   if missing: build/venv-torch), eager and torch.compile, 2 threads, each the fastest of the
//   layer's plain-PyTorch forms (scripts/bench-torch.py);
// - bound: each case's work against the measured peaks of the instructions the kernels use
//   (scripts/bench-bound.ts), and the fraction of it that the fused kernel and the anchor reach.
// Ratios, measured side by side, are the figure of merit. LP_ONNX_CPU_ISA=avx2 (or plain) measures
// the kernels' other instruction-set paths.
// - float16: the fused kernels on each case's float16 model (export --float16 --float16-io) against
//   the float32 one, and the float16 function bodies on stock onnxruntime-node, interleaved; each
//   fused path's peak memory alone.
// Usage: npm run bench [-- --only TEXT] [-- --rounds MAX] [-- --no-memory] [-- --no-torch] [-- --no-float16] [-- --json FILE]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { measurePeaks, type NativePeaks } from '../src/node/binding';
import { floatToHalf } from '../src/onnx/tensor';
import { boundOf, caseWork, peaksLine } from './bench-bound';
import { type BenchCase, benchCases, benchModel, NATIVE_SIZES, seededWeights } from './bench-cases';
import { inChild, type Measured, measureInterleaved, measureSession, pairedRatio, type Spread } from './bench-process';

export const CASES: BenchCase[] = benchCases(NATIVE_SIZES);
/** runs of a path alone in its own process (after warm-up runs), and more while they take less than ALONE_MS */
const ALONE_RUNS = 15;
const ALONE_MS = 1000;

type Path = 'fused' | 'body' | 'anchor' | 'fused16' | 'body16';
const PATHS: Path[] = ['fused', 'body', 'anchor'];
/** the float16 table: the fused kernels on a float16 model against the float32 one, and the float16 bodies */
const PATHS16: Path[] = ['fused16', 'fused', 'body16'];
const TORCH_VENV = join(__dirname, '..', '..', 'build', 'venv-torch');
const TORCH_SCRIPT = join(__dirname, '..', '..', 'scripts', 'bench-torch.py');

function caseNamed(name: string): BenchCase {
  const c = CASES.find((k) => k.name === name);
  if (!c) throw new Error(`no case ${name}`);
  return c;
}

/** A path's runtime (fused: lp-onnx/node; body and anchor: stock onnxruntime-node) and its model. */
function pathOf(c: BenchCase, path: Path) {
  const fused = path === 'fused' || path === 'fused16';
  const half = path === 'fused16' || path === 'body16';
  const ort = fused ? require('../src/node/index') : require('onnxruntime-node');
  if (fused && !ort.nativeStatus().available) throw new Error(ort.nativeStatus().reason);
  const bytes = benchModel(c, path === 'anchor' ? 'anchor' : 'lp', seededWeights(1), half);
  const x = seededWeights(2)(c.input.reduce((p: number, q: number) => p * q, 1));
  const bits = new Uint16Array(half ? x.length : 0);
  for (let i = 0; i < bits.length; i++) bits[i] = floatToHalf(x[i]);
  const feeds = { X: half ? new ort.Tensor('float16', bits, c.input) : new ort.Tensor('float32', x, c.input) };
  return { create: () => ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] }), feeds };
}

async function child(args: string[]): Promise<void> {
  const opt = (k: string) => args[args.indexOf(k) + 1];
  const c = caseNamed(opt('--case'));
  if (args.includes('--memory')) {
    const p = pathOf(c, opt('--path') as Path);
    await measureSession(p.create, p.feeds, Number(opt('--runs')) || 1, Number(opt('--min-ms')) || 0);
    return;
  }
  const names = args.includes('--float16') ? PATHS16 : PATHS;
  const paths = names.map((p) => pathOf(c, p));
  const sessions = Object.fromEntries(await Promise.all(names.map(async (p, i) => [p, await paths[i].create()])));
  const feedsOf = Object.fromEntries(names.map((p, i) => [p, paths[i].feeds]));
  await measureInterleaved(sessions, paths[0].feeds, { budgetMs: 6000, minRounds: 7, maxRounds: Number(opt('--rounds')) || 41 }, feedsOf);
}

/** One PyTorch measurement: the fastest form's spread, or why there is none. */
type TorchResult = (Spread & { form: string; forms: Record<string, number> }) | { error: string };
interface TorchPeer {
  torch: string;
  eager: TorchResult;
  compiled: TorchResult;
}

let torchPython: string | undefined;
/** The venv's python with current PyTorch (made once from the wheels on disk), or why there is none. */
function torchVenv(): string {
  if (torchPython) return torchPython;
  const r = spawnSync('bash', [join(__dirname, '..', '..', 'scripts', 'python-venv.sh'), TORCH_VENV, 'torch', 'numpy'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`no PyTorch venv: ${(r.stdout || r.stderr).trim()}`);
  torchPython = join(TORCH_VENV, 'bin', 'python');
  return torchPython;
}

function torchPeer(c: BenchCase, rounds: number): TorchPeer | string {
  let python: string;
  try {
    python = torchVenv();
  } catch (e) {
    return (e as Error).message;
  }
  const r = spawnSync(python, [TORCH_SCRIPT, JSON.stringify(c.torch), String(rounds)], { encoding: 'utf8' });
  if (r.status !== 0) return (r.stderr || 'failed').trim().split('\n').pop() ?? 'failed';
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as TorchPeer;
}

/** The instruction-set path the kernels take: LP_ONNX_CPU_ISA, else the best of the CPU's flags. */
function bestIsa(): string {
  const flags = new Set((/^flags\s*:(.*)$/m.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? '').trim().split(/\s+/));
  return ['avx512f', 'avx512dq', 'avx512bw', 'avx512vl'].every((f) => flags.has(f)) ? 'avx512' : flags.has('avx2') && flags.has('fma') ? 'avx2' : 'plain';
}

function isaLine(): string {
  const best = bestIsa();
  const asked = process.env.LP_ONNX_CPU_ISA;
  return asked && asked !== 'auto' ? `${asked} (LP_ONNX_CPU_ISA; the CPU's best is ${best})` : `${best} (the CPU's best; LP_ONNX_CPU_ISA=avx2 or plain for the others)`;
}

/** The float16 rows: fused float16 / fused float32 (target: at most 1.2x where compute-bound), the float16 bodies, peak memory. */
function float16Table(args: string[], only: string | undefined, rounds: string | undefined, json: Record<string, unknown>, out: (s: string) => void): void {
  const ms = (s: Spread) => `${s.ms.toFixed(1)} (${s.lo.toFixed(1)}-${s.hi.toFixed(1)})`;
  const peak = (m: Measured | string) => (typeof m === 'string' ? `n/a (${m})` : `${m.peak.toFixed(0)} (+${m.added.toFixed(0)})`);
  out('');
  out('float16: each case as `export --float16 --float16-io` writes it (X, W, Y float16, P float), fused (lp-onnx/node) against the float32 model fused, and its float16 function bodies (stock onnxruntime-node), interleaved as above; fused16 / fused32: the median (10th-90th) of the ratio within each round; peak memory of each fused path alone');
  out('');
  out('| case | fused float16 ms | fused float32 ms | fused16 / fused32 | float16 bodies ms | bodies16 / fused16 | fused float16 peak MiB (+run) | fused float32 peak MiB (+run) |');
  out('|---|---|---|---|---|---|---|---|');
  for (const c of CASES) {
    if (only && !c.name.includes(only)) continue;
    const r = spawnSync(process.execPath, ['--expose-gc', __filename, '--case', c.name, '--float16', ...(rounds ? ['--rounds', rounds] : [])], { encoding: 'utf8' });
    if (r.status !== 0) {
      out(`| ${c.name} | n/a (${(r.stderr || 'failed').trim().split('\n').pop()}) | | | | | | |`);
      continue;
    }
    const t = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<Path, Spread> & { times: Record<Path, number[]> };
    const mem = (p: Path): Measured | string => (args.includes('--no-memory') ? 'not asked' : inChild(__filename, ['--case', c.name, '--path', p, '--memory', '--runs', '3']));
    const [m16, m32] = [mem('fused16'), mem('fused')];
    const paired = pairedRatio(t.times.fused16, t.times.fused);
    const entry = (json[c.name] ?? (json[c.name] = {})) as Record<string, unknown>;
    entry.float16 = { fused16: t.fused16, fused: t.fused, body16: t.body16, fused16OverFused: paired, memory: { fused16: m16, fused: m32 } };
    out(
      `| ${c.name} | ${ms(t.fused16)} | ${ms(t.fused)} | ${paired.ms.toFixed(2)}x (${paired.lo.toFixed(2)}-${paired.hi.toFixed(2)}) | ${ms(t.body16)} | ${(t.body16.ms / t.fused16.ms).toFixed(2)}x | ${peak(m16)} | ${peak(m32)} |`,
    );
  }
}

function main(): void {
  const args = process.argv.slice(2);
  if (args.includes('--case')) {
    child(args).catch((e) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    });
    return;
  }
  const opt = (k: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : undefined);
  const only = opt('--only');
  const rounds = opt('--rounds');
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const ms = (s: Spread) => `${s.ms.toFixed(1)} (${s.lo.toFixed(1)}-${s.hi.toFixed(1)})`;
  const ratio = (a: number, b: number) => `${(a / Math.max(b, 1e-9)).toFixed(2)}x`;
  const threads = cpus().length;
  out(`lp-onnx bench: onnxruntime-node CPU, ${threads} cores (${cpus()[0]?.model ?? '?'}); kernels' instruction set: ${isaLine()}`);
  out('time: median (10th-90th percentile) ms of fused, body and anchor interleaved in one process per case, in blocks (one untimed run, a garbage collection, then the median of 3); fused / anchor: the median (10th-90th) of the ratio within each round; alone: each path in its own process, the median (and the best) of 15 runs or as many as fit 1 s, after 0.25 s of warm-up, and its peak memory; PyTorch (current, from the wheels) eager and torch.compile on 2 threads, the fastest plain form of each layer, in a process of its own; PyTorch / fused: the faster of the two over the fused median alone (over the interleaved median)');
  out('');
  out('| case | fused ms | body ms | body / fused | anchor | anchor ms | fused / anchor | alone: fused ms | alone: anchor ms | alone: fused / anchor | PyTorch eager ms (form) | PyTorch compiled ms (form) | PyTorch / fused alone (interleaved) | fused peak MiB (+run) | body peak MiB (+run) |');
  out('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  const json: Record<string, unknown> = {};
  const timed: [BenchCase, Record<Path, Spread>, number | undefined, number | undefined][] = [];
  for (const c of CASES) {
    if (only && !c.name.includes(only)) continue;
    const r = spawnSync(process.execPath, ['--expose-gc', __filename, '--case', c.name, ...(rounds ? ['--rounds', rounds] : [])], { encoding: 'utf8' });
    const t = r.status === 0 ? (JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<Path, Spread> & { times: Record<Path, number[]> }) : (r.stderr || 'failed').trim().split('\n').pop();
    const torch = args.includes('--no-torch') ? 'not asked' : torchPeer(c, typeof t === 'object' ? t.fused.rounds : 11);
    // each path alone in its own process: its peak memory, and (fused, anchor) the median of 15 runs
    // with nothing else in the process
    const mem = (p: Path, runs: number): Measured | string =>
      args.includes('--no-memory') ? 'not asked' : inChild(__filename, ['--case', c.name, '--path', p, '--memory', '--runs', String(runs), '--min-ms', String(runs > 1 ? ALONE_MS : 0)]);
    const [fm, bm, am] = [mem('fused', ALONE_RUNS), mem('body', 1), mem('anchor', ALONE_RUNS)];
    const peak = (m: Measured | string) => (typeof m === 'string' ? `n/a (${m})` : `${m.peak.toFixed(0)} (+${m.added.toFixed(0)})`);
    if (typeof t !== 'object') {
      json[c.name] = { time: t, torch, memory: { fused: fm, body: bm, anchor: am } };
      out(`| ${c.name} | n/a (${t}) | | | ${c.anchorName} | | | | | | | | | | |`);
      continue;
    }
    const { times, ...spreads } = t;
    const paired = pairedRatio(times.fused, times.anchor);
    json[c.name] = { time: spreads, fusedOverAnchor: paired, torch, memory: { fused: fm, body: bm, anchor: am } };
    timed.push([c, spreads, typeof fm === 'object' ? fm.best : undefined, typeof am === 'object' ? am.best : undefined]);
    const alone = (m: Measured | string) => (typeof m === 'string' ? 'n/a' : `${m.ms.toFixed(1)} (${m.best.toFixed(1)})`);
    const aloneRatio = typeof fm === 'object' && typeof am === 'object' ? `${ratio(fm.ms, am.ms)} (${ratio(fm.best, am.best)})` : 'n/a';
    const one = (r: TorchResult) => ('error' in r ? `n/a (${r.error})` : `${ms(r)} (${r.form})`);
    const tc = typeof torch === 'string' ? `n/a (${torch}) | n/a` : `${one(torch.eager)} | ${one(torch.compiled)}`;
    const best = typeof torch === 'string' ? undefined : Math.min(...[torch.eager, torch.compiled].map((r) => ('error' in r ? Number.POSITIVE_INFINITY : r.ms)));
    // PyTorch is timed in a process of its own, hot: against the fused path alone (its median), and
    // against the interleaved median in parentheses
    const tr =
      best === undefined || !Number.isFinite(best) ? 'n/a' : `${typeof fm === 'object' ? ratio(best, fm.ms) : 'n/a'} (${ratio(best, t.fused.ms)})`;
    const pr = `${paired.ms.toFixed(2)}x (${paired.lo.toFixed(2)}-${paired.hi.toFixed(2)})`;
    out(
      `| ${c.name} | ${ms(t.fused)} | ${ms(t.body)} | ${ratio(t.body.ms, t.fused.ms)} | ${c.anchorName} | ${ms(t.anchor)} | ${pr} | ${alone(fm)} | ${alone(am)} | ${aloneRatio} | ${tc} | ${tr} | ${peak(fm)} | ${peak(bm)} |`,
    );
  }
  if (!args.includes('--no-float16')) float16Table(args, only, rounds, json, out);
  // the bound table: the peaks measured after the timing, in this process (the children are done)
  // the kernels' instruction set (LP_ONNX_CPU_ISA, else the best), and the anchors' (onnxruntime's
  // own kernels take the CPU's best)
  const best = bestIsa();
  const isa = process.env.LP_ONNX_CPU_ISA && process.env.LP_ONNX_CPU_ISA !== 'auto' ? process.env.LP_ONNX_CPU_ISA : best;
  let peaks: NativePeaks | string;
  let anchorPeaks: NativePeaks | string;
  try {
    peaks = measurePeaks('', threads);  // the sessions' own choice: a bad LP_ONNX_CPU_ISA is named as such
    anchorPeaks = isa === best ? peaks : measurePeaks(best, threads);
  } catch (e) {
    peaks = anchorPeaks = (e as Error).message;
  }
  out('');
  if (typeof peaks === 'string' || typeof anchorPeaks === 'string') {
    out(`bound: n/a (${peaks})`);
  } else {
    json.peaks = peaks;
    out(peaksLine(peaks, isa, threads));
    if (anchorPeaks !== peaks) {
      json.anchorPeaks = anchorPeaks;
      out(`${peaksLine(anchorPeaks, best, threads)} (the anchors' bound: onnxruntime's kernels take the CPU's best)`);
    }
    out('bound: the larger of compute (each step counted, over its measured peak) and memory (inputs, weights, outputs once, over the measured rates); % of bound = bound / time: the interleaved median, and the best run alone');
    out('');
    out('| case | fused bound ms (limit) | fused % of bound | fused % (best alone) | anchor bound ms (limit) | anchor % of bound | anchor % (best alone) |');
    out('|---|---|---|---|---|---|---|');
    for (const [c, t, fAlone, aAlone] of timed) {
      const w = caseWork(c.torch);
      const fb = boundOf(w.fused, peaks), ab = boundOf(w.anchor, anchorPeaks);
      const pct = (b: number, m: number | undefined) => (m === undefined ? 'n/a' : `${((100 * b) / m).toFixed(0)} %`);
      (json[c.name] as Record<string, unknown>).bound = { fused: fb, anchor: ab };
      out(`| ${c.name} | ${fb.ms.toFixed(2)} (${fb.limit}) | ${pct(fb.ms, t.fused.ms)} | ${pct(fb.ms, fAlone)} | ${ab.ms.toFixed(2)} (${ab.limit}) | ${pct(ab.ms, t.anchor.ms)} | ${pct(ab.ms, aAlone)} |`);
    }
  }
  const file = opt('--json');
  if (file) writeFileSync(file, `${JSON.stringify({ cpu: cpus()[0]?.model, isa: isaLine(), cases: json }, null, 1)}\n`);
}

main();
