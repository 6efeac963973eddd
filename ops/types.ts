// What every lp-onnx operator module exports (see ops/index.ts).
import type { AttributeProto, FunctionProto } from '../src/onnx/proto';
import type { AttrSchema, AttrValues } from './attributes';
import type { Dim } from './geometry';

export const LP_DOMAIN = 'com.lponnx';
export const LP_OPSET_VERSION = 1;

/** The type of a value as shape inference sees it. `shape` undefined: rank unknown. */
export interface ValueType {
  elemType: number;
  shape?: Dim[];
}

/** A float64 tensor for the reference implementations. */
export interface NdArray {
  dims: number[];
  data: Float64Array;
}

export interface IoSpec {
  name: string;
  optional?: boolean;
  doc: string;
}

/** What is known about a node when it is validated, typed or expanded. */
export interface NodeContext {
  /** node name, for messages */
  node: string;
  /** types of inputs (undefined: absent input or unknown type) */
  inputs: (ValueType | undefined)[];
  /** values of inputs that are constant initializers (weights), when known */
  constants: (NdArray | undefined)[];
  /** how many inputs are present (trailing empty names excluded) */
  present: boolean[];
}

/**
 * One fact a node's function body depends on (ops.md, "Portable form": one body per op serves every
 * node of the op, so the exporter must tell nodes apart in the body by these facts): an attribute's
 * value (undefined: absent), the rank of an input, an input's dims from an axis on, whether an
 * optional input is present, whether it has one element, whether it may hold +inf.
 */
export type BodyFeature =
  | { source: 'attr'; name: string; kind: 'float' | 'int' | 'string' | 'ints'; value: number | string | readonly number[] | undefined }
  | { source: 'rank'; input: number; value: number }
  | { source: 'dims'; input: number; from: number; value: readonly number[] }
  | { source: 'present' | 'single' | 'inf'; input: number; value: boolean };

export interface FunctionBodyOptions {
  /** ONNX (default domain) opset the body uses: the model's own (13 and up) */
  opset: number;
  /** the function's name and overload, chosen by the exporter */
  name: string;
  overload: string;
}

export interface OpDefinition<S extends AttrSchema> {
  opType: 'LpNorm' | 'LpPool' | 'L1Conv';
  doc: string;
  inputs: IoSpec[];
  outputs: IoSpec[];
  attributes: S;
  parse(attrs: readonly AttributeProto[], node: string): AttrValues<S>;
  /** The checks of the attributes alone (no shapes): allowed values, bounds, required ones. */
  checkAttributes(attrs: AttrValues<S>, node: string): void;
  /** Static checks (shapes, attributes, constant weights); throws LpOpError. */
  validate(attrs: AttrValues<S>, ctx: NodeContext): void;
  /** Output type from input types; keeps symbolic dims where the formula allows. */
  inferShape(attrs: AttrValues<S>, ctx: NodeContext): ValueType;
  /** Float64 reference; inputs in op input order (undefined for absent optional ones). */
  reference(attrs: AttrValues<S>, inputs: (NdArray | undefined)[], node: string): NdArray;
  /** Everything the node's function body depends on: equal features, equal bodies. */
  bodyFeatures(attrs: AttrValues<S>, ctx: NodeContext): BodyFeature[];
  /** The key of the function body this node needs (its features): equal keys share one body. */
  bodyKey(attrs: AttrValues<S>, ctx: NodeContext): string;
  /** Standard-op function body computing the op (same key -> same body). */
  functionBody(attrs: AttrValues<S>, ctx: NodeContext, options: FunctionBodyOptions): FunctionProto;
}
