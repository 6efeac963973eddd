// L1Conv as a WGSL program on the window skeleton: one invocation per output (n, co, position)
// sums |x - w| over the group's input channels and the taps; padding has value 0.
import type { AxisWindow } from '../../ops/geometry';
import { dispatchFor, type Program, xBinding } from './program';
import { geometryWords, windowShader } from './window';

export function l1ConvProgram(n: number, cin: number, cout: number, group: number, axes: readonly AxisWindow[], hasBias: boolean, halfX = false): Program {
  const out = axes.reduce((k, x) => k * x.output, 1);
  return {
    name: 'L1Conv',
    cacheKey: halfX ? 'L1Conv/f16x' : 'L1Conv',
    dispatch: dispatchFor(n * cout * out),
    uniforms: { u32: [...geometryWords(axes), n * cout, cin, cout, group, hasBias ? 1 : 0], f32: [] },
    inputs: 3,
    shaderSource: windowShader({
      fields: 'cin: u32, cout: u32, group: u32, has_bias: u32',
      bindings: `${xBinding(1, halfX)}
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;`,
      setup: `let nn = outer / u.cout;
  let co = outer % u.cout;
  let cg = u.cin / u.group;
  let g = co / (u.cout / u.group);
  let plane = u.in0 * u.in1 * u.in2;
  let taps = u.k0 * u.k1 * u.k2;
  var s = 0.0;
  var ci = 0u;`,
      // the tap loops run once per input channel of the group (passes = 1; channels loop in `between`)
      passes: 1,
      tap: `for (var c = 0u; c < cg; c++) {
            let xv = select(0.0, load_x((nn * u.cin + g * cg + c) * plane + at), inside);
            s += abs(xv - w[(co * cg + c) * taps + t]);
          }`,
      finish: `y[id] = select(0.0, b[co], u.has_bias == 1u) - s;`,
    }),
  };
}
