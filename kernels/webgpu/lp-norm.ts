// LpNorm as a WGSL program: one invocation per output (row, unit). Each scales by the largest
// magnitude of its row (and by sum_eps^(1/p) when larger), so a^p cannot overflow.
import { dispatchFor, PRELUDE, type Program, WORKGROUP } from './program';

export interface LpNormShape {
  rows: number;
  k: number;
  m: number;
  /** exponents from input P: its length (1 or M); 0: the attribute p */
  pLength: number;
}

export function lpNormProgram(s: LpNormShape, a: { p: number; eps: number; sum_eps: number; mean: number; mode: string }): Program {
  return {
    name: 'LpNorm',
    cacheKey: 'LpNorm',
    dispatch: dispatchFor(s.rows * s.m),
    uniforms: { u32: [s.rows, s.k, s.m, s.pLength, a.mean, a.mode === 'abs' ? 0 : 1], f32: [a.p, a.eps, a.sum_eps] },
    inputs: 3,
    shaderSource: /* wgsl */ `${PRELUDE}
struct U { rows: u32, k: u32, m: u32, p_len: u32, mean: u32, mode: u32, p_attr: f32, eps: f32, sum_eps: f32 };
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> pv: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let id = linear_id(gid, groups);
  if (id >= u.rows * u.m) { return; }
  let r = id / u.m;
  let j = id % u.m;
  var p = u.p_attr;
  if (u.p_len == 1u) { p = pv[0]; } else if (u.p_len > 1u) { p = pv[j]; }
  var mx = 0.0;
  var mx_w = 0.0;
  var bad = false;
  var bad_w = false;
  var z = 0.0;
  for (var i = 0u; i < u.k; i++) {
    let v = magnitude(x[r * u.k + i], u.mode, u.eps);
    let wi = w[j * u.k + i];
    z += wi;
    if (is_nan(v)) { bad = true; if (wi > 0.0) { bad_w = true; } continue; }
    mx = max(mx, v);
    if (wi > 0.0) { mx_w = max(mx_w, v); }
  }
  if (is_inf(p)) {
    y[id] = select(mx_w, nan(), bad_w);
    return;
  }
  if (bad) { y[id] = nan(); return; }
  var scale = mx;
  if (u.sum_eps > 0.0) { scale = max(mx, exp2(log2(u.sum_eps) / p)); }
  if (scale <= 0.0) { y[id] = 0.0; return; }
  var s = 0.0;
  for (var i = 0u; i < u.k; i++) {
    let wi = w[j * u.k + i];
    if (wi > 0.0) { s += wi * pow_ratio(magnitude(x[r * u.k + i], u.mode, u.eps) / scale, p); }
  }
  if (u.mean == 1u) { s = s / z; }
  if (u.sum_eps > 0.0) { s += u.sum_eps * exp2(-p * log2(scale)); }
  y[id] = select(0.0, scale * exp2(log2(s) / p), s > 0.0);
}
`,
  };
}
