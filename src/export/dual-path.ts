// Dual-path assembly: every com.lponnx node keeps its single custom node and gets a model-local
// function (standard ops only) beside it, so the model runs on a stock onnxruntime and on fused
// kernels where lp-onnx is registered. An op whose nodes share one body gets one function without
// `overload` (read right by every runtime); an op whose nodes need several gets them chosen by
// `overload`, which only onnxruntime 1.27 and later select (ops.md, "Portable form").
import { MIN_BODY_OPSET } from '../../ops/body';
import { LP_DOMAIN, LP_OPSET_VERSION, lpOp } from '../../ops/index';
import { type AttrSchema, type AttrValues, attributeProto } from '../../ops/attributes';
import { type L1ConvAttrs, l1ConvBodyByReference, l1ConvExplicitAttributes } from '../../ops/l1-conv';
import type { NodeContext, OpDefinition, ValueType } from '../../ops/types';
import { checkConnected, inferTypes, isLpNode, ModelError } from '../graph/infer';
import { constantInitializers, nodeContext, nodeLabel, opsetVersion, valueInfo } from '../graph/model';
import { lowestIrVersion } from '../onnx/ir-version';
import type { AttributeProto, FunctionProto, GraphProto, ModelProto, NodeProto, TensorProto } from '../onnx/proto';
import type { ExternalReader } from '../onnx/tensor';
import { PRODUCER_NAME, PRODUCER_VERSION } from '../version';
import { foldConstants } from './fold';
import { type FuseReport, fuseAll } from './fuse';

export const DEFAULT_OPSET = 18;
export const MAX_OPSET = 23;

export interface ExportOptions {
  /** ONNX opset for a model that imports none, or that has no standard nodes (13-23); default: the model's own, else 18 */
  opset?: number;
  /** names the source in messages */
  what?: string;
  readExternal?: ExternalReader;
  /** fuse Lp layers written with standard ops into com.lponnx nodes (default true) */
  fuse?: boolean;
}

export interface ExportReport {
  lpNodes: { name: string; opType: string; overload: string }[];
  functions: number;
  /** nodes folded into constants (parametrisations) */
  folded: number;
  /** Lp layers written with standard ops that became lp nodes, and near misses left alone */
  fusion: FuseReport;
}

/** Returns a new dual-path model; the input is not modified. */
export function exportDualPath(source: ModelProto, options: ExportOptions = {}): { model: ModelProto; report: ExportReport } {
  const what = options.what ?? 'model';
  // --no-fuse on a model without lp nodes keeps its graph as it is (nothing folded either)
  const keep = options.fuse === false && !(source.graph?.node ?? []).some((n) => isLpNode(n.domain));
  const { model, folded } = keep ? { model: structuredClone(source), folded: 0 } : foldConstants(structuredClone(source), options.readExternal);
  const modelOpset = opsetVersion(model, '');
  const opset = bodyOpset(model, modelOpset, options.opset, what);
  const lpVersion = opsetVersion(model, LP_DOMAIN);
  if (lpVersion !== undefined && lpVersion !== LP_OPSET_VERSION) {
    throw new ModelError(`${what}: the model imports ${LP_DOMAIN} version ${lpVersion}; lp-onnx implements version ${LP_OPSET_VERSION}`);
  }
  checkFunctionsInGraph(model.graph?.node ?? [], model.functions ?? [], what);
  checkConnected(model, what);

  const fusion: FuseReport =
    options.fuse === false ? { fused: [], nearMisses: [] } : fuseAll(model, () => inferTypes(model, what, options.readExternal), options.readExternal);
  const graph = model.graph ?? {};
  const types = inferTypes(model, what, options.readExternal);
  const constants = constantInitializers(graph);
  const report: ExportReport = { lpNodes: [], functions: 0, folded, fusion };
  const nodes = graph.node ?? [];
  const entries: LpEntry[] = [];
  nodes.forEach((n, index) => {
    if (!isLpNode(n.domain)) return;
    const label = nodeLabel(n, index);
    const op = lpOp(n.op_type ?? '');
    if (!op) throw new ModelError(`${what}: node '${label}': unknown op '${n.op_type}' in domain ${LP_DOMAIN} (expected LpNorm, LpPool or L1Conv)`);
    if ((n.output ?? []).length !== 1) {
      throw new ModelError(`${what}: node '${label}': ${n.op_type} has exactly one output, got ${(n.output ?? []).length}`);
    }
    if ((n.input ?? []).length > op.inputs.length) {
      throw new ModelError(`${what}: node '${label}': ${n.op_type} takes at most ${op.inputs.length} inputs, got ${(n.input ?? []).length}`);
    }
    const e: LpEntry = { n, label, op, ...describe(n, label, op, types, constants, what, options.readExternal) };
    if (writeGlobalKernel(n, op.opType, e.attrs.global, e.ctx.inputs[0]?.shape?.length)) Object.assign(e, describe(n, label, op, types, constants, what, options.readExternal));
    entries.push(e);
  });

  // One function per op where its nodes can share one body (ops.md, "Portable form"): nodes that
  // need different bodies are written to give the optional inputs (P as [p], B as zeros), and L1Conv
  // nodes to carry their whole geometry, when that makes one body serve them all; otherwise the
  // op's bodies are chosen by overload, which only onnxruntime 1.27 and later select.
  const bodies: FunctionProto[] = [];
  const bodyOf = (e: LpEntry, overload: string) => {
    try {
      const body = e.op.functionBody(e.attrs, e.ctx, { opset, name: e.op.opType, overload });
      body.doc_string = `${body.doc_string}\nkey: ${e.key}`;
      return body;
    } catch (err) {
      throw new ModelError(`${what}: ${(err as Error).message}`);
    }
  };
  const redescribe = (group: LpEntry[]) => {
    for (const e of group) Object.assign(e, describe(e.n, e.label, e.op, types, constants, what, options.readExternal));
  };
  const byKey = new Map<string, string>(); // equal keys, equal bodies
  const content = (e: LpEntry) => byKey.get(e.key) ?? (byKey.set(e.key, bodyContent(bodyOf(e, ''))).get(e.key) as string);
  const kindsOf = (group: LpEntry[]) => [...new Set(group.map(content))];
  for (const opType of [...new Set(entries.map((e) => e.op.opType))]) {
    const group = entries.filter((e) => e.op.opType === opType);
    if (kindsOf(group).length > 1) {
      const undo = giveOptionalInputs(group, graph, types, constants);
      redescribe(group);
      // L1Conv nodes of several geometries: one body that reads the geometry by reference
      const byReference = opType === 'L1Conv' && kindsOf(group).length > 1 ? l1ConvByReference(group, opset) : undefined;
      if (byReference) {
        redescribe(group);
        bodies.push(byReference);
        for (const e of group) delete e.n.overload;
        continue;
      }
      if (kindsOf(group).length > 1) {
        undo();
        redescribe(group);
      }
    }
    const kinds = kindsOf(group);
    for (const [i, c] of kinds.entries()) bodies.push(bodyOf(group.find((e) => content(e) === c) as LpEntry, kinds.length > 1 ? `v${i + 1}` : ''));
    for (const e of group) {
      if (kinds.length > 1) e.n.overload = `v${kinds.indexOf(content(e)) + 1}`;
      else delete e.n.overload;
    }
  }
  for (const e of entries) report.lpNodes.push({ name: e.label, opType: e.op.opType, overload: e.n.overload ?? '' });

  // Replace earlier lp function bodies (re-export is idempotent), keep other local functions.
  model.functions = [...(model.functions ?? []).filter((f) => f.domain !== LP_DOMAIN), ...bodies];
  report.functions = bodies.length;
  setOpset(model, '', opset);
  if (report.lpNodes.length > 0) setOpset(model, LP_DOMAIN, LP_OPSET_VERSION);
  writeValueInfo(model, types);
  // the lowest IR the file needs (IR 10 only for overloads), so runtimes that read IR 9 at most load it
  model.ir_version = lowestIrVersion(model);
  setMetadata(model, 'lp-onnx.producer', `${PRODUCER_NAME} ${PRODUCER_VERSION}`);
  model.producer_name ||= PRODUCER_NAME;
  model.producer_version ||= PRODUCER_VERSION;
  return { model, report };
}

/**
 * The ONNX opset of the bodies. onnxruntime inlines a model-local function at the model's own
 * opset (it ignores the function's import), so bodies use the model's opset; changing the
 * opset of a model that has standard nodes would change what those nodes mean, so it is refused.
 */
function bodyOpset(model: ModelProto, modelOpset: number | undefined, requested: number | undefined, what: string): number {
  const opset = requested ?? modelOpset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < MIN_BODY_OPSET || opset > MAX_OPSET) {
    throw new ModelError(`${what}: ONNX opset ${opset} is not supported for function bodies (expected ${MIN_BODY_OPSET} to ${MAX_OPSET})`);
  }
  const standardNodes = (model.graph?.node ?? []).filter((n) => !n.domain || n.domain === 'ai.onnx');
  if (modelOpset !== undefined && opset !== modelOpset && standardNodes.length > 0) {
    throw new ModelError(
      `${what}: the model's standard nodes are at ONNX opset ${modelOpset}; function bodies must use the same opset (onnxruntime inlines them at the model's opset), so --opset ${opset} cannot be applied; convert the model first or drop --opset`,
    );
  }
  return opset;
}

/** A node that calls a model-local function must find it (domain, name, overload). */
function checkFunctionsInGraph(nodes: NodeProto[], functions: FunctionProto[], what: string): void {
  const localDomains = new Set(functions.map((f) => f.domain ?? ''));
  for (const n of nodes) {
    if (isLpNode(n.domain) || !localDomains.has(n.domain ?? '') || !n.domain) continue;
    const found = functions.some((f) => f.domain === n.domain && f.name === n.op_type && (f.overload ?? '') === (n.overload ?? ''));
    if (!found) throw new ModelError(`${what}: node '${n.name}' calls ${n.domain}::${n.op_type} but the model has no such function`);
  }
}

export function setOpset(model: ModelProto, domain: string, version: number): void {
  model.opset_import ??= [];
  const entry = model.opset_import.find((o) => (o.domain ?? '') === domain || (domain === '' && o.domain === 'ai.onnx'));
  if (entry) entry.version = version;
  else model.opset_import.push({ domain, version });
}

export function setMetadata(model: ModelProto, key: string, value: string): void {
  model.metadata_props ??= [];
  const e = model.metadata_props.find((m) => m.key === key);
  if (e) e.value = value;
  else model.metadata_props.push({ key, value });
}

/** value_info for every inferred intermediate; graph outputs get their inferred type where none was declared. */
function writeValueInfo(model: ModelProto, types: Map<string, ValueType>): void {
  const graph = model.graph ?? {};
  const skip = new Set<string>([
    ...(graph.input ?? []).map((i) => i.name ?? ''),
    ...(graph.initializer ?? []).map((i) => i.name ?? ''),
    ...(graph.output ?? []).map((o) => o.name ?? ''),
  ]);
  const produced = (graph.node ?? []).flatMap((n) => n.output ?? []).filter((o) => o && !skip.has(o));
  const existing = new Map((graph.value_info ?? []).map((v) => [v.name ?? '', v]));
  graph.value_info = produced.flatMap((name) => {
    const t = types.get(name);
    return t && t.elemType ? [valueInfo(name, t)] : existing.has(name) ? [existing.get(name) as NonNullable<ReturnType<typeof existing.get>>] : [];
  });
  // Graph outputs: the inferred type (declared dims kept where inference knows less).
  for (const out of graph.output ?? []) {
    const t = types.get(out.name ?? '');
    if (t?.elemType && (t.shape || !out.type)) out.type = valueInfo(out.name ?? '', t).type;
  }
}

/**
 * A global LpPool gets kernel_shape = 1s (the window is the whole extent whatever it says; lp-onnx's
 * kernels and bodies ignore it): onnx's reference evaluator checks a com.lponnx LpPool node against
 * ONNX LpPool's schema, found by op name alone, which requires kernel_shape.
 */
function writeGlobalKernel(n: NodeProto, opType: string, global: unknown, rank: number | undefined): boolean {
  if (opType !== 'LpPool' || global !== 1 || rank === undefined || rank < 3 || (n.attribute ?? []).some((a) => a.name === 'kernel_shape')) return false;
  n.attribute = [...(n.attribute ?? []), attributeProto('kernel_shape', 'ints', new Array<number>(rank - 2).fill(1))];
  return true;
}

type Op = OpDefinition<AttrSchema>;

interface LpEntry {
  n: NodeProto;
  label: string;
  op: Op;
  attrs: AttrValues<AttrSchema>;
  ctx: NodeContext;
  key: string;
}

/** A node's attributes, context and body key, validated. */
function describe(
  n: NodeProto,
  label: string,
  op: Op,
  types: ReadonlyMap<string, ValueType>,
  constants: ReadonlyMap<string, TensorProto>,
  what: string,
  readExternal: ExternalReader | undefined,
): Pick<LpEntry, 'attrs' | 'ctx' | 'key'> {
  try {
    const attrs = op.parse(n.attribute ?? [], label);
    const ctx = nodeContext(n, label, types, constants, readExternal);
    op.validate(attrs, ctx);
    return { attrs, ctx, key: op.bodyKey(attrs, ctx) };
  } catch (e) {
    throw new ModelError(`${what}: ${(e as Error).message}`);
  }
}

/** A body's content: what it computes, without its doc string and overload. */
function bodyContent(f: FunctionProto): string {
  return JSON.stringify({ input: f.input, output: f.output, node: f.node }, (_, v) => (v instanceof Uint8Array ? Array.from(v) : typeof v === 'bigint' ? String(v) : v));
}

/**
 * Nodes of one op that do not give an optional input are given it with the same meaning: P as [p]
 * (the attribute it stands for), B as zeros where other nodes give a B. Returns what undoes it.
 */
function giveOptionalInputs(group: LpEntry[], graph: GraphProto, types: Map<string, ValueType>, constants: Map<string, TensorProto>): () => void {
  const op = group[0].op;
  const taken = new Set([...(graph.initializer ?? []).map((t) => t.name ?? ''), ...(graph.node ?? []).flatMap((n) => [...(n.input ?? []), ...(n.output ?? [])])]);
  const added: string[] = [];
  const before = group.map((e) => e.n.input);
  op.inputs.forEach((spec, i) => {
    if (!spec.optional) return;
    // P for every node that lacks it (as [p], one exponent like the attribute); B only where some give one
    const given = group.filter((e) => (e.n.input ?? [])[i]).length;
    if (given === group.length || (spec.name !== 'P' && given === 0)) return;
    for (const e of group) {
      if ((e.n.input ?? [])[i]) continue;
      const cout = e.ctx.inputs[1]?.shape?.[0] ?? e.ctx.constants[1]?.dims[0];
      if (spec.name !== 'P' && typeof cout !== 'number') continue; // B's length is unknown: left as it is
      const values = spec.name === 'P' ? Float32Array.of(e.attrs.p as number) : new Float32Array(cout as number);
      let name = `${e.label}.${spec.name}`;
      for (let k = 2; taken.has(name); k++) name = `${e.label}.${spec.name}_${k}`;
      taken.add(name);
      const t: TensorProto = { name, dims: [values.length], data_type: 1, raw_data: new Uint8Array(values.buffer) };
      (graph.initializer ??= []).push(t);
      constants.set(name, t);
      types.set(name, { elemType: 1, shape: [values.length] });
      added.push(name);
      const inputs = [...(e.n.input ?? [])];
      while (inputs.length < i) inputs.push('');
      inputs[i] = name;
      e.n.input = inputs;
    }
  });
  return () => {
    group.forEach((e, k) => {
      e.n.input = before[k];
    });
    const gone = new Set(added);
    graph.initializer = (graph.initializer ?? []).filter((t) => !gone.has(t.name ?? ''));
    for (const name of added) {
      constants.delete(name);
      types.delete(name);
    }
  };
}

/**
 * L1Conv nodes of several geometries (kernels, strides, pads, dilations, groups, ranks) share one body
 * that reads the geometry by reference, once every attribute it reads is written on each node and
 * all give B or none do; undefined (nodes unchanged) where that cannot be (SAME pads).
 */
function l1ConvByReference(group: LpEntry[], opset: number): FunctionProto | undefined {
  const explicit = group.map((e) => l1ConvExplicitAttributes(e.attrs as L1ConvAttrs, e.ctx));
  const bias = group.map((e) => Boolean((e.n.input ?? [])[2]));
  if (explicit.some((a) => !a) || bias.some((x) => x !== bias[0])) return undefined;
  group.forEach((e, i) => {
    const written = explicit[i] as AttributeProto[];
    const names = new Set(written.map((a) => a.name));
    e.n.attribute = [...(e.n.attribute ?? []).filter((a) => !names.has(a.name)), ...written];
  });
  return l1ConvBodyByReference({ opset, name: 'L1Conv', overload: '', bias: bias[0] });
}
