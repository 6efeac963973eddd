// What the benchmarks share: one measurement per process, so its peak resident memory (VmHWM) is
// its own. The parent spawns the script again with its arguments; the child times a session and
// prints one JSON line.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Measured {
  /** median time of one run */
  ms: number;
  /** the fastest run */
  best: number;
  /** peak resident memory of the process, MiB */
  peak: number;
  /** peak added from the call of measureSession on (creating the session, if it creates it, and running it) */
  added: number;
}

export function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

interface Session {
  run(feeds: object, fetches?: object): Promise<unknown>;
}

/**
 * In the child: warm-up runs (at least two, and for `minMs` / 4), then the median of `runs` and as
 * many more as fit `minMs` (a short case runs hundreds of times, as PyTorch's peer does); printed
 * as the child's last line.
 */
export async function measureSession(create: () => Promise<Session>, feeds: object, runs: number, minMs = 0): Promise<void> {
  const before = peakRssMiB();
  const session = await create();
  // the first run's outputs are given back as pre-allocated outputs (onnxruntime-common's fetches):
  // every later run writes into them, as a serving loop that keeps its buffers does (no allocation
  // and no fresh pages per run, for the fused kernels and onnxruntime's own ops alike)
  const outputs = (await session.run(feeds)) as object;
  const warm = performance.now();
  do await session.run(feeds, outputs);
  while (performance.now() - warm < minMs / 4);
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < runs || (performance.now() - start < minMs && i < 1000); i++) {
    const t0 = performance.now();
    await session.run(feeds, outputs);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const m: Measured = { ms: times[Math.floor(times.length / 2)], best: times[0], peak: peakRssMiB(), added: peakRssMiB() - before };
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

/** In the parent: the script again with `args`; its measurement, or the child's last error line. */
export function inChild(script: string, args: string[]): Measured | string {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
  if (r.status !== 0) return (r.stderr || 'failed').trim().split('\n').pop() ?? 'failed';
  return JSON.parse(r.stdout.trim().split('\n').pop() as string);
}

export interface Spread {
  /** median of one run, ms */
  ms: number;
  /** 10th and 90th percentiles, ms */
  lo: number;
  hi: number;
  rounds: number;
}

export function spread(times: number[]): Spread {
  const t = [...times].sort((a, b) => a - b);
  const at = (q: number) => t[Math.min(t.length - 1, Math.floor(q * t.length))];
  return { ms: at(0.5), lo: at(0.1), hi: at(0.9), rounds: t.length };
}

/**
 * A full garbage collection where node runs with --expose-gc (the bench's children do): the runs'
 * outputs are megabytes of external memory, and V8's collector, when it starts during a timed run,
 * takes one of the two cores from onnxruntime's threads.
 */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
}

/**
 * In the child: the sessions of one case timed interleaved, block by block (A B C, B C A, C A B, ...),
 * so that drift of the machine (frequency, neighbours) falls on all of them alike. A block is one
 * untimed run, which meets what the previous session left (its data in the caches, its thread
 * pool's workers still spinning), a garbage collection, then `block` timed runs whose median is the
 * round's time; a
 * session slower than `slowMs` (a function body) has one timed run per block and no untimed one.
 * One warm-up run each first; then as many rounds as fit `budgetMs` (at least `minRounds`, at most
 * `maxRounds`). Prints one JSON line: each session's Spread over the rounds, and `times`, each
 * session's round times in order (for ratios within a round).
 */
export async function measureInterleaved(
  sessions: Record<string, Session>,
  feeds: object,
  opts: { budgetMs: number; minRounds: number; maxRounds: number; block?: number; slowMs?: number },
  /** a session's own feeds, where its input type differs (float16) */
  feedsOf: Record<string, object> = {},
): Promise<void> {
  const names = Object.keys(sessions);
  const block = opts.block ?? 3, slowMs = opts.slowMs ?? 100;
  const once: Record<string, number> = {};
  for (const n of names) {
    const t0 = performance.now();
    await sessions[n].run(feedsOf[n] ?? feeds);
    once[n] = performance.now() - t0;
  }
  const slow = (n: string) => once[n] > slowMs;
  const round = names.reduce((t, n) => t + once[n] * (slow(n) ? 1 : block + 1), 0);
  const rounds = Math.max(opts.minRounds, Math.min(opts.maxRounds, Math.floor(opts.budgetMs / Math.max(round, 1e-3))));
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    // the order turns each round: no session always follows the same one
    for (let i = 0; i < names.length; i++) {
      const n = names[(r + i) % names.length];
      if (!slow(n)) await sessions[n].run(feedsOf[n] ?? feeds);
      collectGarbage();
      const runs: number[] = [];
      for (let k = 0; k < (slow(n) ? 1 : block); k++) {
        const t0 = performance.now();
        await sessions[n].run(feedsOf[n] ?? feeds);
        runs.push(performance.now() - t0);
      }
      times[n].push(spread(runs).ms);
    }
  }
  process.stdout.write(`${JSON.stringify({ ...Object.fromEntries(names.map((n) => [n, spread(times[n])])), times })}\n`);
}

/** The spread of a / b within each round: paired, so that drift of the machine between rounds cancels. */
export function pairedRatio(a: number[], b: number[]): Spread {
  return spread(a.map((v, i) => v / Math.max(b[i], 1e-9)));
}
