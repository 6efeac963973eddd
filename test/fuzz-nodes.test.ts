// Differential fuzzing of raw com.lponnx nodes (test/helpers/raw-nodes.ts): the float64 reference of
// ops/, the native kernels alone (the custom-op library in onnxruntime, as Python onnxruntime loads
// it), lp-onnx/node (its attribute check, then the kernels) and the WGSL kernels must agree on
// accept or refuse; where they accept, on the output dims, and on the values within the kernels'
// tolerance wherever ops.md promises it. Seeded: a failure prints its seed and shrinks to a small
// node. LP_ONNX_FUZZ_RUNS (default 250) and LP_ONNX_FUZZ_SEED change the run;
// LP_ONNX_FUZZ_REPORT=file writes the counts as JSON; LP_ONNX_FUZZ_WGSL=0 leaves the WGSL kernels out.
// The CUDA kernels' code joins on the CPU emulation of the CUDA execution model where it is built.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { native, nativeVariant } from '../src/node/binding';
import { nodeWebGpu, runLpOpWebGpu, type WebGpuContext } from '../src/runtime/webgpu';
import { compareArrays, TOL } from './helpers/compare';
import { type Decision, lpNodeAttributeCheck, NODE_NAME, type RawNode, rawModel, rawNodeArb, runReference } from './helpers/raw-nodes';

const RUNS = Number(process.env.LP_ONNX_FUZZ_RUNS ?? 250);
const SEED = Number(process.env.LP_ONNX_FUZZ_SEED ?? 20261201);
const { binding, reason } = native();
// the CUDA kernels' code on the CPU emulation of the CUDA execution model (npm run build:cuda-emulation)
const cudaEmulation = nativeVariant(process.env.LP_ONNX_CUDA_EMULATION_BUILD || join(__dirname, '..', 'build', 'CudaEmulation')).binding;

const stats = {
  seed: SEED,
  nodes: 0,
  accepted: 0,
  refused: 0,
  refusedByAttributeCheckOnly: 0,
  sameMessage: 0,
  valuesCompared: 0,
  nanPropagationCompared: 0,
  dimsOnly: 0,
  wgsl: 0,
  cudaEmulation: 0,
  byOp: {} as Record<string, { nodes: number; accepted: number }>,
  /** the reference's refusals by kind of message (numbers and names left out) */
  reasons: {} as Record<string, number>,
};

function reasonOf(message: string): string {
  return message
    .replace(/^\w+ node '[^']*': /, '')
    .replace(/'[^']*'/g, "'_'")
    .replace(/-?\d+(\.\d+)?(e[+-]?\d+)?|NaN|-?Infinity/g, '#')
    .replace(/\[[#, ]*\]/g, '[#]');
}

async function runNative(bytes: Uint8Array, feeds: ReturnType<typeof rawModel>['feeds'], b = binding): Promise<Decision> {
  if (!b) throw new Error(reason);
  let session: ReturnType<typeof b.createSession> | undefined;
  try {
    session = b.createSession(bytes, { intraOpNumThreads: 1, logSeverityLevel: 4 });
    const outs = await b.run(
      session,
      feeds.map((f) => f.name),
      feeds.map(() => 'float32'),
      feeds.map((f) => f.dims),
      feeds.map((f) => f.data),
      ['Y'],
    );
    return { accepted: true, out: { dims: outs[0].dims, data: Float64Array.from(outs[0].data as Float32Array) } };
  } catch (e) {
    return { accepted: false, message: (e as Error).message };
  } finally {
    if (session) b.release(session);
  }
}

const inRange = (p: unknown) => typeof p === 'number' && ((p >= 1 && p <= 64) || p === Number.POSITIVE_INFINITY);

function compareOutputs(what: string, c: RawNode, got: Decision & { accepted: true }, want: Decision & { accepted: true }): void {
  if (got.out.dims.length !== want.out.dims.length || got.out.dims.some((d, i) => d !== want.out.dims[i])) {
    throw new Error(`${what}: dims [${got.out.dims}], the reference gives [${want.out.dims}]`);
  }
  const pOk = c.inputs[c.op === 'LpNorm' ? 2 : 1] !== null || c.op === 'L1Conv' || inRange(want.attrs?.p);
  if (c.inDomain && pOk) {
    compareArrays(what, got.out, want.out, TOL.kernel);
    stats.valuesCompared++;
  } else if (c.nanOnly && pOk) {
    for (let i = 0; i < want.out.data.length; i++) {
      if (Number.isNaN(want.out.data[i]) && !Number.isNaN(got.out.data[i])) throw new Error(`${what}: index ${i}: got ${got.out.data[i]}, the reference gives NaN (a NaN input must reach it)`);
    }
    stats.nanPropagationCompared++;
  } else {
    stats.dimsOnly++;
  }
}

const d = binding ? describe : describe.skip;
if (!binding) console.warn(`skipping the native differential fuzz: ${reason}`);

d('differential fuzzing of raw lp nodes', () => {
  let wgsl: WebGpuContext | undefined;
  beforeAll(async () => {
    if (process.env.LP_ONNX_FUZZ_WGSL !== '0') wgsl = (await nodeWebGpu()).ctx;
  });
  afterAll(() => {
    const text = JSON.stringify(stats, null, 1);
    const rows = ['reference', 'native kernels', 'lp-onnx/node', ...(cudaEmulation ? ['CUDA kernels on the CPU emulation'] : []), ...(wgsl ? ['WGSL'] : [])];
    console.log(`fuzz (${rows.join(', ')}): ${text}`);
    if (process.env.LP_ONNX_FUZZ_REPORT) writeFileSync(process.env.LP_ONNX_FUZZ_REPORT, `${text}\n`);
  });

  test(`${RUNS} nodes agree on accept / refuse, dims and values (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(rawNodeArb, async (c) => {
        const { bytes, feeds } = rawModel(c);
        const ref = runReference(c, bytes);
        const attrError = lpNodeAttributeCheck(bytes);
        const kernels = await runNative(bytes, feeds);
        const nodeDecision: Decision = attrError ? { accepted: false, message: attrError } : kernels;
        stats.nodes++;
        const byOp = (stats.byOp[c.op] ??= { nodes: 0, accepted: 0 });
        byOp.nodes++;
        if (ref.accepted) {
          stats.accepted++;
          byOp.accepted++;
        } else {
          stats.refused++;
          const r = reasonOf(ref.message);
          stats.reasons[r] = (stats.reasons[r] ?? 0) + 1;
        }
        if (attrError && ref.accepted) throw new Error(`lp-onnx/node's attribute check refuses a node the reference accepts: ${attrError}`);
        if (nodeDecision.accepted !== ref.accepted) {
          throw new Error(`lp-onnx/node ${nodeDecision.accepted ? 'accepts' : `refuses (${nodeDecision.message})`} a node the reference ${ref.accepted ? 'accepts' : `refuses (${ref.message})`}`);
        }
        if (kernels.accepted !== ref.accepted) {
          if (!(c.invisible && kernels.accepted)) {
            throw new Error(`the native kernels ${kernels.accepted ? 'accept' : `refuse (${kernels.message})`} a node the reference ${ref.accepted ? 'accepts' : `refuses (${ref.message})`}`);
          }
          stats.refusedByAttributeCheckOnly++;
        }
        if (!kernels.accepted) {
          if (!kernels.message.includes(NODE_NAME)) throw new Error(`the native refusal does not name the node: ${kernels.message}`);
          if (!ref.accepted && kernels.message.includes(ref.message)) stats.sameMessage++;
        }
        if (ref.accepted && kernels.accepted) compareOutputs('native kernels', c, kernels, ref);
        if (cudaEmulation) {
          const cuda = await runNative(bytes, feeds, cudaEmulation);
          if (cuda.accepted !== kernels.accepted) {
            throw new Error(`the CUDA kernels (CPU emulation) ${cuda.accepted ? 'accept' : `refuse (${cuda.message})`} a node the CPU kernels ${kernels.accepted ? 'accept' : `refuse (${kernels.message})`}`);
          }
          if (cuda.accepted && ref.accepted) compareOutputs('CUDA kernels (CPU emulation)', c, cuda, ref);
          stats.cudaEmulation++;
        }
        if (wgsl) {
          const w = await runWgsl(wgsl, c, bytes);
          if (w.accepted !== ref.accepted) throw new Error(`the WGSL kernels ${w.accepted ? 'accept' : `refuse (${w.message})`} a node the reference ${ref.accepted ? 'accepts' : `refuses (${ref.message})`}`);
          if (w.accepted && ref.accepted) compareOutputs('WGSL kernels', c, w, ref);
          stats.wgsl++;
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: false },
    );
  }, Math.max(120000, RUNS * 500));
});

async function runWgsl(ctx: WebGpuContext, c: RawNode, bytes: Uint8Array): Promise<Decision> {
  const { lpOp } = await import('../ops/index');
  const { decodeModel } = await import('../src/onnx/codec');
  const { LpOpError } = await import('../ops/attributes');
  const op = lpOp(c.op);
  const node = decodeModel(bytes).graph?.node?.[0];
  if (!op || !node) throw new Error('no node');
  try {
    const attrs = op.parse(node.attribute ?? [], NODE_NAME) as Record<string, unknown>;
    const ins = c.inputs.map((t) => (t ? { dims: t.dims, data: Float64Array.from(t.data) } : undefined));
    return { accepted: true, out: await runLpOpWebGpu(ctx, c.op, attrs, ins, NODE_NAME) };
  } catch (e) {
    if (e instanceof LpOpError) return { accepted: false, message: e.message };
    throw e;
  }
}
