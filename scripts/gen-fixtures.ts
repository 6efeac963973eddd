// Writes fixtures/golden/<op>.json: every case of test/cases with its seeded inputs and the
// float64 reference output. `npm test` regenerates them in memory and fails on a difference.
// Usage: node dist/scripts/gen-fixtures.js [outdir]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attributeProto } from '../ops/attributes';
import { lpOp } from '../ops/index';
import { l1ConvCases } from '../test/cases/l1-conv';
import { lpNormCases } from '../test/cases/lp-norm';
import { lpPoolCases } from '../test/cases/lp-pool';
import { makeInput, type OpCase } from '../test/cases/types';

export interface GoldenCase {
  name: string;
  attrs: Record<string, number | string | number[]>;
  inputs: ({ dims: number[]; data: (number | string)[] } | null)[];
  output: { dims: number[]; data: (number | string)[] };
}

/** JSON has no NaN / Infinity: they are written as strings. */
const enc = (v: number): number | string => (Number.isFinite(v) ? v : String(v));

function attrProtos(op: string, attrs: OpCase['attrs']) {
  const schema = lpOp(op)?.attributes ?? {};
  return Object.entries(attrs).map(([k, v]) => attributeProto(k, schema[k]?.kind ?? 'float', v));
}

export function goldenCases(op: OpCase['op'], cases: OpCase[]): GoldenCase[] {
  const def = lpOp(op);
  if (!def) throw new Error(op);
  return cases.map((c) => {
    const inputs = c.inputs.map((s, i) => (s ? { dims: s.dims, data: makeInput(s, 1000 + i) } : undefined));
    const out = def.reference(
      def.parse(attrProtos(op, c.attrs), c.name),
      inputs.map((t) => (t ? { dims: t.dims, data: Float64Array.from(t.data) } : undefined)),
      c.name,
    );
    const attrs = Object.fromEntries(Object.entries(c.attrs).map(([k, v]) => [k, typeof v === 'number' ? enc(v) : v]));
    return {
      name: c.name,
      attrs,
      inputs: inputs.map((t) => (t ? { dims: t.dims, data: Array.from(t.data, enc) } : null)),
      output: { dims: out.dims, data: Array.from(out.data, enc) },
    };
  });
}

export const GOLDEN: [string, OpCase['op'], OpCase[]][] = [
  ['lp-norm.json', 'LpNorm', lpNormCases],
  ['lp-pool.json', 'LpPool', lpPoolCases],
  ['l1-conv.json', 'L1Conv', l1ConvCases],
];

export function goldenText(op: OpCase['op'], cases: OpCase[]): string {
  return `${JSON.stringify({ op, domain: 'com.lponnx', generator: 'scripts/gen-fixtures.ts', cases: goldenCases(op, cases) }, null, 1)}\n`;
}

if (require.main === module) {
  const dir = process.argv[2] ?? 'fixtures/golden';
  mkdirSync(dir, { recursive: true });
  for (const [file, op, cases] of GOLDEN) {
    writeFileSync(join(dir, file), goldenText(op, cases));
    process.stdout.write(`wrote ${join(dir, file)} (${cases.length} cases)\n`);
  }
}
