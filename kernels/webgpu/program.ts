// The anatomy of an lp-onnx WGSL program (as onnxruntime-web's pool.ts / tfjs's programs):
// validated inputs and resolved numbers in, {name, cacheKey, dispatch, uniforms, shaderSource} out.

export const WORKGROUP = 64;
/** WebGPU's guaranteed maxComputeWorkgroupsPerDimension. */
export const MAX_GROUPS = 65535;

export interface Program {
  name: string;
  /** equal keys share a compiled pipeline: everything that changes the shader text */
  cacheKey: string;
  /** workgroups in x and y (a linear thread id spans both when one dimension is not enough) */
  dispatch: [number, number];
  /** u32 / f32 words of the uniform block, in the order the shader declares them */
  uniforms: { u32: number[]; f32: number[] };
  /** storage inputs in binding order (after the uniform block at binding 0), then the output */
  inputs: number;
  shaderSource: string;
}

/**
 * `groups` workgroups as x * y within the per-dimension limit. Every shader derives its linear
 * index from num_workgroups and ignores the surplus of the last row.
 */
export function splitDispatch(groups: number, maxGroups = MAX_GROUPS): [number, number] {
  const g = Math.max(1, groups);
  if (g <= maxGroups) return [g, 1];
  return [maxGroups, Math.ceil(g / maxGroups)];
}

/** Workgroups for `threads` invocations of WORKGROUP each, split as splitDispatch does. */
export function dispatchFor(threads: number): [number, number] {
  return splitDispatch(Math.ceil(threads / WORKGROUP));
}

/** WGSL helpers every program shares: the linear id, NaN and +inf by bit pattern, a(x), r^p. */
export const PRELUDE = /* wgsl */ `
// NaN as a run-time value (WGSL rejects a constant expression that is NaN)
var<private> NAN_BITS: u32 = 0x7fc00000u;
fn linear_id(gid: vec3<u32>, groups: vec3<u32>) -> u32 { return gid.x + gid.y * groups.x * ${WORKGROUP}u; }
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
fn is_inf(v: f32) -> bool { return bitcast<u32>(v) == 0x7f800000u; }
fn nan() -> f32 { return bitcast<f32>(NAN_BITS); }
// a(x) of ops.md: mode 0 "abs" max(|x|, eps), mode 1 "clamp" max(x, eps); NaN stays NaN
fn magnitude(x: f32, mode: u32, eps: f32) -> f32 {
  if (is_nan(x)) { return x; }
  let v = select(x, abs(x), mode == 0u);
  return max(v, eps);
}
// r^p for r in [0, 1] (a max-scaled ratio), p finite > 0
fn pow_ratio(r: f32, p: f32) -> f32 {
  if (r <= 0.0) { return 0.0; }
  if (p == 1.0) { return r; }
  if (p == 2.0) { return r * r; }
  return exp2(p * log2(r));
}
`;

/** float16 bits -> f32, exact (subnormals as m * 2^-24, which f32 holds as normal numbers). */
export const F16_VALUE = /* wgsl */ `
fn f16_value(h: u32) -> f32 {
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) {
    let v = f32(m) * 5.9604644775390625e-8;
    return select(v, -v, sign != 0u);
  }
  if (e == 31u) { return bitcast<f32>(sign | 0x7f800000u | (m << 13u)); }
  return bitcast<f32>(sign | ((e + 112u) << 23u) | (m << 13u));
}
`;

/**
 * The binding of a program's input X and its reader load_x(i): f32, or float16 packed two to a
 * u32 word (the low half first) and converted exactly as it is loaded, so that a float16 X is
 * read once, as 2 bytes a value (ops.md "float16": computed as float32).
 */
export function xBinding(binding: number, half: boolean): string {
  if (!half) return `@group(0) @binding(${binding}) var<storage, read> x: array<f32>;\nfn load_x(i: u32) -> f32 { return x[i]; }`;
  return `@group(0) @binding(${binding}) var<storage, read> x: array<u32>;\n${F16_VALUE}\nfn load_x(i: u32) -> f32 { return f16_value((x[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu); }`;
}
