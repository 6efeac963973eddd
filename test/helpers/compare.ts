// One comparison helper: |got - want| <= atol + rtol * |want|, NaN equal to NaN, and a
// failure message that names the case and the first offending index.
export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Named tolerances (ops.md: kernels rtol 1e-4, function bodies rtol 1e-3, atol 1e-5). */
export const TOL = {
  float64: { atol: 1e-9, rtol: 1e-9 },
  reference: { atol: 1e-12, rtol: 1e-9 },
  body: { atol: 1e-5, rtol: 1e-3 },
  kernel: { atol: 1e-5, rtol: 1e-4 },
  sameOpFloat32: { atol: 1e-6, rtol: 1e-5 },
  // float16 outputs (ops.md, "float16"); the reference and the oracle both round once to float16,
  // so they may differ by one float16 step where a value lies at a rounding boundary
  reference16: { atol: 1e-7, rtol: 2 ** -10 },
  body16: { atol: 1e-4, rtol: 2e-3 },
  kernel16: { atol: 1e-4, rtol: 1e-3 },
  // a whole float16 model (export --float16, a model.half() export): each float16 activation is
  // rounded, so its error grows with depth; 3x kernel16 (scripts/portable-cases.ts uses the same)
  model16: { atol: 3e-4, rtol: 3e-3 },
} satisfies Record<string, Tolerance>;

/** The tolerance of a backend's float16 outputs, from its float32 one. */
export function float16Tolerance(t: Tolerance): Tolerance {
  return t === TOL.reference ? TOL.reference16 : t === TOL.body ? TOL.body16 : TOL.kernel16;
}

export function compareArrays(
  what: string,
  got: { dims: readonly number[]; data: ArrayLike<number> },
  want: { dims: readonly number[]; data: ArrayLike<number> },
  tol: Tolerance,
): void {
  if (got.dims.length !== want.dims.length || got.dims.some((d, i) => d !== want.dims[i])) {
    throw new Error(`${what}: shape [${got.dims}] but expected [${want.dims}]`);
  }
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < want.data.length; i++) {
    const g = Number(got.data[i]);
    const w = Number(want.data[i]);
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (Number.isNaN(w) !== Number.isNaN(g)) throw new Error(`${what}: index ${i}: got ${g}, expected ${w}`);
      continue;
    }
    if (g === w) continue;
    // an infinity on one side only is an error beyond any tolerance (inf / inf would be NaN, which
    // would compare as no error at all)
    const ratio = Number.isFinite(w) && Number.isFinite(g) ? Math.abs(g - w) / (tol.atol + tol.rtol * Math.abs(w)) : Number.POSITIVE_INFINITY;
    if (!(ratio <= worstRatio)) {
      worstRatio = ratio;
      worst = i;
    }
  }
  if (worstRatio > 1) {
    throw new Error(
      `${what}: index ${worst}: got ${got.data[worst]}, expected ${want.data[worst]} (error ${(worstRatio).toFixed(2)}x the tolerance atol ${tol.atol} + rtol ${tol.rtol})`,
    );
  }
}
