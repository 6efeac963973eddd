// `lp-onnx export --float16`: a float32 model converted to float16 storage.
//
// - Weights (initializers, Constant nodes) become float16: half the file.
// - lp nodes run in float16 (ops.md, "float16": their kernels and bodies compute in float32); their
//   P input stays float, as ops.md allows: it is a handful of numbers and the output is sensitive to it.
// - A standard node runs in float16 only where onnxruntime's CPU execution provider registers a
//   float16 kernel for its op and opset (float16-kernels.json, made by scripts/gen-float16-kernels.py
//   from onnxruntime's kernel registrations); the others keep float32, with a Cast where a value
//   crosses between the two. Nodes that only move data follow their inputs, so that a Reshape
//   between two float32 nodes adds no Casts.
// - Graph inputs and outputs stay float32 (Cast at the boundary) unless `io` is set.
import TABLE from './float16-kernels.json';
import { FLOAT, FLOAT16 } from '../../ops/common';
import { lpOp } from '../../ops/index';
import type { ValueType } from '../../ops/types';
import { ModelError, isLpNode, isStdDomain } from '../graph/infer';
import { declaredTypes, nodeLabel, opsetVersion, topologicalOrder, valueInfo, valueTypeOf } from '../graph/model';
import { constantOf, nodeView } from '../graph/std-ops';
import type { AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto } from '../onnx/proto';
import { int64ToNumber } from '../onnx/proto';
import { DataType, type ExternalReader, floatToHalf, makeTensor, protoByteSize, protoDims, tensorFromProto, tensorToProto, toFloat32 } from '../onnx/tensor';

type Signature = [number, number, string[], string[]];
const PARAMS = TABLE.params as unknown as Record<string, Signature[]>;
const FLOAT16_KERNELS = TABLE.float16 as unknown as Record<string, [number, number, string[]][]>;
/** The onnxruntime whose CPU kernel registrations the table holds. */
export const FLOAT16_TABLE_RUNTIME = (TABLE.onnxruntime as string[]).join(', ');

const ATTR_TENSOR = 4;

export interface Float16Options {
  /** graph inputs and outputs float16 too (default: float32, with a Cast at the boundary) */
  io?: boolean;
  what?: string;
  readExternal?: ExternalReader;
}

export interface Float16Report {
  /** initializers and Constant values stored as float16: names, and their bytes before and after */
  weights: { names: string[]; bytesBefore: number; bytesAfter: number };
  /** values computed by nodes that are float16 now */
  activations: string[];
  /** graph inputs and outputs: float16 (--float16-io), or kept float32 with a Cast */
  io: { float16: string[]; kept: string[] };
  /** standard nodes kept in float32 by op type (no float16 CPU kernel in onnxruntime) */
  keptFloat32: Map<string, number>;
  casts: number;
}

/** The formal inputs and outputs of a standard op at an opset (a trailing '...' marks a variadic one). */
export function formalParams(op: string, opset: number): { inputs: string[]; outputs: string[] } | undefined {
  const s = PARAMS[op]?.find(([from, to]) => from <= opset && opset <= to);
  return s && { inputs: s[2], outputs: s[3] };
}

/** The type constraints of a standard op for which onnxruntime's CPU execution provider has float16 kernels. */
export function float16Constraints(op: string, opset: number): Set<string> {
  return new Set(FLOAT16_KERNELS[op]?.find(([from, to]) => from <= opset && opset <= to)?.[2] ?? []);
}

function paramAt(params: string[], i: number): string | undefined {
  if (i < params.length) return params[i].replace(/\.\.\.$/, '');
  const last = params[params.length - 1];
  return last?.endsWith('...') ? last.slice(0, -3) : undefined;
}

const FIXED = /^tensor\((\w+)\)$/;

/** Ops that move, select or describe data, and casts: they run in the type their inputs have. */
const FOLLOWS_INPUTS = new Set([
  'Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Concat', 'Split', 'Slice', 'Gather', 'GatherElements', 'GatherND', 'Expand', 'Tile', 'Compress',
  'ReverseSequence', 'DepthToSpace', 'SpaceToDepth', 'Pad', 'Shape', 'Size', 'Cast', 'CastLike',
]);

const attr = (n: NodeProto, name: string): AttributeProto | undefined => nodeView(n, '').attr(name);

/** The element type of each output a standard node has, from onnx's formal parameters and its inputs' types. */
function stdOutputTypes(n: NodeProto, opset: number, inputTypes: (number | undefined)[]): (number | undefined)[] {
  const op = n.op_type ?? '';
  const outputs = n.output ?? [];
  if (op === 'Cast') return [int64ToNumber(attr(n, 'to')?.i ?? 0, 'Cast to')];
  if (op === 'CastLike') return [inputTypes[1]];
  if (op === 'Constant') return [constantOf(nodeView(n, ''))?.elemType];
  if (op === 'ConstantOfShape') return [attr(n, 'value')?.t?.data_type ?? FLOAT];
  const dtype = attr(n, 'dtype');
  const params = formalParams(op, opset);
  if (!params) return outputs.map(() => undefined);
  const bound = new Map<string, number>();
  (n.input ?? []).forEach((x, i) => {
    const p = paramAt(params.inputs, i);
    if (x && p && !FIXED.test(p) && inputTypes[i] !== undefined) bound.set(p, inputTypes[i] as number);
  });
  return outputs.map((_, i) => {
    const p = paramAt(params.outputs, i);
    if (!p) return undefined;
    const fixed = FIXED.exec(p);
    if (fixed) return (DataType as Record<string, number>)[fixed[1].toUpperCase()];
    if (bound.has(p)) return bound.get(p);
    if (dtype) return int64ToNumber(dtype.i ?? 0, 'dtype'); // RandomNormal, EyeLike ...: the type the attribute names
    return undefined;
  });
}

/** Element types of every value: declared ones, then each node's outputs in order. */
function elementTypes(graph: GraphProto, opset: number, what: string): Map<string, number> {
  const types = new Map<string, number>();
  for (const [k, t] of declaredTypes(graph)) if (t.elemType) types.set(k, t.elemType);
  topologicalOrder(graph, what).forEach((n, index) => {
    const ins = (n.input ?? []).map((x) => (x ? types.get(x) : undefined));
    let outs: (number | undefined)[];
    if (isLpNode(n.domain)) outs = [ins[0]];
    else if (isStdDomain(n.domain)) outs = stdOutputTypes(n, opset, ins);
    else outs = (n.output ?? []).map(() => undefined);
    (n.output ?? []).forEach((o, i) => {
      if (!o) return;
      const t = outs[i] ?? types.get(o);
      if (t === undefined) {
        throw new ModelError(
          `${what}: --float16: the element type of '${o}' (output ${i} of node '${nodeLabel(n, index)}', ${n.domain ? `${n.domain}::` : ''}${n.op_type}) is unknown; declare it in the graph's value_info`,
        );
      }
      if (outs[i] !== undefined) types.set(o, outs[i] as number);
    });
  });
  return types;
}

/** float32 TensorProto -> float16 TensorProto (raw_data, each value rounded once), same name and dims. */
export function halfTensor(t: TensorProto, readExternal?: ExternalReader): TensorProto {
  const src = toFloat32(tensorFromProto(t, readExternal));
  const bits = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) bits[i] = floatToHalf(src[i]);
  const out = tensorToProto(makeTensor('float16', protoDims(t), bits), t.name ?? '');
  if (t.doc_string) out.doc_string = t.doc_string;
  return out;
}

type Home = typeof FLOAT | typeof FLOAT16;

/**
 * Converts `model` (in place) to float16 storage; returns what changed. Models with subgraphs
 * (If, Loop, Scan) are refused: their bodies would need the same conversion.
 */
export function convertToFloat16(model: ModelProto, options: Float16Options = {}): Float16Report {
  const what = options.what ?? 'model';
  const graph = (model.graph ??= {});
  const opset = opsetVersion(model, '') ?? 1;
  const nodes = topologicalOrder(graph, what);
  nodes.forEach((n, index) => {
    if ((n.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length)) {
      throw new ModelError(`${what}: --float16: node '${nodeLabel(n, index)}' (${n.op_type}) has subgraphs; lp-onnx converts models without If, Loop or Scan`);
    }
  });
  const types = elementTypes(graph, opset, what);
  const isFloat = (x: string) => types.get(x) === FLOAT;

  // which values are constants (their storage may change), and who reads each value
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const graphInputs = new Set((graph.input ?? []).map((i) => i.name ?? ''));
  for (const name of graphInputs) initializers.delete(name); // an initializer that is an input is an input
  const constantNodes = new Map<string, NodeProto>();
  for (const n of nodes) if (isStdDomain(n.domain) && n.op_type === 'Constant' && n.output?.[0] && isFloat(n.output[0])) constantNodes.set(n.output[0], n);
  const isConstant = (x: string) => initializers.has(x) || constantNodes.has(x);

  // home: the type a float value is produced in; wants: the type each reader needs it in
  const home = new Map<string, Home>();
  for (const name of graphInputs) if (isFloat(name)) home.set(name, options.io ? FLOAT16 : FLOAT);
  const wants = new Map<NodeProto, (Home | undefined)[]>();
  const keptFloat32 = new Map<string, number>();
  // constants stored as float16: every one a node reads as a value of its T (not P, not Resize's scales)
  const storeHalf = new Set<string>();

  for (const n of nodes) {
    if (constantNodes.has(n.output?.[0] ?? '')) continue;
    const ins = n.input ?? [];
    const floatIns = ins.map((x) => !!x && isFloat(x));
    let mode: Home = FLOAT;
    const fixedFloat = new Set<number>(); // inputs whose parameter is float whatever the node's type
    if (isLpNode(n.domain)) {
      mode = FLOAT16;
      const op = lpOp(n.op_type ?? '');
      ins.forEach((_, i) => {
        if (op?.inputs[i]?.name === 'P') fixedFloat.add(i);
      });
    } else if (isStdDomain(n.domain)) {
      const op = n.op_type ?? '';
      const params = formalParams(op, opset);
      const f16 = float16Constraints(op, opset);
      const bound = new Set<string>();
      let capable = !!params;
      if (params) {
        ins.forEach((x, i) => {
          const p = paramAt(params.inputs, i);
          if (!floatIns[i] || !p) return;
          if (FIXED.test(p)) fixedFloat.add(i);
          else bound.add(p);
        });
        (n.output ?? []).forEach((o, i) => {
          const p = paramAt(params.outputs, i);
          if (o && isFloat(o) && p && !FIXED.test(p)) bound.add(p);
        });
        for (const p of bound) if (!f16.has(p)) capable = false;
      }
      if (op === 'Cast' || op === 'CastLike') capable = true; // Cast takes any type; its `to` is set below
      if (bound.size === 0 && op !== 'Cast' && op !== 'CastLike') capable = false; // nothing float to convert
      if (capable) {
        // a node fed only by float32 producers stays float32 where its type is free (data movement, Cast)
        const produced = ins.filter((x, i) => floatIns[i] && !fixedFloat.has(i) && !isConstant(x));
        const allFloat32 = produced.length > 0 && produced.every((x) => home.get(x) === FLOAT);
        mode = allFloat32 && FOLLOWS_INPUTS.has(op) ? FLOAT : FLOAT16;
      } else if (bound.size > 0 || (n.output ?? []).some((o) => o && isFloat(o))) {
        keptFloat32.set(op, (keptFloat32.get(op) ?? 0) + 1);
      }
    }
    const w = ins.map((x, i) => (floatIns[i] ? (fixedFloat.has(i) ? FLOAT : mode) : undefined));
    // P of an lp node is read as it is stored: float or float16 are both valid (ops.md)
    if (isLpNode(n.domain)) for (const i of fixedFloat) w[i] = undefined;
    wants.set(n, w);
    ins.forEach((x, i) => {
      if (!fixedFloat.has(i) && floatIns[i]) storeHalf.add(x);
    });
    for (const o of n.output ?? []) {
      if (!o || !isFloat(o)) continue;
      home.set(o, mode);
    }
    if (mode === FLOAT16) retypeAttributes(n, (n.output ?? []).some((o) => o && isFloat(o)));
  }
  const graphOutputs = (graph.output ?? []).map((o) => o.name ?? '');
  // a graph output that is a graph input or an initializer cannot be renamed: refused, before
  // anything is rewritten, where its type would have to change
  for (const o of graphOutputs) {
    const stays = graphInputs.has(o) ? home.get(o) : initializers.has(o) ? (storeHalf.has(o) || options.io ? FLOAT16 : FLOAT) : undefined;
    if (isFloat(o) && stays !== undefined && stays !== (options.io ? FLOAT16 : FLOAT)) {
      throw new ModelError(`${what}: --float16: graph output '${o}' is also a graph input or initializer; add an Identity node before converting`);
    }
  }

  // constants: float16 where any reader takes a value of its T (a float32 reader gets a Cast, which
  // onnxruntime folds at load): half the file; P and fixed-float parameters keep their float
  const report: Float16Report = { weights: { names: [], bytesBefore: 0, bytesAfter: 0 }, activations: [], io: { float16: [], kept: [] }, keptFloat32, casts: 0 };
  for (const [name, t] of initializers) {
    if (!isFloat(name)) continue;
    const half = storeHalf.has(name) || (graphOutputs.includes(name) && !!options.io);
    home.set(name, half ? FLOAT16 : FLOAT);
    if (!half) continue;
    const h = halfTensor(t, options.readExternal);
    report.weights.bytesBefore += protoByteSize(t);
    report.weights.bytesAfter += protoByteSize(h);
    report.weights.names.push(name);
    Object.keys(t).forEach((k) => delete (t as Record<string, unknown>)[k]);
    Object.assign(t, h);
  }
  for (const [name, n] of constantNodes) {
    const half = storeHalf.has(name);
    home.set(name, half ? FLOAT16 : FLOAT);
    if (!half) continue;
    const a = (n.attribute ?? [])[0];
    const t: TensorProto = a.t ?? { name, data_type: FLOAT, dims: a.name === 'value_floats' ? [a.floats?.length ?? 0] : [], float_data: a.name === 'value_floats' ? a.floats : [a.f ?? 0] };
    const h = halfTensor(t, options.readExternal);
    report.weights.bytesBefore += protoByteSize(t);
    report.weights.bytesAfter += protoByteSize(h);
    report.weights.names.push(name);
    n.attribute = [{ name: 'value', type: ATTR_TENSOR, t: h }];
  }
  for (const n of nodes) {
    for (const o of n.output ?? []) if (o && home.get(o) === FLOAT16 && !constantNodes.has(o)) report.activations.push(o);
  }

  // the rewrite: a Cast before each reader that needs the other type (one per value and type)
  const taken = new Set<string>([...types.keys(), ...graphInputs, ...graphOutputs]);
  const fresh = (base: string) => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
  const out: NodeProto[] = [];
  const casts = new Map<string, string>();
  const castOf = (x: string, to: Home): string => {
    const key = `${x}\u0000${to}`;
    let name = casts.get(key);
    if (!name) {
      name = fresh(`${x}_${to === FLOAT16 ? 'float16' : 'float32'}`);
      casts.set(key, name);
      out.push({ op_type: 'Cast', name: fresh(`cast_${name}`), input: [x], output: [name], attribute: [{ name: 'to', type: 2, i: to }] });
      report.casts++;
    }
    return name;
  };
  // a float16-home graph output read as float32 outside: its producer writes <name>_float16, a Cast writes <name>
  const renamed = new Map<string, string>();
  for (const o of graphOutputs) {
    const target: Home = options.io ? FLOAT16 : FLOAT;
    if (isFloat(o) && home.get(o) !== target && !graphInputs.has(o) && !initializers.has(o)) renamed.set(o, fresh(`${o}_${home.get(o) === FLOAT16 ? 'float16' : 'float32'}`));
  }
  const rename = (x: string) => renamed.get(x) ?? x;
  for (const n of nodes) {
    const w = wants.get(n);
    n.input = (n.input ?? []).map((x, i) => {
      const t = w?.[i];
      if (!x || t === undefined || home.get(x) === t) return rename(x);
      return castOf(rename(x), t);
    });
    n.output = (n.output ?? []).map(rename);
    out.push(n);
  }
  for (const [o, inner] of renamed) {
    const target: Home = options.io ? FLOAT16 : FLOAT;
    out.push({ op_type: 'Cast', name: fresh(`cast_${o}`), input: [inner], output: [o], attribute: [{ name: 'to', type: 2, i: target }] });
    report.casts++;
  }
  graph.node = out;

  // declared types follow: inputs and outputs (with --float16-io), value_info of every float value
  for (const vi of [...(graph.input ?? []), ...(graph.output ?? [])]) {
    const name = vi.name ?? '';
    const tt = vi.type?.tensor_type;
    if (!tt || tt.elem_type !== FLOAT) continue;
    if (options.io && !initializers.has(name)) {
      tt.elem_type = FLOAT16;
      report.io.float16.push(name);
    } else {
      report.io.kept.push(name);
    }
  }
  const known = new Map<string, ValueType>();
  for (const vi of graph.value_info ?? []) {
    const t = valueTypeOf(vi);
    if (t) known.set(vi.name ?? '', t);
  }
  for (const vi of graph.value_info ?? []) {
    const name = vi.name ?? '';
    const tt = vi.type?.tensor_type;
    if (tt && tt.elem_type === FLOAT && home.get(name) === FLOAT16) tt.elem_type = FLOAT16;
    if (renamed.has(name)) vi.name = renamed.get(name);
  }
  const shapeOf = (x: string) => known.get(x)?.shape;
  for (const [key, name] of casts) {
    const [x, to] = key.split('\u0000');
    graph.value_info = [...(graph.value_info ?? []), valueInfo(name, { elemType: Number(to), shape: shapeOf(x) })];
  }
  // every float value an lp node reads or writes carries its type, as export's value_info does
  for (const [x, t] of home) {
    if (t !== FLOAT16 || graphInputs.has(x) || (graph.value_info ?? []).some((v) => v.name === rename(x))) continue;
    if (initializers.has(x)) continue;
    graph.value_info = [...(graph.value_info ?? []), valueInfo(rename(x), { elemType: FLOAT16, shape: shapeOf(x) })];
  }
  return report;
}

/** A node now run in float16 makes float16 where an attribute named float: Cast's `to`, `dtype`, ConstantOfShape's value. */
function retypeAttributes(n: NodeProto, makesFloat: boolean): void {
  for (const a of n.attribute ?? []) {
    if ((a.name === 'to' && n.op_type === 'Cast') || a.name === 'dtype') {
      if (int64ToNumber(a.i ?? 0, a.name) === FLOAT) a.i = FLOAT16;
    }
  }
  if (n.op_type === 'ConstantOfShape' && makesFloat) {
    const a = attr(n, 'value');
    const v = a?.t ? toFloat32(tensorFromProto(a.t))[0] : 0;
    const t = tensorToProto(makeTensor('float16', [1], new Uint16Array([floatToHalf(v)])), '');
    if (a) a.t = t;
    else (n.attribute ??= []).push({ name: 'value', type: ATTR_TENSOR, t });
  }
}

/** The report's lines (export prints them under its own). */
export function formatFloat16(r: Float16Report, sizeBefore: number, sizeAfter: number): string {
  const mb = (b: number) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
  const list = (names: string[], max = 12) => (names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`);
  const lines = [`float16: model ${mb(sizeBefore)} -> ${mb(sizeAfter)}`];
  if (r.weights.names.length) lines.push(`  weights to float16 (${r.weights.names.length}, ${mb(r.weights.bytesBefore)} -> ${mb(r.weights.bytesAfter)}): ${list(r.weights.names)}`);
  if (r.activations.length) lines.push(`  activations to float16 (${r.activations.length}): ${list(r.activations)}`);
  if (r.io.float16.length) lines.push(`  inputs and outputs to float16 (--float16-io): ${list(r.io.float16)}`);
  if (r.io.kept.length) lines.push(`  inputs and outputs kept float32, Cast inside (--float16-io makes them float16): ${list(r.io.kept)}`);
  if (r.keptFloat32.size) {
    const ops = [...r.keptFloat32].map(([k, v]) => `${k} x${v}`).join(', ');
    lines.push(`  kept float32, no float16 CPU kernel in onnxruntime ${FLOAT16_TABLE_RUNTIME}: ${ops}`);
  }
  lines.push(`  ${r.casts} Cast node${r.casts === 1 ? '' : 's'} added`);
  return `${lines.join('\n')}\n`;
}
