// Mutated bytes of the bundled models, weight files and arrays through lp-onnx's readers (and the
// export of a model, its main job): each gives a result or one of lp-onnx's own errors, never a
// TypeError, a RangeError or a hang. Seeded (fast-check); LP_ONNX_FUZZ_FILES sets the count per file
// kind (default 150), LP_ONNX_FUZZ_SEED the seed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { LpOpError } from '../ops/attributes';
import { GeometryError } from '../ops/geometry';
import { ArchError, buildFromArch } from '../src/export/arch';
import { exportDualPath } from '../src/export/dual-path';
import { WeightsError } from '../src/export/weights/index';
import { PickleError } from '../src/export/weights/pickle';
import { readSafetensors, SafetensorsError } from '../src/export/weights/safetensors';
import { readTorchStateDict } from '../src/export/weights/torch';
import { ZipError } from '../src/export/weights/zip';
import { BuilderError } from '../src/graph/builder';
import { ModelError } from '../src/graph/infer';
import { StdOpError } from '../src/graph/std-ops';
import { decodeModel, OnnxFormatError } from '../src/onnx/codec';
import { TensorDataError } from '../src/onnx/tensor';
import { NpyError, parseNpy } from '../src/runtime/npy';

const RUNS = Number(process.env.LP_ONNX_FUZZ_FILES ?? 150);
const SEED = Number(process.env.LP_ONNX_FUZZ_SEED ?? 20261201);
const OWN = [LpOpError, GeometryError, ArchError, WeightsError, PickleError, SafetensorsError, ZipError, BuilderError, ModelError, StdOpError, OnnxFormatError, TensorDataError, NpyError];

const root = join(__dirname, '..');
const file = (p: string) => new Uint8Array(readFileSync(join(root, p)));

type Mutation = { kind: 'flip'; at: number[]; bits: number[] } | { kind: 'truncate'; at: number } | { kind: 'overwrite'; at: number; length: number; value: number } | { kind: 'insert'; at: number; bytes: number[] };

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 8 }), bits: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 8, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('overwrite' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), length: fc.integer({ min: 1, max: 16 }), value: fc.constantFrom(0, 0xff, 0x7f, 0x80) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
);

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const pos = (f: number) => Math.min(bytes.length - 1, Math.floor(f * bytes.length));
  if (m.kind === 'truncate') return bytes.slice(0, pos(m.at));
  if (m.kind === 'insert') {
    const p = pos(m.at);
    return Uint8Array.from([...bytes.subarray(0, p), ...m.bytes, ...bytes.subarray(p)]);
  }
  const out = bytes.slice();
  if (m.kind === 'flip') m.at.forEach((f, i) => (out[pos(f)] ^= 1 << m.bits[i]));
  else out.fill(m.value, pos(m.at), pos(m.at) + m.length);
  return out;
}

/** A result, or one of lp-onnx's own errors; anything else fails the property. */
function expectOwnOutcome(what: string, run: () => unknown): void {
  try {
    run();
  } catch (e) {
    if (OWN.some((k) => e instanceof k)) return;
    throw new Error(`${what}: ${(e as Error).constructor.name}: ${(e as Error).message}`);
  }
}

const torchModels = ['adder-cnn', 'gem-cnn', 'lpnorm-mlp', 'pointnet-l1'];

describe('mutated files through the readers', () => {
  test.each([
    ['examples/adder-cnn.onnx'],
    ['examples/lp-mlp.onnx'],
    ['fixtures/onnx/torch-cnn.onnx'],
    ['fixtures/torch/gem-cnn/torch.onnx'],
    // plain torch exports: the fusion matchers and the im2col probes on mutated graphs
    ['fixtures/torch-plain/adder-resnet/model.onnx'],
    ['fixtures/torch-plain/reid-head/model.onnx'],
    ['fixtures/torch-plain/lpnorm-mlp/model.onnx'],
  ])('%s: decode and export', (path) => {
    const bytes = file(path);
    fc.assert(
      fc.property(mutation, (m) => {
        expectOwnOutcome(path, () => exportDualPath(decodeModel(mutate(bytes, m), path), { what: path }));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test.each(torchModels)('%s weights: .safetensors and .pt, then the arch export', (name) => {
    const arch = JSON.parse(readFileSync(join(root, 'fixtures', 'torch', name, 'arch.json'), 'utf8'));
    for (const [ext, read] of [
      ['safetensors', readSafetensors],
      ['pt', readTorchStateDict],
    ] as const) {
      const path = `fixtures/torch/${name}/weights.${ext}`;
      const bytes = file(path);
      fc.assert(
        fc.property(mutation, (m) => {
          expectOwnOutcome(path, () => buildFromArch(arch, read(mutate(bytes, m), path), { what: 'arch.json', weightsWhat: path }));
        }),
        { seed: SEED, numRuns: Math.ceil(RUNS / 2) },
      );
    }
  });

  test('.npy arrays', () => {
    const bytes = file('fixtures/torch/adder-cnn/input.npy');
    fc.assert(
      fc.property(mutation, (m) => {
        expectOwnOutcome('input.npy', () => parseNpy(mutate(bytes, m), 'input.npy'));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
