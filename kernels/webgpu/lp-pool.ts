// LpPool as a WGSL program on the window skeleton: pass 0 finds the window maximum of a(x) (and
// NaN), pass 1 sums (a / max)^p; y = max (sum / Z)^(1/p). p = +inf is the maximum.
import type { AxisWindow } from '../../ops/geometry';
import { dispatchFor, type Program, xBinding } from './program';
import { geometryWords, windowShader } from './window';

export function lpPoolProgram(
  planes: number,
  channels: number,
  axes: readonly AxisWindow[],
  pLength: number,
  a: { p: number; eps: number; mean: number; mode: string; count_include_pad: number },
  halfX = false,
): Program {
  const out = axes.reduce((n, x) => n * x.output, 1);
  return {
    name: 'LpPool',
    cacheKey: halfX ? 'LpPool/f16x' : 'LpPool',
    dispatch: dispatchFor(planes * out),
    uniforms: {
      u32: [...geometryWords(axes), planes, channels, pLength, a.mean, a.mode === 'abs' ? 0 : 1, a.count_include_pad],
      f32: [a.p, a.eps],
    },
    inputs: 2,
    shaderSource: windowShader({
      fields: 'channels: u32, p_len: u32, mean: u32, mode: u32, cip: u32, p_attr: f32, eps: f32',
      bindings: `${xBinding(1, halfX)}
@group(0) @binding(2) var<storage, read> pv: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;`,
      setup: `let base = outer * u.in0 * u.in1 * u.in2;
  var p = u.p_attr;
  if (u.p_len == 1u) { p = pv[0]; } else if (u.p_len > 1u) { p = pv[outer % u.channels]; }
  var mx = 0.0;
  var bad = false;
  var s = 0.0;
  var count = 0.0;`,
      passes: 2,
      tap: `if (inside) {
            let v = magnitude(load_x(base + at), u.mode, u.eps);
            if (step == 0u) {
              if (is_nan(v)) { bad = true; } else { mx = max(mx, v); }
              count += 1.0;
            } else {
              s += pow_ratio(v / mx, p);
            }
          } else if (step == 0u && in_pad && u.cip == 1u) {
            count += 1.0;
          }`,
      between: `if (step == 0u && (bad || is_inf(p) || mx <= 0.0)) { break; }`,
      finish: `if (bad) { y[id] = nan(); return; }
  if (is_inf(p) || mx <= 0.0) { y[id] = mx; return; }
  let z = select(1.0, count, u.mean == 1u);
  y[id] = select(0.0, mx * exp2(log2(s / z) / p), s > 0.0);`,
    }),
  };
}
