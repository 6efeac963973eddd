// `lp-onnx inspect`: what a model holds.
import { LP_DOMAIN, lpOp } from '../../ops/index';
import type { ValueType } from '../../ops/types';
import { type FuseReport, formatFusion } from '../export/fuse';
import { inferTypes, isLpNode } from '../graph/infer';
import type { Dim } from '../../ops/geometry';
import { elemTypeName, formatType, nodeLabel, valueTypeOf } from '../graph/model';
import type { ModelProto, ValueInfoProto } from '../onnx/proto';
import { int64ToNumber } from '../onnx/proto';
import { protoByteSize, protoDims } from '../onnx/tensor';

/** A graph input or output: its type as text, and as element type and dims (symbolic ones by name, null unknown). */
export interface ValueReport {
  name: string;
  type: string;
  dtype: string;
  dims?: Dim[];
}

export interface InspectReport {
  file: string;
  irVersion: number;
  producer: string;
  opsets: Record<string, number>;
  inputs: ValueReport[];
  outputs: ValueReport[];
  opCounts: Record<string, number>;
  lpNodes: { name: string; opType: string; overload: string | null; attributes: Record<string, unknown>; output: string; functionBody: boolean }[];
  parameters: { tensors: number; elements: number; bytes: number };
  functions: { domain: string; name: string; overload: string; nodes: number }[];
  dualPath: boolean;
  metadata: Record<string, string>;
  /** Lp layers written with standard ops that lp-onnx export would fuse, and near misses (the CLI fills it in) */
  fusable?: FuseReport;
}

export function inspectModel(model: ModelProto, file: string): InspectReport {
  const graph = model.graph ?? {};
  const initNames = new Set((graph.initializer ?? []).map((t) => t.name));
  let types: Map<string, ValueType>;
  try {
    types = inferTypes(model, file);
  } catch {
    types = new Map();
  }
  const resolve = (name: string, declared: ValueType | undefined) => (declared?.shape ? declared : (types.get(name) ?? declared));
  const typeOf = (name: string, declared: ValueType | undefined) => formatType(resolve(name, declared));
  const report = (vi: ValueInfoProto): ValueReport => {
    const t = resolve(vi.name ?? '', valueTypeOf(vi));
    return { name: vi.name ?? '', type: formatType(t), dtype: t ? elemTypeName(t.elemType) : 'unknown', ...(t?.shape ? { dims: t.shape } : {}) };
  };
  const opCounts: Record<string, number> = {};
  for (const n of graph.node ?? []) {
    const k = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}::${n.op_type}` : (n.op_type ?? '');
    opCounts[k] = (opCounts[k] ?? 0) + 1;
  }
  const functions = (model.functions ?? []).map((f) => ({
    domain: f.domain ?? '',
    name: f.name ?? '',
    overload: f.overload ?? '',
    nodes: (f.node ?? []).length,
  }));
  const lpNodes = (graph.node ?? []).flatMap((n, i) => {
    if (!isLpNode(n.domain)) return [];
    const label = nodeLabel(n, i);
    const op = lpOp(n.op_type ?? '');
    let attributes: Record<string, unknown> = {};
    if (op) {
      try {
        attributes = op.parse(n.attribute ?? [], label) as Record<string, unknown>;
      } catch (e) {
        attributes = { error: (e as Error).message };
      }
    }
    const body = functions.some((f) => f.domain === LP_DOMAIN && f.name === n.op_type && f.overload === (n.overload ?? ''));
    return [
      { name: label, opType: n.op_type ?? '', overload: n.overload ?? null, attributes, output: typeOf(n.output?.[0] ?? '', undefined), functionBody: body },
    ];
  });
  let elements = 0;
  let bytes = 0;
  for (const t of graph.initializer ?? []) {
    elements += protoDims(t).reduce((a, b) => a * b, 1);
    bytes += protoByteSize(t);
  }
  const opsets: Record<string, number> = {};
  for (const o of model.opset_import ?? []) opsets[o.domain || 'ai.onnx'] = int64ToNumber(o.version ?? 0, 'opset');
  return {
    file,
    irVersion: int64ToNumber(model.ir_version ?? 0, 'ir_version'),
    producer: `${model.producer_name ?? ''} ${model.producer_version ?? ''}`.trim(),
    opsets,
    inputs: (graph.input ?? []).filter((i) => !initNames.has(i.name)).map(report),
    outputs: (graph.output ?? []).map(report),
    opCounts,
    lpNodes,
    parameters: { tensors: (graph.initializer ?? []).length, elements, bytes },
    functions,
    dualPath: lpNodes.length > 0 && lpNodes.every((n) => n.functionBody),
    metadata: Object.fromEntries((model.metadata_props ?? []).map((m) => [m.key ?? '', m.value ?? ''])),
  };
}

function fmtAttr(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return v > 0 ? 'inf' : String(v);
  if (typeof v === 'number') return String(Number(v.toPrecision(7)));
  if (Array.isArray(v)) return `[${v.join(',')}]`;
  return typeof v === 'string' ? `"${v}"` : String(v);
}

export function formatInspect(r: InspectReport): string {
  const lines: string[] = [];
  lines.push(`${r.file}`);
  lines.push(
    `  IR ${r.irVersion}, opsets ${Object.entries(r.opsets)
      .map(([d, v]) => `${d} ${v}`)
      .join(', ')}${r.producer ? `, producer ${r.producer}` : ''}`,
  );
  lines.push('  inputs:');
  for (const i of r.inputs) lines.push(`    ${i.name}: ${i.type}`);
  lines.push('  outputs:');
  for (const o of r.outputs) lines.push(`    ${o.name}: ${o.type}`);
  lines.push(
    `  ops: ${
      Object.entries(r.opCounts)
        .map(([k, v]) => `${k} x${v}`)
        .join(', ') || 'none'
    }`,
  );
  lines.push(
    `  parameters: ${r.parameters.elements.toLocaleString('en-US')} in ${r.parameters.tensors} tensors, ${r.parameters.bytes.toLocaleString('en-US')} bytes`,
  );
  if (r.lpNodes.length) {
    lines.push(`  lp nodes (${r.lpNodes.length}):`);
    for (const n of r.lpNodes) {
      const attrs = Object.entries(n.attributes)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${fmtAttr(v)}`)
        .join(' ');
      lines.push(
        `    ${n.name}: ${n.opType}${n.overload ? ` [overload ${n.overload}]` : ''} -> ${n.output}  ${attrs}${n.functionBody ? '' : '  (no function body)'}`,
      );
    }
  }
  lines.push(
    `  function bodies: ${r.functions.length ? r.functions.map((f) => `${f.domain}::${f.name}${f.overload ? `/${f.overload}` : ''} (${f.nodes} nodes)`).join(', ') : 'none'}`,
  );
  const fusable = r.fusable ? formatFusion(r.fusable, 'inspect') : '';
  if (fusable) lines.push(...fusable.trimEnd().split('\n').map((l) => `  ${l}`));
  lines.push(
    `  dual-path: ${r.lpNodes.length === 0 ? 'no lp nodes' : r.dualPath ? 'yes (runs on stock onnxruntime)' : 'NO: some lp nodes lack a function body; run lp-onnx export'}`,
  );
  return lines.join('\n');
}
