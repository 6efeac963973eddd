// Sliding-window geometry shared by LpPool and L1Conv: resolved pads and output sizes.
// Kernels, references and function bodies all take these resolved numbers; nothing else
// re-derives them.
//
// Pooling ('pool') follows ONNX AveragePool/MaxPool exactly as onnxruntime 1.30 computes it:
//  - ceil_mode applies to every auto_pad mode, and a last window that would start inside the
//    end padding is dropped ((out - 1) * stride >= in + padBegin  ->  out - 1);
//  - SAME_* pads are (ceil(in / stride) - 1) * stride + kernel - in with the undilated kernel.
// Convolution ('conv') follows ONNX Conv: no ceil_mode; SAME_* pads use the dilated kernel.

import { type AttrSpec, twinAttribute } from './attributes';

export type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
export const AUTO_PADS: readonly AutoPad[] = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'];

/** The window attributes LpPool and L1Conv share with ONNX pooling and Conv (after kernel_shape). */
export const WINDOW_ATTRIBUTES = {
  strides: { kind: 'ints', length: 'per-axis', fill: 1, min: 1, doc: 'default 1 per axis' },
  pads: { kind: 'ints', length: 'begin-end', fill: 0, min: 0, doc: '[begin..., end...], default 0' },
  dilations: { kind: 'ints', length: 'per-axis', fill: 1, min: 1, doc: 'default 1 per axis' },
  auto_pad: { kind: 'string', default: 'NOTSET', oneOf: AUTO_PADS, doc: 'NOTSET, SAME_UPPER, SAME_LOWER or VALID' },
  auto_pad_index: twinAttribute('auto_pad', AUTO_PADS),
} as const satisfies Record<string, AttrSpec>;

/** A dimension: a size, a symbolic name (dim_param), or null when unknown. */
export type Dim = number | string | null;

export type WindowKind = 'pool' | 'conv';

export interface WindowAttrs {
  kernel_shape: number[];
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  auto_pad: string;
  ceil_mode?: number;
}

/** Everything about one spatial axis, resolved. */
export interface AxisWindow {
  input: number;
  kernel: number;
  stride: number;
  dilation: number;
  padBegin: number;
  padEnd: number;
  output: number;
}

export class GeometryError extends Error {}

/** Checks the attributes against a spatial rank; returns strides, dilations and explicit pads with defaults filled. */
export function checkWindowAttrs(
  attrs: WindowAttrs,
  spatialRank: number,
): { kernel: number[]; strides: number[]; dilations: number[]; pads: number[]; autoPad: AutoPad } {
  const kernel = attrs.kernel_shape;
  if (kernel.length !== spatialRank) {
    throw new GeometryError(`kernel_shape has ${kernel.length} dims but the input has ${spatialRank} spatial dims`);
  }
  if (spatialRank < 1 || spatialRank > 3) {
    throw new GeometryError(`${spatialRank} spatial dims; 1 to 3 are supported`);
  }
  const W = WINDOW_ATTRIBUTES;
  const strides = attrs.strides ?? kernel.map(() => W.strides.fill);
  const dilations = attrs.dilations ?? kernel.map(() => W.dilations.fill);
  const pads = attrs.pads ?? kernel.flatMap(() => [W.pads.fill, W.pads.fill]);
  if (strides.length !== spatialRank) throw new GeometryError(`strides has ${strides.length} values, expected ${spatialRank}`);
  if (dilations.length !== spatialRank) {
    throw new GeometryError(`dilations has ${dilations.length} values, expected ${spatialRank}`);
  }
  if (pads.length !== 2 * spatialRank) throw new GeometryError(`pads has ${pads.length} values, expected ${2 * spatialRank}`);
  kernel.forEach((k, i) => {
    if (!(k >= 1)) throw new GeometryError(`kernel_shape[${i}] = ${k}; must be >= 1`);
  });
  strides.forEach((s, i) => {
    if (!(s >= 1)) throw new GeometryError(`strides[${i}] = ${s}; must be >= 1`);
  });
  dilations.forEach((d, i) => {
    if (!(d >= 1)) throw new GeometryError(`dilations[${i}] = ${d}; must be >= 1`);
  });
  pads.forEach((p, i) => {
    if (!(p >= 0)) throw new GeometryError(`pads[${i}] = ${p}; must be >= 0`);
  });
  if (!(AUTO_PADS as readonly string[]).includes(attrs.auto_pad)) {
    throw new GeometryError(`auto_pad '${attrs.auto_pad}' is not one of ${AUTO_PADS.join(', ')}`);
  }
  const autoPad = attrs.auto_pad as AutoPad;
  if (autoPad !== 'NOTSET' && attrs.pads !== undefined && attrs.pads.some((p) => p !== 0)) {
    throw new GeometryError(`pads cannot be given with auto_pad '${autoPad}'`);
  }
  return { kernel, strides, dilations, pads, autoPad };
}

/** Pads of one axis for auto_pad SAME_* (total split, the odd one at the end for UPPER). */
export function samePads(kind: WindowKind, input: number, kernel: number, stride: number, dilation: number, autoPad: AutoPad) {
  const span = kind === 'pool' ? kernel : dilation * (kernel - 1) + 1;
  const total = Math.max(0, (Math.ceil(input / stride) - 1) * stride + span - input);
  const small = Math.floor(total / 2);
  return autoPad === 'SAME_UPPER' ? { begin: small, end: total - small } : { begin: total - small, end: small };
}

export function outputSize(
  kind: WindowKind,
  input: number,
  kernel: number,
  stride: number,
  dilation: number,
  padBegin: number,
  padEnd: number,
  ceilMode: boolean,
): number {
  const span = dilation * (kernel - 1) + 1;
  const room = input + padBegin + padEnd - span;
  if (room < 0) return 0;
  if (kind === 'conv' || !ceilMode) return Math.floor(room / stride) + 1;
  let out = Math.ceil(room / stride) + 1;
  if ((out - 1) * stride >= input + padBegin) out -= 1;
  return out;
}

/** Resolves every spatial axis for concrete input sizes. Throws when an output size is < 1. */
export function resolveWindow(kind: WindowKind, spatial: readonly number[], attrs: WindowAttrs): AxisWindow[] {
  const { kernel, strides, dilations, pads, autoPad } = checkWindowAttrs(attrs, spatial.length);
  const ceil = (attrs.ceil_mode ?? 0) !== 0;
  const r = spatial.length;
  return spatial.map((input, i) => {
    let padBegin = pads[i];
    let padEnd = pads[i + r];
    if (autoPad === 'VALID') {
      padBegin = 0;
      padEnd = 0;
    } else if (autoPad !== 'NOTSET') {
      const p = samePads(kind, input, kernel[i], strides[i], dilations[i], autoPad);
      padBegin = p.begin;
      padEnd = p.end;
    }
    const output = outputSize(kind, input, kernel[i], strides[i], dilations[i], padBegin, padEnd, ceil);
    if (output < 1) {
      throw new GeometryError(
        `output dim ${i} would be ${output} (< 1): input ${input}, kernel ${kernel[i]}, stride ${strides[i]}, dilation ${dilations[i]}, pads ${padBegin}+${padEnd}`,
      );
    }
    return { input, kernel: kernel[i], stride: strides[i], dilation: dilations[i], padBegin, padEnd, output };
  });
}

/** Output spatial dims for possibly symbolic inputs (unknown where an input dim is not a number). */
export function outputDims(kind: WindowKind, spatial: readonly Dim[], attrs: WindowAttrs): Dim[] {
  checkWindowAttrs(attrs, spatial.length);
  const known = spatial.map((d) => (typeof d === 'number' ? d : 1));
  const resolvedKnown = spatial.every((d) => typeof d === 'number');
  if (resolvedKnown) return resolveWindow(kind, known, attrs).map((a) => a.output);
  // Resolve axis by axis so that known axes still get checked and sized.
  return spatial.map((d, i) => {
    if (typeof d !== 'number') return identityAxis(attrs, i, spatial.length) ? d : null;
    const one: WindowAttrs = {
      kernel_shape: [attrs.kernel_shape[i]],
      strides: attrs.strides ? [attrs.strides[i]] : undefined,
      dilations: attrs.dilations ? [attrs.dilations[i]] : undefined,
      pads: attrs.pads ? [attrs.pads[i], attrs.pads[i + spatial.length]] : undefined,
      auto_pad: attrs.auto_pad,
      ceil_mode: attrs.ceil_mode,
    };
    return resolveWindow(kind, [d], one)[0].output;
  });
}

/** Window positions of one output index along one axis: input coordinates (may lie in the padding). */
export function windowTaps(a: AxisWindow, o: number): number[] {
  const start = o * a.stride - a.padBegin;
  const taps: number[] = [];
  for (let k = 0; k < a.kernel; k++) taps.push(start + k * a.dilation);
  return taps;
}

/** Whether an axis maps every input size to itself (so a symbolic dim passes through). */
function identityAxis(attrs: WindowAttrs, i: number, rank: number): boolean {
  if ((attrs.strides?.[i] ?? 1) !== 1) return false;
  if (attrs.auto_pad === 'SAME_UPPER' || attrs.auto_pad === 'SAME_LOWER') return true;
  const span = (attrs.dilations?.[i] ?? 1) * (attrs.kernel_shape[i] - 1) + 1;
  const pads = attrs.auto_pad === 'VALID' ? 0 : (attrs.pads?.[i] ?? 0) + (attrs.pads?.[i + rank] ?? 0);
  return pads === span - 1;
}

/** A tap in the padding (counts for count_include_pad). */
export const TAP_PAD = -1;
/** A tap past the padding (the ceil_mode overhang): never counts. */
export const TAP_OUTSIDE = -2;

/**
 * For every output position (row-major over the output spatial dims), the flat input offset of
 * each kernel tap (row-major over the kernel), or TAP_PAD / TAP_OUTSIDE.
 */
export function windowOffsets(axes: readonly AxisWindow[]): Int32Array[] {
  const outDims = axes.map((a) => a.output);
  const kDims = axes.map((a) => a.kernel);
  const nOut = outDims.reduce((a, b) => a * b, 1);
  const nTaps = kDims.reduce((a, b) => a * b, 1);
  const result: Int32Array[] = [];
  const o = new Array<number>(axes.length).fill(0);
  for (let q = 0; q < nOut; q++) {
    const taps = new Int32Array(nTaps);
    const k = new Array<number>(axes.length).fill(0);
    for (let t = 0; t < nTaps; t++) {
      let offset = 0;
      let where = 0; // 0 inside, 1 padding, 2 outside
      for (let i = 0; i < axes.length; i++) {
        const a = axes[i];
        const pos = o[i] * a.stride - a.padBegin + k[i] * a.dilation;
        if (pos < -a.padBegin || pos >= a.input + a.padEnd) where = 2;
        else if ((pos < 0 || pos >= a.input) && where === 0) where = 1;
        offset = offset * a.input + pos;
      }
      taps[t] = where === 0 ? offset : where === 1 ? TAP_PAD : TAP_OUTSIDE;
      for (let i = axes.length - 1; i >= 0; i--) {
        if (++k[i] < kDims[i]) break;
        k[i] = 0;
      }
    }
    result.push(taps);
    for (let i = axes.length - 1; i >= 0; i--) {
      if (++o[i] < outDims[i]) break;
      o[i] = 0;
    }
  }
  return result;
}
