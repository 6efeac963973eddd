// The shared skeleton of the window programs (LpPool, L1Conv): three spatial axes (1D and 2D inputs
// padded with unit axes in front), resolved by ops/geometry.ts and passed as numbers; the tap loops
// are written once and each op supplies its per-tap and finishing snippets.
import type { AxisWindow } from '../../ops/geometry';
import { PRELUDE, WORKGROUP } from './program';

const UNIT: AxisWindow = { input: 1, kernel: 1, stride: 1, dilation: 1, padBegin: 0, padEnd: 0, output: 1 };

/** Three axes, unit ones in front. */
export function threeAxes(axes: readonly AxisWindow[]): AxisWindow[] {
  return [...new Array(3 - axes.length).fill(UNIT), ...axes];
}

/** u32 words of the geometry block: per axis input, kernel, stride, dilation, pad begin, pad end, output. */
export function geometryWords(axes: readonly AxisWindow[]): number[] {
  return threeAxes(axes).flatMap((a) => [a.input, a.kernel, a.stride, a.dilation, a.padBegin, a.padEnd, a.output]);
}

const axisFields = [0, 1, 2].map((i) => `in${i}: u32, k${i}: u32, s${i}: u32, d${i}: u32, pb${i}: u32, pe${i}: u32, o${i}: u32`).join(', ');

export interface WindowSnippets {
  /** extra fields of the uniform struct (after the geometry and the op's u32 words) */
  fields: string;
  /** storage bindings from 1 on, the output last */
  bindings: string;
  /** code run once per output; `outer` (the (n, c) or (n, co) index) and `o` (flat output position) are defined */
  setup: string;
  /**
   * code run for every tap of the window, in as many passes as `passes`; `step` (the pass), `t` (flat tap index),
   * `inside` (bool: in the input), `in_pad` (bool: in the explicit padding) and `at` (flat input
   * position in the plane, valid when inside) are defined
   */
  tap: string;
  passes: number;
  /** code between passes (after pass 0) and at the end; writes y */
  between?: string;
  finish: string;
}

/** A compute shader: one invocation per output element of `outer` planes. */
export function windowShader(s: WindowSnippets): string {
  return /* wgsl */ `${PRELUDE}
struct U { ${axisFields}, outer: u32, ${s.fields} };
@group(0) @binding(0) var<uniform> u: U;
${s.bindings}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let id = linear_id(gid, groups);
  let plane_out = u.o0 * u.o1 * u.o2;
  if (id >= u.outer * plane_out) { return; }
  let outer = id / plane_out;
  let o = id % plane_out;
  let q0 = o / (u.o1 * u.o2);
  let q1 = (o / u.o2) % u.o1;
  let q2 = o % u.o2;
  ${s.setup}
  for (var step = 0u; step < ${s.passes}u; step++) {
    var t = 0u;
    for (var k0 = 0u; k0 < u.k0; k0++) {
      let i0 = i32(q0 * u.s0 + k0 * u.d0) - i32(u.pb0);
      for (var k1 = 0u; k1 < u.k1; k1++) {
        let i1 = i32(q1 * u.s1 + k1 * u.d1) - i32(u.pb1);
        for (var k2 = 0u; k2 < u.k2; k2++) {
          let i2 = i32(q2 * u.s2 + k2 * u.d2) - i32(u.pb2);
          let inside = i0 >= 0 && i0 < i32(u.in0) && i1 >= 0 && i1 < i32(u.in1) && i2 >= 0 && i2 < i32(u.in2);
          let in_pad = i0 >= -i32(u.pb0) && i0 < i32(u.in0 + u.pe0) && i1 >= -i32(u.pb1) && i1 < i32(u.in1 + u.pe1) &&
                       i2 >= -i32(u.pb2) && i2 < i32(u.in2 + u.pe2);
          let at = select(0u, (u32(i0) * u.in1 + u32(i1)) * u.in2 + u32(i2), inside);
          ${s.tap}
          t++;
        }
      }
    }
    ${s.between ?? ''}
  }
  ${s.finish}
}
`;
}
