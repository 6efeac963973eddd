// Attribute schemas: one declaration per op gives the defaults, the doc and (by inference)
// the TypeScript type of the parsed attributes.
import type { AttributeProto, Int64 } from '../src/onnx/proto';
import { AttributeType, int64ToNumber } from '../src/onnx/proto';

export type AttrKind = 'float' | 'int' | 'string' | 'ints';

/** How many values a per-axis list holds for a spatial rank r: r, or r begins then r ends. */
export type LengthRule = 'per-axis' | 'begin-end';

/**
 * One attribute: its kind, default and the values it may take. The C++ kernels get the same
 * declarations (kernels/schema/lp_schema.h, written by scripts/gen-native-schema.ts).
 */
export interface AttrSpec {
  kind: AttrKind;
  default?: number | string | readonly number[];
  required?: boolean;
  doc: string;
  /** enum-like attributes: the values allowed */
  oneOf?: readonly (number | string)[];
  /** inclusive lower bound (of every element of an ints list); NaN never passes */
  min?: number;
  /** exclusive lower bound; NaN never passes */
  above?: number;
  /** per-axis lists: the length rule, and the value of every axis when the list is absent */
  length?: LengthRule;
  fill?: number;
  /**
   * A numeric twin (an int, -1 when absent) of the string attribute named here: the index of that
   * attribute's value among its oneOf. The exporter writes it where a shared function body needs the
   * string as a number; the kernels ignore it once it agrees with the string.
   */
  twinOf?: string;
}

/** The numeric twin of a string attribute (AttrSpec.twinOf), declared once per op. */
export function twinAttribute(of: string, options: readonly string[]): AttrSpec {
  return {
    kind: 'int',
    default: -1,
    oneOf: [-1, ...options.map((_, i) => i)],
    twinOf: of,
    doc: `lp-onnx extension: ${of} as a number (${options.map((o, i) => `${i} ${o}`).join(', ')}) for a shared function body; -1: not given; must agree with ${of}`,
  };
}

/** Every int and ints value must lie in int32 (pads, strides, ... of any real model do). */
export const INT_MAX = 2 ** 31 - 1;

export type AttrSchema = Record<string, AttrSpec>;

type KindValue<K extends AttrKind> = K extends 'float' | 'int' ? number : K extends 'string' ? string : number[];

/** The parsed attribute values of a schema: defaulted and required ones are always present. */
export type AttrValues<S extends AttrSchema> = {
  [K in keyof S]: S[K] extends { default: unknown } | { required: true } ? KindValue<S[K]['kind']> : KindValue<S[K]['kind']> | undefined;
};

/** A clear error about one node of a model. */
export class LpOpError extends Error {
  constructor(
    readonly op: string,
    readonly node: string,
    detail: string,
  ) {
    super(`${op} node '${node}': ${detail}`);
    this.name = 'LpOpError';
  }
}

const kindCodes: Record<AttrKind, number> = {
  float: AttributeType.FLOAT,
  int: AttributeType.INT,
  string: AttributeType.STRING,
  ints: AttributeType.INTS,
};

/** The kind of an attribute: its ONNX type in lower case (IR 1 models carry none: the field in use). */
function kindOf(a: AttributeProto): string {
  const t = a.type ?? 0;
  if (t === 0) {
    if (a.f !== undefined) return 'float';
    if (a.i !== undefined) return 'int';
    if (a.s !== undefined) return 'string';
    if (a.ints !== undefined) return 'ints';
    return 'undefined';
  }
  const name = Object.entries(AttributeType).find(([, code]) => code === t)?.[0];
  return name ? name.toLowerCase() : `type ${t}`;
}

/** Parses a node's attributes against a schema; unknown names, wrong types and missing required ones are errors. */
export function parseAttributes<S extends AttrSchema>(schema: S, attrs: readonly AttributeProto[], op: string, node: string): AttrValues<S> {
  const out: Record<string, unknown> = {};
  for (const a of attrs) {
    const name = a.name ?? '';
    const spec = schema[name];
    if (spec === undefined) {
      throw new LpOpError(op, node, `unknown attribute '${name}' (expected one of ${Object.keys(schema).join(', ')})`);
    }
    if (name in out) throw new LpOpError(op, node, `attribute '${name}' is given twice`);
    if (a.ref_attr_name) {
      throw new LpOpError(op, node, `attribute '${name}' refers to '${a.ref_attr_name}'; only literal values are supported`);
    }
    const kind = kindOf(a);
    // An int where a float is expected is accepted (torch.onnx writes p=2 as an int sometimes).
    if (kind !== spec.kind && !(spec.kind === 'float' && kind === 'int')) {
      throw new LpOpError(op, node, `attribute '${name}' must be ${spec.kind}, got ${kind}`);
    }
    const int = (v: Int64 | undefined): number => {
      try {
        return int64ToNumber(v ?? 0, `attribute '${name}'`);
      } catch {
        throw new LpOpError(op, node, `attribute '${name}' = ${String(v)} is out of range; must be <= ${INT_MAX}`);
      }
    };
    if (kind === 'float') out[name] = a.f ?? 0;
    else if (kind === 'int') out[name] = int(a.i);
    else if (kind === 'string') out[name] = new TextDecoder().decode(a.s ?? new Uint8Array());
    else out[name] = (a.ints ?? []).map(int);
  }
  for (const [name, spec] of Object.entries(schema)) {
    if (name in out) continue;
    if (spec.default !== undefined) {
      out[name] = Array.isArray(spec.default) ? [...(spec.default as number[])] : spec.default;
    } else if (spec.required) {
      throw new LpOpError(op, node, `required attribute '${name}' is missing`);
    }
  }
  return out as AttrValues<S>;
}

/** AttributeProtos for values, in schema order; defaults are written only when `withDefaults`. */
export function encodeAttributes<S extends AttrSchema>(
  schema: S,
  values: Partial<Record<keyof S, number | string | readonly number[] | undefined>>,
  withDefaults = false,
): AttributeProto[] {
  const out: AttributeProto[] = [];
  for (const [name, spec] of Object.entries(schema)) {
    const v = values[name as keyof S];
    if (v === undefined) continue;
    if (!withDefaults && spec.default !== undefined && sameValue(v, spec.default)) continue;
    out.push(attributeProto(name, spec.kind, v));
  }
  return out;
}

function sameValue(a: number | string | readonly number[], b: number | string | readonly number[]): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

export function attributeProto(name: string, kind: AttrKind, v: number | string | readonly number[]): AttributeProto {
  const a: AttributeProto = { name, type: kindCodes[kind] };
  if (kind === 'float') a.f = v as number;
  else if (kind === 'int') a.i = v as number;
  else if (kind === 'string') a.s = new TextEncoder().encode(v as string);
  else a.ints = [...(v as number[])];
  return a;
}

function choices(values: readonly (number | string)[]): string {
  const shown = values.map((v) => (typeof v === 'string' ? `"${v}"` : String(v)));
  return shown.length === 2 ? `${shown[0]} or ${shown[1]}` : `one of ${shown.join(', ')}`;
}

function bound(spec: AttrSpec, v: number): string | undefined {
  if (spec.min !== undefined && !(v >= spec.min)) return `must be >= ${spec.min}`;
  if (spec.above !== undefined && !(v > spec.above)) return `must be > ${spec.above}${spec.kind === 'float' ? ' (or +inf)' : ''}`;
  if (spec.kind !== 'float' && v > INT_MAX) return `must be <= ${INT_MAX}`;
  return undefined;
}

/**
 * The checks of the schema that need no shapes: allowed values, bounds. Every backend makes
 * the same checks from the same declarations, with the same messages.
 */
export function checkAttributeValues<S extends AttrSchema>(schema: S, values: AttrValues<S>, op: string, node: string): void {
  for (const [name, spec] of Object.entries(schema)) {
    const v = (values as Record<string, unknown>)[name] as number | string | number[] | undefined;
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        const why = bound(spec, x);
        if (why) throw new LpOpError(op, node, `attribute ${name}[${i}] = ${x}; ${why}`);
      });
      continue;
    }
    if (spec.oneOf && !spec.oneOf.includes(v)) {
      throw new LpOpError(op, node, `attribute ${name} = ${typeof v === 'string' ? `'${v}'` : v}; must be ${choices(spec.oneOf)}`);
    }
    if (typeof v === 'number') {
      const why = bound(spec, v);
      if (why) throw new LpOpError(op, node, `attribute ${name} = ${v}; ${why}`);
    }
    if (spec.twinOf && v !== -1) {
      const of = spec.twinOf;
      const options = schema[of].oneOf as readonly string[];
      const value = (values as Record<string, unknown>)[of] as string;
      if (options[v as number] !== value) {
        throw new LpOpError(op, node, `attribute ${name} = ${v} ('${options[v as number]}') contradicts ${of} = '${value}'; it must be ${options.indexOf(value)} or absent`);
      }
    }
  }
}

/** The length rules of the per-axis lists, for a spatial rank. */
export function checkAttributeLengths<S extends AttrSchema>(schema: S, values: AttrValues<S>, op: string, node: string, rank: number): void {
  for (const [name, spec] of Object.entries(schema)) {
    const v = (values as Record<string, unknown>)[name];
    if (!spec.length || !Array.isArray(v)) continue;
    const want = spec.length === 'per-axis' ? rank : 2 * rank;
    if (v.length !== want) {
      const rule = spec.length === 'per-axis' ? 'one per spatial axis' : 'a begin and an end per spatial axis';
      throw new LpOpError(op, node, `attribute ${name} has ${v.length} values; expected ${want} (${rule}) for ${rank} spatial dims`);
    }
  }
}

/** A per-axis list with its fill value where it is absent. */
export function perAxis(spec: AttrSpec, v: readonly number[] | undefined, rank: number): number[] {
  if (v !== undefined) return [...v];
  const n = spec.length === 'begin-end' ? 2 * rank : rank;
  return new Array<number>(n).fill(spec.fill ?? 0);
}
