// Dual-path assembly: every com.lponnx node keeps its single custom node and gets a model-local
// function (standard ops only) beside it, so the model runs on a stock onnxruntime and on fused
// kernels where lp-onnx is registered. Each op has one function, without `overload`, right for
// every node of the op (ops.md, "Portable form").
import { castBody, MIN_BODY_OPSET } from '../../ops/body';
import { FLOAT, FLOAT16 } from '../../ops/common';
import { LP_DOMAIN, LP_OPSET_VERSION, lpOp } from '../../ops/index';
import { type AttrSchema, type AttrValues, attributeProto } from '../../ops/attributes';
import type { NodeContext, OpDefinition, ValueType } from '../../ops/types';
import { checkConnected, inferTypes, isLpNode, ModelError } from './infer';
import { constantInitializers, nodeContext, nodeLabel, opsetVersion, valueInfo } from './model';
import { lowestIrVersion } from '../onnx/ir-version';
import type { FunctionProto, GraphProto, ModelProto, NodeProto, TensorProto } from '../onnx/proto';
import type { ExternalReader } from '../onnx/tensor';
import { PRODUCER_NAME, PRODUCER_VERSION } from '../version';

export const DEFAULT_OPSET = 18;
export const MAX_OPSET = 23;

export interface DualPathOptions {
  /** ONNX opset for a model that imports none, or that has no standard nodes (13-23); default: the model's own, else 18 */
  opset?: number;
  /** names the source in messages */
  what?: string;
  readExternal?: ExternalReader;
}

/** The checks a model passes before it is given bodies; returns the bodies' opset. */
export function checkForBodies(model: ModelProto, options: DualPathOptions = {}): number {
  const what = options.what ?? 'model';
  const opset = bodyOpset(model, opsetVersion(model, ''), options.opset, what);
  const lpVersion = opsetVersion(model, LP_DOMAIN);
  if (lpVersion !== undefined && lpVersion !== LP_OPSET_VERSION) {
    throw new ModelError(`${what}: the model imports ${LP_DOMAIN} version ${lpVersion}; lp-onnx implements version ${LP_OPSET_VERSION}`);
  }
  checkFunctionsInGraph(model.graph?.node ?? [], model.functions ?? [], what);
  checkConnected(model, what);
  return opset;
}

/** A new dual-path model of a model built with lp nodes (the builder's); the input is not modified. */
export function dualPathModel(source: ModelProto, options: DualPathOptions = {}): ModelProto {
  const model = structuredClone(source);
  addFunctionBodies(model, checkForBodies(model, options), options);
  return model;
}

/**
 * Gives every lp node of MODEL (changed in place) its function body, one per op, at OPSET (from
 * checkForBodies); writes value_info, the opsets and the lowest IR version the file needs.
 */
export function addFunctionBodies(model: ModelProto, opset: number, options: DualPathOptions = {}): { lpNodes: { name: string; opType: string }[]; functions: number } {
  const what = options.what ?? 'model';
  const graph = model.graph ?? {};
  const types = inferTypes(model, what, options.readExternal);
  const constants = constantInitializers(graph);
  const report = { lpNodes: [] as { name: string; opType: string }[], functions: 0 };
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

  // One function per op (ops.md, "Portable form"): runtimes before onnxruntime 1.27 and onnx's
  // reference evaluator give every node of an op the function of that name, whatever its overload.
  // Nodes that need different specialised bodies are given the optional inputs alike (P as [p], B
  // as zeros) and, where that is not enough, written with every attribute explicit so that one
  // shared body reads them by reference; a model where even that cannot be is refused.
  const bodies: FunctionProto[] = [];
  const bodyOf = (e: LpEntry) => {
    try {
      const body = e.op.functionBody(e.attrs, e.ctx, { opset, name: e.op.opType, overload: '' });
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
  const content = (e: LpEntry) => byKey.get(e.key) ?? (byKey.set(e.key, bodyContent(bodyOf(e))).get(e.key) as string);
  const kindsOf = (group: LpEntry[]) => [...new Set(group.map(content))];
  for (const opType of [...new Set(entries.map((e) => e.op.opType))]) {
    const group = entries.filter((e) => e.op.opType === opType);
    for (const e of group) delete e.n.overload;
    if (kindsOf(group).length > 1) {
      giveOptionalInputs(group, graph, types, constants);
      redescribe(group);
    }
    let body: FunctionProto;
    if (kindsOf(group).length === 1) {
      body = bodyOf(group[0]);
    } else {
      body = sharedBody(group, opset, what);
      redescribe(group);
    }
    bodies.push(float16Ready(body, group, opset, what));
  }
  for (const e of entries) report.lpNodes.push({ name: e.label, opType: e.op.opType });

  // Replace earlier lp function bodies (re-export is idempotent), keep other local functions.
  model.functions = [...(model.functions ?? []).filter((f) => f.domain !== LP_DOMAIN), ...bodies];
  report.functions = bodies.length;
  setOpset(model, '', opset);
  if (report.lpNodes.length > 0) setOpset(model, LP_DOMAIN, LP_OPSET_VERSION);
  writeValueInfo(model, types);
  // the lowest IR the file needs (functions: 8), so runtimes that read IR 9 at most load it
  model.ir_version = lowestIrVersion(model);
  setMetadata(model, 'lp-onnx.producer', `${PRODUCER_NAME} ${PRODUCER_VERSION}`);
  model.producer_name ||= PRODUCER_NAME;
  model.producer_version ||= PRODUCER_VERSION;
  return report;
}

/**
 * The op's body as it must be for its nodes' element types: unchanged where every input is float,
 * else cast to float and back (ops.md, "float16"): to float16 where every node's T is float16,
 * like X where float and float16 nodes of the op share the body.
 */
function float16Ready(body: FunctionProto, group: readonly LpEntry[], opset: number, what: string): FunctionProto {
  if (!group.some((e) => e.ctx.inputs.some((t) => t?.elemType === FLOAT16))) return body;
  const ts = group.map((e) => e.ctx.inputs[0]?.elemType);
  const output = ts.every((t) => t === FLOAT16) ? 'float16' : ts.every((t) => t !== FLOAT16) ? 'float' : 'like-x';
  try {
    return castBody(body, output, opset);
  } catch (err) {
    throw new ModelError(`${what}: ${(err as Error).message}`);
  }
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
 * (the attribute it stands for), B as zeros where other nodes give a B (and its length is known).
 */
function giveOptionalInputs(group: LpEntry[], graph: GraphProto, types: Map<string, ValueType>, constants: Map<string, TensorProto>): void {
  const op = group[0].op;
  const taken = new Set([...(graph.initializer ?? []).map((t) => t.name ?? ''), ...(graph.node ?? []).flatMap((n) => [...(n.input ?? []), ...(n.output ?? [])])]);
  op.inputs.forEach((spec, i) => {
    if (!spec.optional) return;
    // P for every node that lacks it (as [p], one exponent like the attribute); B only where some give one
    const given = group.filter((e) => (e.n.input ?? [])[i]).length;
    if (given === group.length || (spec.name !== 'P' && given === 0)) return;
    for (const e of group) {
      if ((e.n.input ?? [])[i]) continue;
      const cout = e.ctx.inputs[1]?.shape?.[0] ?? e.ctx.constants[1]?.dims[0];
      if (spec.name !== 'P' && typeof cout !== 'number') continue; // B's length is unknown: left as it is
      // P as float (either type is valid); B zeros of the node's T
      const half = spec.name !== 'P' && e.ctx.inputs[0]?.elemType === FLOAT16;
      const values = spec.name === 'P' ? Float32Array.of(e.attrs.p as number) : half ? new Uint16Array(cout as number) : new Float32Array(cout as number);
      let name = `${e.label}.${spec.name}`;
      for (let k = 2; taken.has(name); k++) name = `${e.label}.${spec.name}_${k}`;
      taken.add(name);
      const elemType = half ? FLOAT16 : FLOAT;
      const t: TensorProto = { name, dims: [values.length], data_type: elemType, raw_data: new Uint8Array(values.buffer) };
      (graph.initializer ??= []).push(t);
      constants.set(name, t);
      types.set(name, { elemType, shape: [values.length] });
      const inputs = [...(e.n.input ?? [])];
      while (inputs.length < i) inputs.push('');
      inputs[i] = name;
      e.n.input = inputs;
    }
  });
}

/**
 * The op's shared body for nodes that need different specialised ones: every attribute it reads is
 * written onto each node (with the same meaning). Refuses the model where a node cannot share it.
 */
function sharedBody(group: LpEntry[], opset: number, what: string): FunctionProto {
  const op = group[0].op;
  const refuse = (why: string) =>
    new ModelError(
      `${what}: the ${op.opType} nodes ${group.map((e) => `'${e.label}'`).join(', ')} need different function bodies and cannot share one (${why}); ` +
        'a file with several bodies for one op computes wrong values on onnxruntime before 1.27 and on onnx\'s reference evaluator, so it is not written. ' +
        '`lp-onnx lower` writes a standard-ops file that runs everywhere; or give every node the same form',
    );
  for (const e of group) {
    const written = op.shared.explicitAttributes(e.attrs, e.ctx);
    if (typeof written === 'string') throw refuse(`node '${e.label}': ${written}`);
    const names = new Set(written.map((a) => a.name));
    e.n.attribute = [...(e.n.attribute ?? []).filter((a) => !names.has(a.name)), ...written];
  }
  const nodes = group.map((e) => ({ attrs: op.parse(e.n.attribute ?? [], e.label), ctx: e.ctx }));
  const body = op.shared.body(nodes, { opset, name: op.opType, overload: '' });
  if (typeof body === 'string') throw refuse(body);
  // numeric twins of string attributes only where the body reads them (the string differs between nodes)
  const read = new Set(body.attribute ?? []);
  const twins = new Set(Object.entries(op.attributes).flatMap(([name, spec]) => (spec.twinOf && !read.has(name) ? [name] : [])));
  for (const e of group) e.n.attribute = (e.n.attribute ?? []).filter((a) => !twins.has(a.name ?? ''));
  return body;
}
