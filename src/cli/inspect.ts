// `lp-onnx inspect`: what a model holds (src/graph/report.ts), as text, with what export would fuse.
import { type FuseReport, formatFusion } from '../export/fuse';
import type { LpInputReport, ModelReport } from '../graph/report';
import { lpOp } from '../../ops/index';
import { WINDOW_ONLY_ATTRIBUTES } from '../../ops/lp-pool';
import { plural } from './words';

export { reportModel as inspectModel } from '../graph/report';

export interface InspectReport extends ModelReport {
  /** Lp layers written with standard ops that lp-onnx export would fuse, and near misses (the CLI fills it in) */
  fusable?: FuseReport;
}

function fmtAttr(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return v > 0 ? 'inf' : String(v);
  if (typeof v === 'number') return String(Number(v.toPrecision(7)));
  if (Array.isArray(v)) return `[${v.join(',')}]`;
  return typeof v === 'string' ? `"${v}"` : String(v);
}

/**
 * Whether the text leaves attribute K of a node out: a numeric twin of a string attribute (the
 * export's, for shared bodies; the string says it, --json has both), or a window attribute of a
 * global LpPool (the export writes a trivial window for onnx's reference evaluator).
 */
function hidden(opType: string, k: string, global: boolean): boolean {
  if (lpOp(opType)?.attributes[k]?.twinOf) return true;
  return global && (WINDOW_ONLY_ATTRIBUTES as readonly string[]).includes(k);
}

/** A constant input's values: all of them when few, else their range. */
function fmtValues(x: LpInputReport): string {
  if (x.values) return ` = [${x.values.map(fmtAttr).join(', ')}]`;
  if (x.count !== undefined) return `, ${x.count.toLocaleString('en-US')} values in [${fmtAttr(x.min)}, ${fmtAttr(x.max)}]`;
  return x.role === 'P' ? ' (computed in the graph)' : '';
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
      const global = n.opType === 'LpPool' && n.attributes.global === 1;
      const attrs = Object.entries(n.attributes)
        .filter(([k, v]) => v !== undefined && !hidden(n.opType, k, global))
        .map(([k, v]) => `${k}=${fmtAttr(v)}`)
        .join(' ');
      lines.push(
        `    ${n.name}: ${n.opType}${n.overload ? ` [overload ${n.overload}]` : ''} -> ${n.output}  ${attrs}${n.functionBody ? '' : '  (no function body)'}`,
      );
      for (const x of n.inputs) lines.push(`      ${x.role} ${x.name}: ${x.type}${fmtValues(x)}`);
    }
  }
  lines.push(
    `  function bodies: ${r.functions.length ? r.functions.map((f) => `${f.domain}::${f.name}${f.overload ? `/${f.overload}` : ''} (${plural(f.nodes, 'node')})`).join(', ') : 'none'}`,
  );
  const fusable = r.fusable ? formatFusion(r.fusable, 'inspect') : '';
  if (fusable) lines.push(...fusable.trimEnd().split('\n').map((l) => `  ${l}`));
  lines.push(
    `  dual-path: ${r.lpNodes.length === 0 ? 'no lp nodes' : r.dualPath ? 'yes (runs on stock onnxruntime)' : 'NO: some lp nodes lack a function body; run lp-onnx export'}`,
  );
  return lines.join('\n');
}
