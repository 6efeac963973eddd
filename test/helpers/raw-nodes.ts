// Raw com.lponnx nodes for differential fuzzing: every attribute of every op schema with valid and
// invalid values, lengths and kinds; ranks 1-3 (and wrong ones), zero and tiny dims, kernels larger
// than the input, P / W / B of odd shapes, NaN and infinities, weights constant or fed, input
// shapes declared or symbolic. A node is run on the float64 reference (ops/), on the native
// kernels (the custom-op library inside onnxruntime, with no TypeScript check in front), and on the
// WGSL kernels; the decisions and outputs are compared by test/fuzz-nodes.test.ts.
import fc from 'fast-check';
import { type AttrSpec, attributeProto, INT_MAX, LpOpError } from '../../ops/attributes';
import { lpOp } from '../../ops/index';
import type { NdArray } from '../../ops/types';
import { seededRandom } from '../../src/cli/run';
import { checkLpAttributes } from '../../src/graph/infer';
import { valueInfo } from '../../src/graph/model';
import { decodeModel, encodeModel } from '../../src/onnx/codec';
import { AttributeType, type AttributeProto, type ModelProto } from '../../src/onnx/proto';
import { makeTensor, tensorToProto } from '../../src/onnx/tensor';

export type OpType = 'LpNorm' | 'LpPool' | 'L1Conv';

export interface RawInput {
  dims: number[];
  data: Float32Array;
  /** an initializer (constant weights) instead of a graph input */
  constant: boolean;
}

export interface RawNode {
  op: OpType;
  attrs: AttributeProto[];
  /** in op input order; null: absent */
  inputs: (RawInput | null)[];
  /** graph inputs declared with symbolic dims (the kernels learn the rank only at run time) */
  symbolic: boolean;
  /** an attribute the kernels cannot see (an unknown name, or one given twice) */
  invisible: boolean;
  /** every value and exponent where ops.md's tolerance holds (finite, |x| <= 1e6, p in [1, 64] or +inf) */
  inDomain: boolean;
  /** NaN in some input, no infinity: outputs the reference gives as NaN must be NaN */
  nanOnly: boolean;
}

const inf = Number.POSITIVE_INFINITY;

// --- attribute values, from the schema -------------------------------------------------------------

type AttrChoice = { kind: 'absent' } | { kind: 'proto'; proto: AttributeProto };

const proto = (a: AttributeProto): AttrChoice => ({ kind: 'proto', proto: a });

/** Valid and invalid values of one attribute as its schema declares it, for a spatial rank. */
function attrArb(name: string, spec: AttrSpec, rank: number): fc.Arbitrary<{ valid: AttrChoice; defect: AttrChoice }> {
  const wrongKinds: fc.Arbitrary<AttrChoice>[] = [
    fc.constant(proto({ name, type: AttributeType.STRING, s: new TextEncoder().encode('2') })),
    fc.constant(proto({ name, type: AttributeType.FLOATS, floats: [1, 2] })),
    fc.constant(proto({ name, type: AttributeType.INT, i: 1 })),
    fc.constant(proto({ name, type: AttributeType.FLOAT, f: 1 })),
    fc.constant(proto({ name, type: AttributeType.INTS, ints: [1] })),
  ];
  const wrong = fc.oneof(...wrongKinds).filter((c) => c.kind === 'proto' && !sameKind(spec, c.proto));
  let good: fc.Arbitrary<AttrChoice>;
  let bad: fc.Arbitrary<AttrChoice>;
  if (spec.kind === 'ints') {
    const lo = spec.min ?? 0;
    const n = spec.length === 'begin-end' ? 2 * rank : rank;
    const element = fc.integer({ min: lo, max: lo + (name === 'kernel_shape' ? 3 : 2) });
    good = fc.array(element, { minLength: n, maxLength: n }).map((v) => proto(attributeProto(name, 'ints', v)));
    bad = fc.oneof(
      fc.array(element, { minLength: 0, maxLength: 2 * rank + 1 }).filter((v) => v.length !== n),
      fc.tuple(fc.array(element, { minLength: n, maxLength: n }), fc.nat(Math.max(0, n - 1)), fc.constantFrom(lo - 1, -1, INT_MAX + 1, -(2 ** 31)))
        .filter(([v]) => v.length > 0)
        .map(([v, i, x]) => v.map((y, k) => (k === i ? x : y))),
    ).map((v) => proto(attributeProto(name, 'ints', v)));
  } else if (spec.kind === 'int') {
    const values = spec.oneOf ? (spec.oneOf as number[]) : [spec.min ?? 0, (spec.min ?? 0) + 1, (spec.min ?? 0) + 2];
    good = fc.constantFrom(...values).map((v) => proto(attributeProto(name, 'int', v)));
    bad = fc.constantFrom(-1, 2, 3, (spec.min ?? 0) - 1, INT_MAX + 1).filter((v) => !values.includes(v) || (spec.min !== undefined && v < spec.min)).map((v) => proto(attributeProto(name, 'int', v)));
  } else if (spec.kind === 'float') {
    const values = name === 'p' ? [1, 1.5, 2, 3, 4.5, 8, 64, inf] : [0, 1e-6, 1e-3];
    good = fc.oneof(
      fc.constantFrom(...values).map((v) => proto(attributeProto(name, 'float', v))),
      // an int where a float is expected is accepted
      fc.constantFrom(...values.filter(Number.isInteger)).map((v) => proto(attributeProto(name, 'int', v))),
      ...(name === 'p' ? [fc.constantFrom(0.5, 100).map((v) => proto(attributeProto(name, 'float', v)))] : []),
    );
    bad = fc.constantFrom(-1, Number.NaN, -inf, ...(spec.above !== undefined ? [0] : [])).map((v) => proto(attributeProto(name, 'float', v)));
  } else {
    const values = (spec.oneOf ?? ['x']) as string[];
    good = fc.constantFrom(...values).map((v) => proto(attributeProto(name, 'string', v)));
    bad = fc.constantFrom('SAME', '', 'square', 'ABS').filter((v) => !values.includes(v)).map((v) => proto(attributeProto(name, 'string', v)));
  }
  const required = name === 'kernel_shape';
  return fc.record({
    valid: fc.oneof({ weight: required ? 1 : 3, arbitrary: fc.constant<AttrChoice>({ kind: 'absent' }) }, { weight: required ? 6 : 2, arbitrary: good }),
    defect: fc.oneof({ weight: 3, arbitrary: bad }, { weight: 1, arbitrary: wrong }),
  });
}

function sameKind(spec: AttrSpec, a: AttributeProto): boolean {
  const code = { float: AttributeType.FLOAT, int: AttributeType.INT, string: AttributeType.STRING, ints: AttributeType.INTS }[spec.kind];
  return a.type === code || (spec.kind === 'float' && a.type === AttributeType.INT);
}

/**
 * All attributes of an op for a rank, each absent or valid; in a third of the nodes one of them
 * malformed (a bad value, length or kind), and now and then an unknown or a repeated one.
 */
function attrsArb(op: OpType, rank: number): fc.Arbitrary<{ attrs: AttributeProto[]; invisible: boolean; broken?: string }> {
  const schema = lpOp(op)?.attributes ?? {};
  const names = Object.keys(schema);
  return fc
    .tuple(
      fc.tuple(...names.map((n) => attrArb(n, schema[n], rank))),
      fc.oneof({ weight: 2, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(names.length - 1) }),
      fc.oneof({ weight: 40, arbitrary: fc.constant('none') }, { weight: 2, arbitrary: fc.constant('unknown') }, { weight: 1, arbitrary: fc.constant('twice') }),
    )
    .map(([choices, broken, extra]) => {
      const attrs = choices.flatMap((c, i) => {
        const pick = i === broken ? c.defect : c.valid;
        return pick.kind === 'proto' ? [pick.proto] : [];
      });
      let invisible = false;
      if (extra === 'unknown') {
        attrs.push(attributeProto(op === 'L1Conv' ? 'ceil_mode' : 'alpha', 'int', 0));
        invisible = true;
      } else if (extra === 'twice' && attrs.length > 0) {
        attrs.push({ ...attrs[0] });
        invisible = true;
      }
      return { attrs, invisible, broken: broken >= 0 ? names[broken] : undefined };
    });
}

// --- inputs ------------------------------------------------------------------------------------------

type Special = 'none' | 'nan' | 'inf' | 'neg-inf' | 'zero' | 'negative' | 'huge';

interface InputRecipe {
  dims: number[];
  fill: 'mixed' | 'weights' | 'exponents' | 'bias';
  special: Special;
  constant: boolean;
}

const dim = fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 10, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 6, arbitrary: fc.integer({ min: 5, max: 9 }) });
const small = fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 8, arbitrary: fc.integer({ min: 1, max: 3 }) });
const special = fc.oneof(
  { weight: 14, arbitrary: fc.constant<Special>('none') },
  { weight: 1, arbitrary: fc.constantFrom<Special>('nan', 'inf', 'neg-inf', 'zero', 'negative', 'huge') },
);

/** A length that usually fits (`want`) and sometimes does not. */
function lengthArb(want: number): fc.Arbitrary<number[]> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant<number[]>([want]) },
    { weight: 1, arbitrary: fc.constant<number[]>([1]) },
    { weight: 1, arbitrary: fc.constant<number[]>([]) },
    { weight: 1, arbitrary: fc.constant<number[]>([want + 1]) },
    { weight: 1, arbitrary: fc.constant<number[]>([1, want]) },
  );
}

function inputArb(dims: fc.Arbitrary<number[]>, fill: InputRecipe['fill'], optional: boolean): fc.Arbitrary<InputRecipe | null> {
  const present = fc.record({ dims, fill: fc.constant(fill), special, constant: fc.boolean() });
  return optional ? fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: present }) : present;
}

interface Recipe {
  op: OpType;
  attrs: AttributeProto[];
  invisible: boolean;
  inputs: (InputRecipe | null)[];
  symbolic: boolean;
  seed: number;
}

const rankArb = fc.oneof({ weight: 1, arbitrary: fc.constantFrom(0, 4) }, { weight: 20, arbitrary: fc.integer({ min: 1, max: 3 }) });

const lpNormArb: fc.Arbitrary<Recipe> = fc
  .record({ xRank: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 8, arbitrary: fc.integer({ min: 1, max: 3 }) }), k: small, m: small, lead: fc.array(small, { minLength: 2, maxLength: 2 }) })
  .chain(({ xRank, k, m, lead }) =>
    fc.record({
      op: fc.constant<OpType>('LpNorm'),
      a: attrsArb('LpNorm', 1),
      inputs: fc.tuple(
        inputArb(fc.constant(xRank === 0 ? [] : [...lead.slice(0, xRank - 1), k]), 'mixed', false),
        inputArb(fc.oneof({ weight: 10, arbitrary: fc.constant<number[]>([m, k]) }, { weight: 1, arbitrary: fc.constantFrom<number[]>([m, k + 1], [k], [1, m, k]) }), 'weights', false),
        inputArb(lengthArb(m), 'exponents', true),
      ),
      symbolic: fc.boolean(),
      seed: fc.nat(),
    }),
  )
  .map(({ op, a, inputs, symbolic, seed }) => ({ op, attrs: a.attrs, invisible: a.invisible, inputs: [...inputs], symbolic, seed }));

const lpPoolArb: fc.Arbitrary<Recipe> = fc
  .record({ rank: rankArb, n: small, c: small, spatial: fc.array(dim, { minLength: 4, maxLength: 4 }) })
  .chain(({ rank, n, c, spatial }) =>
    fc.record({
      op: fc.constant<OpType>('LpPool'),
      a: attrsArb('LpPool', Math.min(Math.max(rank, 1), 3)),
      inputs: fc.tuple(inputArb(fc.constant([n, c, ...spatial.slice(0, rank)]), 'mixed', false), inputArb(lengthArb(c), 'exponents', true)),
      symbolic: fc.boolean(),
      seed: fc.nat(),
    }),
  )
  .map(({ op, a, inputs, symbolic, seed }) => ({ op, attrs: a.attrs, invisible: a.invisible, inputs: [...inputs], symbolic, seed }));

const l1ConvArb: fc.Arbitrary<Recipe> = fc
  .record({
    rank: rankArb,
    n: small,
    g: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(2) }),
    cg: small,
    m: small,
    spatial: fc.array(dim, { minLength: 4, maxLength: 4 }),
    kernel: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 }),
    mismatch: fc.oneof({ weight: 12, arbitrary: fc.constant('none') }, { weight: 1, arbitrary: fc.constantFrom('cin', 'rank') }),
  })
  .chain(({ rank, n, g, cg, m, spatial, kernel, mismatch }) => {
    const cin = g * cg + (mismatch === 'cin' ? 1 : 0);
    const wRank = mismatch === 'rank' ? Math.max(1, rank - 1) : rank;
    return fc.record({
      op: fc.constant<OpType>('L1Conv'),
      a: attrsArb('L1Conv', Math.min(Math.max(rank, 1), 3)).map((a) => {
        // a valid group and kernel_shape follow the channels and W (the defects are left as they are)
        let attrs = a.attrs;
        if (a.broken !== 'group' && g > 1) attrs = [...attrs.filter((x) => x.name !== 'group'), attributeProto('group', 'int', g)];
        if (a.broken !== 'kernel_shape') attrs = attrs.map((x) => (x.name === 'kernel_shape' ? attributeProto('kernel_shape', 'ints', kernel.slice(0, wRank)) : x));
        return { ...a, attrs };
      }),
      inputs: fc.tuple(
        inputArb(fc.constant([n, cin, ...spatial.slice(0, rank)]), 'mixed', false),
        inputArb(fc.constant([g * m, cg, ...kernel.slice(0, wRank)]), 'mixed', false),
        inputArb(fc.oneof({ weight: 12, arbitrary: fc.constant<number[]>([g * m]) }, { weight: 1, arbitrary: lengthArb(g * m) }), 'bias', true),
      ),
      symbolic: fc.boolean(),
      seed: fc.nat(),
    });
  })
  .map(({ op, a, inputs, symbolic, seed }) => ({ op, attrs: a.attrs, invisible: a.invisible, inputs: [...inputs], symbolic, seed }));

const EXPONENTS = [1, 1.5, 2, 2.5, 3, 4, 7.5, 16, 64, inf];

function materialise(r: Recipe): RawNode {
  const rand = seededRandom(r.seed);
  let inDomain = true;
  let hasNan = false;
  let hasInf = false;
  const inputs = r.inputs.map((s, index) => {
    if (!s) return null;
    const n = s.dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (s.fill === 'weights') data[i] = rand() < 0.2 ? 0 : rand() * 2;
      else if (s.fill === 'exponents') data[i] = EXPONENTS[Math.floor(rand() * EXPONENTS.length)];
      else data[i] = rand() * 4 - 2;
    }
    if (n > 0 && s.special !== 'none') {
      const at = Math.floor(rand() * n);
      const v = { nan: Number.NaN, inf, 'neg-inf': -inf, zero: 0, negative: -1, huge: 1e30, none: 0 }[s.special];
      data[at] = v;
      if (Number.isNaN(v)) hasNan = true;
      if (!Number.isFinite(v) && !Number.isNaN(v) && !(s.fill === 'exponents' && v === inf)) hasInf = true;
      if (s.special === 'huge') inDomain = false;
    }
    void index;
    return { dims: s.dims, data, constant: index > 0 && s.constant };
  });
  return { op: r.op, attrs: r.attrs, inputs, symbolic: r.symbolic, invisible: r.invisible, inDomain: inDomain && !hasNan && !hasInf, nanOnly: hasNan && !hasInf };
}

export const rawNodeArb: fc.Arbitrary<RawNode> = fc.oneof(lpNormArb, lpPoolArb, l1ConvArb).map(materialise);

// --- the model of one node ---------------------------------------------------------------------------

export const NODE_NAME = 'fuzz_node';

export function rawModel(c: RawNode): { bytes: Uint8Array; feeds: { name: string; dims: number[]; data: Float32Array }[] } {
  const names = lpOp(c.op)?.inputs.map((i) => i.name) ?? c.inputs.map((_, i) => ['X', 'W', 'P'][i]);
  const feeds: { name: string; dims: number[]; data: Float32Array }[] = [];
  const graphInputs = [];
  const initializers = [];
  for (const [i, t] of c.inputs.entries()) {
    if (!t) continue;
    if (t.constant) {
      initializers.push(tensorToProto(makeTensor('float32', t.dims, t.data), names[i]));
    } else {
      feeds.push({ name: names[i], dims: t.dims, data: t.data });
      graphInputs.push(valueInfo(names[i], { elemType: 1, shape: t.dims.map((d, k) => (c.symbolic ? `${names[i]}_${k}` : d)) }));
    }
  }
  let last = c.inputs.length;
  while (last > 0 && !c.inputs[last - 1]) last--;
  const model: ModelProto = {
    ir_version: 10,
    opset_import: [
      { domain: '', version: 18 },
      { domain: 'com.lponnx', version: 1 },
    ],
    graph: {
      name: 'fuzz',
      node: [{ name: NODE_NAME, op_type: c.op, domain: 'com.lponnx', input: c.inputs.slice(0, last).map((t, i) => (t ? names[i] : '')), output: ['Y'], attribute: c.attrs }],
      input: graphInputs,
      initializer: initializers,
      output: [valueInfo('Y', { elemType: 1 })],
    },
  };
  return { bytes: encodeModel(model), feeds };
}

export type Decision = { accepted: true; out: NdArray; attrs?: Record<string, unknown> } | { accepted: false; message: string };

/** The float64 reference of ops/ on the node as it reads from the model's bytes. */
export function runReference(c: RawNode, bytes: Uint8Array): Decision {
  const node = decodeModel(bytes).graph?.node?.[0];
  const op = lpOp(c.op);
  if (!op || !node) throw new Error('no node');
  const inputs = c.inputs.map((t) => (t ? { dims: t.dims, data: Float64Array.from(t.data) } : undefined));
  try {
    const attrs = op.parse(node.attribute ?? [], NODE_NAME);
    op.validate(attrs, {
      node: NODE_NAME,
      inputs: inputs.map((t) => (t ? { elemType: 1, shape: t.dims } : undefined)),
      constants: inputs,
      present: inputs.map((t) => t !== undefined),
    });
    return { accepted: true, out: op.reference(attrs, inputs, NODE_NAME), attrs: attrs as Record<string, unknown> };
  } catch (e) {
    if (e instanceof LpOpError) return { accepted: false, message: e.message };
    throw e;
  }
}

/** What lp-onnx/node checks in TypeScript before the kernels: the lp nodes' attribute names. */
export function lpNodeAttributeCheck(bytes: Uint8Array): string | undefined {
  try {
    checkLpAttributes(decodeModel(bytes), 'model');
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
