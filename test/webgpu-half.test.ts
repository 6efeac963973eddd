// The WGSL float16 conversions (kernels/webgpu/half.ts) against the TypeScript codec
// (src/onnx/tensor.ts, IEEE binary16 written from the format): every one of the 65,536 float16 bit
// patterns to f32, and f32 values that probe the rounding back (every float16 value, every midpoint
// between neighbours and one f32 ulp either side, the ends of the range, subnormals, NaN, +-inf).
import { floatToHalfProgram, halfToFloatProgram } from '../kernels/webgpu/half';
import { floatToHalf, halfToFloat } from '../src/onnx/tensor';
import { nodeWebGpu, runProgram, type WebGpuContext } from '../src/runtime/webgpu';

let ctx: WebGpuContext | undefined;
let reason: string | undefined;
beforeAll(async () => {
  ({ ctx, reason } = await nodeWebGpu());
  if (!ctx) console.warn(`skipped: ${reason}`);
}, 60000);

const sameBits = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));

describe('WGSL float16 conversions', () => {
  test('every float16 bit pattern converts to its exact f32 value', async () => {
    if (!ctx) return;
    const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const got = await runProgram(ctx, halfToFloatProgram(65536), [new Float32Array(bits.buffer)], 65536);
    const wrong: string[] = [];
    for (let h = 0; h < 65536; h++) {
      const want = halfToFloat(h);
      if (!sameBits(got[h], want) || Object.is(got[h], -0) !== Object.is(want, -0)) wrong.push(`0x${h.toString(16)}: got ${got[h]}, want ${want}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  }, 60000);

  test('f32 to float16 rounds to nearest even, overflows to +-inf, keeps NaN, as IEEE does', async () => {
    if (!ctx) return;
    const probe: number[] = [];
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    const nextUp = (v: number, k: number) => {
      f32[0] = v;
      u32[0] += k;
      return f32[0];
    };
    for (let h = 0; h < 0x7c00; h++) {
      const v = halfToFloat(h);
      const mid = Math.fround((v + halfToFloat(h + 1)) / 2); // exact in f32: one more bit than float16
      for (const s of [1, -1]) probe.push(s * v, s * mid, s * nextUp(mid, 1), s * nextUp(mid, -1));
    }
    probe.push(65504, 65519.996, 65520, 65536, 1e30, -65520, Infinity, -Infinity, Number.NaN, 2 ** -25, 2 ** -25 * 1.0000001, 2 ** -26, 1e-40, -1e-40, 0, -0);
    const input = Float32Array.from(probe);
    const words = await runProgram(ctx, floatToHalfProgram(input.length), [input], Math.ceil(input.length / 2));
    const got = new Uint16Array(words.buffer, 0, input.length);
    const wrong: string[] = [];
    input.forEach((v, i) => {
      const want = floatToHalf(v);
      const ok = got[i] === want || (Number.isNaN(v) && (got[i] & 0x7c00) === 0x7c00 && (got[i] & 0x3ff) !== 0);
      if (!ok) wrong.push(`${v}: got 0x${got[i].toString(16)}, want 0x${want.toString(16)}`);
    });
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(input.length).toBeGreaterThan(240000);
  }, 60000);
});
