// float16 storage for the WGSL kernels (ops.md, "float16"): values packed two to a u32 word (the
// low half first), converted exactly to f32 for the kernels and the result rounded once back, on
// every adapter (no shader-f16 needed). The conversions are written out in integer arithmetic:
// WGSL leaves pack2x16float's rounding and its result beyond float16's range to the implementation,
// and ops.md asks for round-to-nearest-even and +-inf.
import { dispatchFor, F16_VALUE, PRELUDE, type Program, WORKGROUP } from './program';

const CONVERSIONS = /* wgsl */ `${F16_VALUE}
// f32 -> float16 bits, rounded to nearest even; beyond the range +-inf; NaN stays NaN
fn f16_bits(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  let sign = (b >> 16u) & 0x8000u;
  let a = b & 0x7fffffffu;
  if (a > 0x7f800000u) { return sign | 0x7e00u | ((a >> 13u) & 0x3ffu); }
  if (a >= 0x477ff000u) { return sign | 0x7c00u; }
  if (a >= 0x38800000u) {
    let m = a - 0x38000000u;
    return sign | ((m + 0xfffu + ((m >> 13u) & 1u)) >> 13u);
  }
  if (a < 0x33000000u) { return sign; }
  let s = 126u - (a >> 23u);
  let mant = (a & 0x7fffffu) | 0x800000u;
  return sign | ((mant + (1u << (s - 1u)) - 1u + ((mant >> s) & 1u)) >> s);
}
`;

/** n float16 values (packed) -> n f32 values. */
export function halfToFloatProgram(n: number): Program {
  return {
    name: 'float16 to float32',
    cacheKey: 'half-to-float',
    dispatch: dispatchFor(n),
    uniforms: { u32: [n], f32: [] },
    inputs: 1,
    shaderSource: /* wgsl */ `${PRELUDE}${CONVERSIONS}
struct U { n: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = linear_id(gid, groups);
  if (i >= u.n) { return; }
  dst[i] = f16_value((src[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu);
}
`,
  };
}

/** n f32 values -> n float16 values (packed; an odd n leaves the last word's high half 0). */
export function floatToHalfProgram(n: number): Program {
  const words = Math.ceil(n / 2);
  return {
    name: 'float32 to float16',
    cacheKey: 'float-to-half',
    dispatch: dispatchFor(words),
    uniforms: { u32: [n], f32: [] },
    inputs: 1,
    shaderSource: /* wgsl */ `${PRELUDE}${CONVERSIONS}
struct U { n: u32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let w = linear_id(gid, groups);
  let i = 2u * w;
  if (i >= u.n) { return; }
  let lo = f16_bits(src[i]);
  let hi = select(0u, f16_bits(src[min(i + 1u, u.n - 1u)]), i + 1u < u.n);
  dst[w] = lo | (hi << 16u);
}
`,
  };
}
