// The CPU emulation of the CUDA execution model fails where a GPU would: each kind of bug a GPU
// exposes is planted in a small kernel (test/native/emulation-planted.cc), built against the
// emulation with g++ as the kernels are, and must show. A check of the emulation, not a GPU result.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..');
const gxx = spawnSync('g++', ['--version']).status === 0;
if (!gxx) console.warn('skipping the emulation test: no g++');

/** test/native/SOURCE built with g++ against the emulation, as the kernels are (with FLAGS); the executable's path. */
function buildOnEmulation(source: string, flags: string[]): string {
  const exe = join(mkdtempSync(join(tmpdir(), 'lp-onnx-emu-')), source.replace(/\.cc$/, ''));
  const build = spawnSync('g++', ['-std=c++17', ...flags, '-DLP_CUDA_EMULATION', '-pthread', join(root, 'test', 'native', source), '-o', exe], { encoding: 'utf8' });
  expect(build.stderr).toBe('');
  return exe;
}

(gxx ? describe : describe.skip)('the CUDA emulation exposes planted bugs', () => {
  let lines: Map<string, string>;
  beforeAll(() => {
    const run = spawnSync(buildOnEmulation('emulation-planted.cc', ['-O1']), [], { encoding: 'utf8', timeout: 60000 });
    expect(run.status).toBe(0);
    lines = new Map(run.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
  }, 120000);

  test('shared memory is poisoned at every block start: a read before a write is NaN in every block', () => {
    expect(lines.get('read-before-write')).toBe('no error, 256 of 256 values read NaN');
  });

  test('blocks run in a shuffled order: a kernel that assumes block b - 1 ran first gets it wrong', () => {
    const m = /^no error, (\d+) of 64 blocks saw their predecessor's value$/.exec(lines.get('block-order') ?? '');
    expect(m).not.toBeNull();
    expect(Number(m?.[1])).toBeLessThan(64);
  });

  test('blocks of one launch run at the same time, each with its own shared memory', () => {
    expect(lines.get('blocks-at-once')).toBe('no error, at most 2 blocks running at the same time');
  });

  test('cp.async: a copy read after a barrier but before its wait is poison; after the wait it is right', () => {
    expect(lines.get('async-copy-read-before-wait')).toBe('no error, 0 of 32 values right');
    expect(lines.get('async-copy-waited')).toBe('no error, 32 of 32 values right');
  });

  test('a barrier under divergent control flow fails the launch, naming the kernel and both lines', () => {
    expect(lines.get('divergent-barrier')).toMatch(
      /^719 __syncthreads under divergent control flow in DivergentBarrier: threads of one block wait at \S*emulation-planted\.cc:\d+ and at \S*emulation-planted\.cc:\d+$/,
    );
  });

  test('launch limits: static + dynamic shared memory over 48 KiB, 1025 threads, grid y 65536 are refused as a GPU refuses them', () => {
    expect(lines.get('static-plus-dynamic 48 KiB')).toBe('0 no error');
    expect(lines.get('static-plus-dynamic over')).toBe('1 invalid argument');
    expect(lines.get('1025 threads')).toBe('9 invalid configuration argument');
    expect(lines.get('grid y 65536')).toBe('9 invalid configuration argument');
  });

  test('work queued on a stream runs at its synchronisation: a result read before it is stale', () => {
    expect(lines.get('read-before-sync')).toBe('no error, 0 before the synchronisation, 42 after');
  });

  test('scratch freed before its stream ran, and handed to another stream, is overwritten; a stream-ordered free is not', () => {
    expect(lines.get('scratch-freed-at-once')).toBe('0 of 64 outputs right');
    expect(lines.get('scratch-freed-in-stream-order')).toBe('64 of 64 outputs right');
  });

  test('a divergent barrier is an error of the launch, reported at the synchronisation as on a GPU', () => {
    expect(lines.get('divergent-barrier-at-sync')).toBe('launch 0, synchronisation 719');
  });
});

// The emulation's blocks run at the same time on host threads, so ThreadSanitizer sees a race
// between blocks as a race between threads: the TSan build of a kernel that adds to one counter
// from every block without an atomic is reported; the same kernel with an atomic is not.
const tsan = gxx && spawnSync('g++', ['-print-file-name=libtsan.so'], { encoding: 'utf8' }).stdout.trim().startsWith('/');
if (gxx && !tsan) console.warn("skipping the emulation's TSan test: g++ has no libtsan");

(tsan ? describe : describe.skip)('the TSan build of the CUDA emulation reports a race between blocks', () => {
  let exe: string;
  beforeAll(() => {
    exe = buildOnEmulation('emulation-planted.cc', ['-O1', '-g', '-fsanitize=thread']);
  }, 120000);
  const runTsan = (what: string) => spawnSync(exe, [what], { encoding: 'utf8', timeout: 60000, env: { ...process.env, TSAN_OPTIONS: 'halt_on_error=1' } });

  test('a counter added to by every block without an atomic: a data race in RaceBetweenBlocks', () => {
    const run = runTsan('race');
    expect(run.stderr).toMatch(/WARNING: ThreadSanitizer: data race/);
    expect(run.stderr).toMatch(/RaceBetweenBlocks/);
    expect(run.status).not.toBe(0);
  });

  test('the same with an atomic: no report', () => {
    const run = runTsan('atomic');
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('atomic: no error');
    expect(run.status).toBe(0);
  });
});

// 2^x on the FMA pipe (kernels/cuda/device_common.cuh Exp2Fma), which per-unit LpNorm uses for 6 of
// every 16 exponentials: its worst relative error over the whole domain, against exp2 in double.
(gxx ? describe : describe.skip)('the CUDA kernels’ device arithmetic', () => {
  test('Exp2Fma: worst relative error below 3e-6 over [-126, 0] (the kernels’ rtol is 1e-4); 0 below the domain and for NaN', () => {
    const run = spawnSync(buildOnEmulation('device-math.cc', ['-O2']), [], { encoding: 'utf8', timeout: 60000 });
    expect(run.status).toBe(0);
    const worst = /exp2fma worst relative error: (\S+)/.exec(run.stdout);
    expect(Number(worst?.[1])).toBeGreaterThan(1e-7); // a degree-4 polynomial cannot be exact
    expect(Number(worst?.[1])).toBeLessThan(3e-6);
    expect(run.stdout).toMatch(/exp2fma below -126, -inf, NaN: 0 0 0/);
    const ends = /exp2fma at 0 and -126: (\S+) (\S+)/.exec(run.stdout);
    expect(Math.abs(Number(ends?.[1]) - 1)).toBeLessThan(3e-6);
    expect(Math.abs(Number(ends?.[2]) - 1)).toBeLessThan(3e-6);
  }, 120000);
});
