// LpNorm as a WGSL program, tiled like a GEMM: a 16x16 workgroup computes 16 rows x 16 units.
// It first finds the largest magnitude of each of its rows (rows with NaN flagged), then walks K
// in 16-wide slices staged in workgroup memory, each X element transformed once per slice load:
//   shared finite p: (a / rowmax)^p, so the inner loop is a plain multiply-add (a GEMM);
//   per-unit p:      log2(a / rowmax), and the inner loop takes 2^(p_j * L) where w > 0;
//   p = +inf:        a / rowmax (or its log2), and the inner loop keeps the maximum where w > 0.
// Scaling by the row maximum (and by sum_eps^(1/p) when that is larger) keeps a^p finite; a unit
// whose weighted inputs all lie far below it (its sum underflowed) is redone with its own maximum.
import { PRELUDE, type Program, splitDispatch, xBinding } from './program';

export interface LpNormShape {
  rows: number;
  k: number;
  m: number;
  /** exponents from input P: its length (1 or M); 0: the attribute p */
  pLength: number;
}

/** rows per workgroup (one per thread row) */
const TR = 16;
/** units per thread, strided by the 16 thread columns: 64 units per workgroup */
const UPT = 4;
const TU = 16 * UPT;
/** K per slice staged in workgroup memory */
const KS = 32;

export function lpNormProgram(s: LpNormShape, a: { p: number; eps: number; sum_eps: number; mean: number; mode: string }, halfX = false): Program {
  const rowTiles = Math.ceil(s.rows / TR);
  const unitTiles = Math.ceil(s.m / TU);
  const tiles = Math.max(1, rowTiles * unitTiles);
  const units = [...Array(UPT).keys()];
  return {
    name: 'LpNorm',
    cacheKey: `LpNorm/tiled${TR}x${TU}x${KS}${halfX ? '/f16x' : ''}`,
    dispatch: splitDispatch(tiles),
    uniforms: { u32: [s.rows, s.k, s.m, s.pLength, a.mean, a.mode === 'abs' ? 0 : 1, unitTiles, tiles], f32: [a.p, a.eps, a.sum_eps] },
    inputs: 3,
    shaderSource: /* wgsl */ `${PRELUDE}
struct U { rows: u32, k: u32, m: u32, p_len: u32, mean: u32, mode: u32, unit_tiles: u32, tiles: u32, p_attr: f32, eps: f32, sum_eps: f32 };
@group(0) @binding(0) var<uniform> u: U;
${xBinding(1, halfX)}
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> pv: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const TR = ${TR}u;
const TU = ${TU}u;
const KS = ${KS}u;
// log2 of a zero ratio: 2^(p * ZERO_LOG) is 0 for any p > 0 worth computing
const ZERO_LOG = -1.0e30;
var<workgroup> xs: array<f32, ${TR * KS}>;
var<workgroup> ws: array<f32, ${TU * KS}>;
var<workgroup> red_max: array<f32, ${TR * 16}>;
var<workgroup> red_nan: array<u32, ${TR * 16}>;

@compute @workgroup_size(16, ${TR})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let tile = wid.x + wid.y * groups.x;
  if (tile >= u.tiles) { return; }
  let row0 = (tile / u.unit_tiles) * TR;
  let unit0 = (tile % u.unit_tiles) * TU;
  let tc = lid.x;
  let tr = lid.y;
  let flat = tr * 16u + tc;
  let r = row0 + tr;

  // 1. the largest magnitude of each row, and whether it holds a NaN
  var mx = 0.0;
  var has_nan = 0u;
  if (r < u.rows) {
    for (var i = tc; i < u.k; i += 16u) {
      let v = magnitude(load_x(r * u.k + i), u.mode, u.eps);
      if (is_nan(v)) { has_nan = 1u; } else { mx = max(mx, v); }
    }
  }
  red_max[flat] = mx;
  red_nan[flat] = has_nan;
  workgroupBarrier();
  var row_max = 0.0;
  var row_nan = 0u;
  for (var t = 0u; t < 16u; t++) {
    row_max = max(row_max, red_max[tr * 16u + t]);
    row_nan = row_nan | red_nan[tr * 16u + t];
  }
  let inv = select(0.0, 1.0 / row_max, row_max > 0.0);

  // 2. the exponents: kind 0 shared finite p, 1 per-unit p, 2 shared p = +inf
  var p0 = u.p_attr;
  if (u.p_len == 1u) { p0 = pv[0]; }
  var kind = select(0u, 2u, is_inf(p0));
  if (u.p_len > 1u) { kind = 1u; }
  var pj = vec4<f32>(p0);
  if (kind == 1u) {
${units.map((c) => `    if (unit0 + tc + ${c * 16}u < u.m) { pj[${c}] = pv[unit0 + tc + ${c * 16}u]; }`).join('\n')}
  }

  // 3. K in slices through workgroup memory
  var acc = vec4<f32>(0.0);
  var z = vec4<f32>(0.0);
  var best = vec4<f32>(0.0);
  var found = vec4<bool>(false);
  var bad = vec4<bool>(false);
  for (var k0 = 0u; k0 < u.k; k0 += KS) {
    for (var q = tc; q < KS; q += 16u) {
      let kx = k0 + q;
      var xv = 0.0;
      if (r < u.rows && kx < u.k) {
        let ratio = magnitude(load_x(r * u.k + kx), u.mode, u.eps) * inv;
        if (kind == 0u) {
          xv = pow_ratio(min(ratio, 1.0), p0);
        } else if (kind == 1u) {
          xv = select(ZERO_LOG, log2(ratio), ratio > 0.0 || is_nan(ratio));
        } else {
          xv = ratio;
        }
      }
      xs[tr * KS + q] = xv;
    }
    for (var e = flat; e < TU * KS; e += 16u * TR) {
      let wu = unit0 + e / KS;
      let kx = k0 + e % KS;
      ws[e] = select(0.0, w[wu * u.k + kx], wu < u.m && kx < u.k);
    }
    workgroupBarrier();
    if (kind == 0u) {
      for (var t = 0u; t < KS; t++) {
        let v = xs[tr * KS + t];
        let wt = vec4<f32>(${units.map((c) => `ws[(tc + ${c * 16}u) * KS + t]`).join(', ')});
        acc += wt * v;
        z += wt;
      }
    } else {
      for (var t = 0u; t < KS; t++) {
        let v = xs[tr * KS + t];
${units
  .map(
    (c) => `        {
          let wt = ws[(tc + ${c * 16}u) * KS + t];
          z[${c}] += wt;
          if (wt > 0.0) {
            if (kind == 2u || is_inf(pj[${c}])) {
              if (is_nan(v)) { bad[${c}] = true; } else if (!found[${c}] || v > best[${c}]) { best[${c}] = v; found[${c}] = true; }
            } else {
              acc[${c}] += wt * exp2(pj[${c}] * v);
            }
          }
        }`,
  )
  .join('\n')}
      }
    }
    workgroupBarrier();
  }
  if (r >= u.rows) { return; }

  // 4. the roots, rescaled
  for (var c = 0u; c < ${UPT}u; c++) {
    let j = unit0 + tc + c * 16u;
    if (j >= u.m) { break; }
    let o = r * u.m + j;
    let p = pj[c];
    if (kind == 2u || is_inf(p)) {
      if (bad[c]) { y[o] = nan(); continue; }
      if (!found[c]) { y[o] = 0.0; continue; }
      y[o] = row_max * select(exp2(best[c]), best[c], kind == 2u);
      continue;
    }
    if (row_nan == 1u) { y[o] = nan(); continue; }
    var s = acc[c];
    var base = row_max;
    if (s < 1.0e-30 && row_max > 0.0) {
      // the weighted inputs lie far below the row maximum and their terms may have underflowed:
      // this unit again, scaled by its own largest weighted magnitude
      base = 0.0;
      for (var i = 0u; i < u.k; i++) {
        if (w[j * u.k + i] > 0.0) { base = max(base, magnitude(load_x(r * u.k + i), u.mode, u.eps)); }
      }
      s = 0.0;
      if (base > 0.0) {
        for (var i = 0u; i < u.k; i++) {
          let wt = w[j * u.k + i];
          if (wt > 0.0) { s += wt * pow_ratio(magnitude(load_x(r * u.k + i), u.mode, u.eps) / base, p); }
        }
      }
    }
    if (u.mean == 1u) { s = s / z[c]; }
    var scale = base;
    if (u.sum_eps > 0.0) { scale = max(base, exp2(log2(u.sum_eps) / p)); }
    if (scale <= 0.0) { y[o] = 0.0; continue; }
    var total = pow_ratio(base / scale, p) * s;
    if (u.sum_eps > 0.0) { total += u.sum_eps * exp2(-p * log2(scale)); }
    y[o] = select(0.0, scale * exp2(log2(total) / p), total > 0.0);
  }
}
`,
  };
}
