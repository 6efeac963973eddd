// Dual-path assembly: every com.lponnx node keeps its single custom node and gets a model-local
// function (standard ops only) beside it, so the model runs on a stock onnxruntime and on fused
// kernels where lp-onnx is registered. An op whose nodes share one body gets one function without
// `overload` (read right by every runtime); an op whose nodes need several gets them chosen by
// `overload`, which only onnxruntime 1.27 and later select (ops.md, "Portable form").
import { MIN_BODY_OPSET } from '../../ops/body';
import { LP_DOMAIN, LP_OPSET_VERSION, lpOp } from '../../ops/index';
import type { ValueType } from '../../ops/types';
import { checkConnected, inferTypes, isLpNode, ModelError } from '../graph/infer';
import { constantInitializers, nodeContext, nodeLabel, opsetVersion, valueInfo } from '../graph/model';
import { attributeProto } from '../../ops/attributes';
import { lowestIrVersion } from '../onnx/ir-version';
import type { FunctionProto, ModelProto, NodeProto } from '../onnx/proto';
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
  const bodies = new Map<string, FunctionProto>();
  const report: ExportReport = { lpNodes: [], functions: 0, folded, fusion };
  const counters = new Map<string, number>();
  const nodes = graph.node ?? [];
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
    try {
      let attrs = op.parse(n.attribute ?? [], label);
      const ctx = nodeContext(n, label, types, constants, options.readExternal);
      op.validate(attrs, ctx);
      if (writeGlobalKernel(n, op.opType, attrs.global, ctx.inputs[0]?.shape?.length)) attrs = op.parse(n.attribute ?? [], label);
      const key = op.bodyKey(attrs, ctx);
      let body = bodies.get(key);
      if (!body) {
        const k = (counters.get(op.opType) ?? 0) + 1;
        counters.set(op.opType, k);
        const overload = `v${k}`;
        body = op.functionBody(attrs, ctx, { opset, name: op.opType, overload });
        body.doc_string = `${body.doc_string}\nkey: ${key}`;
        bodies.set(key, body);
      }
      n.overload = body.overload;
      report.lpNodes.push({ name: label, opType: op.opType, overload: body.overload ?? '' });
    } catch (e) {
      throw new ModelError(`${what}: ${(e as Error).message}`);
    }
  });

  // An op with one body needs no overload, so runtimes that ignore overloads read it right.
  for (const [opType, count] of counters) {
    if (count !== 1) continue;
    for (const body of bodies.values()) if (body.name === opType) delete body.overload;
    for (const n of nodes) if (isLpNode(n.domain) && n.op_type === opType) delete n.overload;
    for (const r of report.lpNodes) if (r.opType === opType) r.overload = '';
  }
  // Replace earlier lp function bodies (re-export is idempotent), keep other local functions.
  model.functions = [...(model.functions ?? []).filter((f) => f.domain !== LP_DOMAIN), ...bodies.values()];
  report.functions = bodies.size;
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
