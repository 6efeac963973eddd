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
  /** the ONNX element type where the values come from a typed tensor (an initializer, a quantiser's output) */
  elemType?: number;
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

export interface FunctionBodyOptions {
  /** ONNX (default domain) opset the body uses: the model's own (13 and up) */
  opset: number;
  /** the function's name and overload, chosen by the exporter */
  name: string;
  overload: string;
}

export interface OpDefinition<S extends AttrSchema> {
  opType: 'LpNorm' | 'LpPool' | 'L1Conv' | 'QLinearL1Conv';
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
  /**
   * The key of the function body this node needs: equal keys share one function.
   * It covers the attributes and the few static facts of the inputs the body depends on.
   */
  bodyKey(attrs: AttrValues<S>, ctx: NodeContext): string;
  /** Standard-op function body computing the op (same key -> same body). */
  functionBody(attrs: AttrValues<S>, ctx: NodeContext, options: FunctionBodyOptions): FunctionProto;
  /**
   * One body for nodes of the op that need different specialised ones (ops.md, "Portable form"):
   * it reads what differs from the node's attributes by reference.
   */
  shared: SharedBody<S>;
}

export interface SharedBody<S extends AttrSchema> {
  /** The attributes the shared body reads, to be written onto the node (same meaning); a string says why the node cannot be. */
  explicitAttributes(attrs: AttrValues<S>, ctx: NodeContext): AttributeProto[] | string;
  /** The body for these nodes, once their attributes are written and their optional inputs given alike; a string says why not. */
  body(nodes: readonly { attrs: AttrValues<S>; ctx: NodeContext }[], options: FunctionBodyOptions): FunctionProto | string;
}
