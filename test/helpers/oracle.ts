// Brute-force float64 oracles, written independently of ops/: LpNorm in the log domain
// (log-sum-exp instead of max scaling), LpPool and L1Conv over an explicitly zero-padded copy
// of the input, with output sizes re-derived from the ONNX pooling / Conv formulas.
export interface Arr {
  dims: number[];
  data: Float64Array;
}

const mag = (x: number, mode: string, eps: number) => (mode === 'abs' ? Math.max(Math.abs(x), eps) : Math.max(x, eps));

function logSumExp(terms: number[]): number {
  const m = Math.max(...terms);
  if (m === Number.NEGATIVE_INFINITY) return m;
  return m + Math.log(terms.reduce((s, t) => s + Math.exp(t - m), 0));
}

export function lpNormOracle(X: Arr, W: Arr, P: Arr | undefined, a: { p?: number; eps?: number; sum_eps?: number; mean?: number; mode?: string }): Arr {
  const K = X.dims[X.dims.length - 1];
  const [M] = W.dims;
  const rows = X.data.length / K;
  const out = new Float64Array(rows * M);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < M; j++) {
      const p = P ? P.data[P.data.length === 1 ? 0 : j] : (a.p ?? 2);
      const xs = Array.from({ length: K }, (_, i) => mag(X.data[r * K + i], a.mode ?? 'abs', a.eps ?? 0));
      const ws = Array.from({ length: K }, (_, i) => W.data[j * K + i]);
      if (xs.some((x, i) => Number.isNaN(x) && (p !== Infinity || ws[i] > 0))) {
        out[r * M + j] = Number.NaN;
        continue;
      }
      if (p === Infinity) {
        out[r * M + j] = xs.reduce((m, x, i) => (ws[i] > 0 ? Math.max(m, x) : m), 0);
        continue;
      }
      const terms = xs.map((x, i) => (ws[i] > 0 && x > 0 ? Math.log(ws[i]) + p * Math.log(x) : Number.NEGATIVE_INFINITY));
      let logS = logSumExp(terms);
      if (a.mean) logS -= Math.log(ws.reduce((s, w) => s + w, 0));
      if (a.sum_eps) logS = logSumExp([logS, Math.log(a.sum_eps)]);
      out[r * M + j] = logS === Number.NEGATIVE_INFINITY ? 0 : Math.exp(logS / p);
    }
  }
  return { dims: [...X.dims.slice(0, -1), M], data: out };
}

export interface Geometry {
  kernel_shape: number[];
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  auto_pad?: string;
  ceil_mode?: number;
}

/** Per axis: [padBegin, padEnd, out], from the ONNX formulas (pool: onnxruntime's SAME pads and ceil rule). */
export function axes(kind: 'pool' | 'conv', spatial: number[], g: Geometry): [number, number, number][] {
  const r = spatial.length;
  return spatial.map((D, i) => {
    const k = g.kernel_shape[i];
    const s = g.strides?.[i] ?? 1;
    const d = g.dilations?.[i] ?? 1;
    const ek = (k - 1) * d + 1;
    let pb = g.pads?.[i] ?? 0;
    let pe = g.pads?.[i + r] ?? 0;
    const auto = g.auto_pad ?? 'NOTSET';
    if (auto === 'VALID') pb = pe = 0;
    if (auto.startsWith('SAME')) {
      const target = Math.ceil(D / s);
      const total = Math.max(0, (target - 1) * s + (kind === 'pool' ? k : ek) - D);
      pb = auto === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2);
      pe = total - pb;
    }
    const x = (D + pb + pe - ek) / s + 1;
    let out = kind === 'pool' && g.ceil_mode ? Math.ceil(x) : Math.floor(x);
    if (kind === 'pool' && g.ceil_mode && (out - 1) * s >= D + pb) out--;
    return [pb, pe, out];
  });
}

/** Generic N-d loop over index tuples. */
function* indices(dims: number[]): Generator<number[]> {
  const n = dims.reduce((a, b) => a * b, 1);
  for (let k = 0; k < n; k++) {
    const idx: number[] = [];
    let q = k;
    for (let i = dims.length - 1; i >= 0; i--) {
      idx.unshift(q % dims[i]);
      q = Math.floor(q / dims[i]);
    }
    yield idx;
  }
}

function flat(idx: number[], dims: number[]): number {
  return idx.reduce((o, v, i) => o * dims[i] + v, 0);
}

export function lpPoolOracle(
  X: Arr,
  P: Arr | undefined,
  a: Geometry & { p?: number; eps?: number; mean?: number; mode?: string; count_include_pad?: number; global?: number },
): Arr {
  const [N, C, ...sp] = X.dims;
  const g: Geometry = a.global ? { kernel_shape: sp } : a;
  const ax = axes('pool', sp, g);
  const outSp = ax.map((t) => t[2]);
  const y = new Float64Array(N * C * outSp.reduce((p, q) => p * q, 1));
  let o = 0;
  for (const [n, c] of indices([N, C])) {
    const p = P ? P.data[P.data.length === 1 ? 0 : c] : (a.p ?? 2);
    for (const oi of indices(outSp)) {
      const terms: number[] = [];
      let mx = 0;
      let nan = false;
      let count = 0;
      for (const ki of indices(g.kernel_shape)) {
        const pos = oi.map((v, i) => v * (g.strides?.[i] ?? 1) - ax[i][0] + ki[i] * (g.dilations?.[i] ?? 1));
        const inside = pos.every((v, i) => v >= 0 && v < sp[i]);
        const inPad = pos.every((v, i) => v >= -ax[i][0] && v < sp[i] + ax[i][1]);
        if (inside || (a.count_include_pad && inPad)) count++;
        if (!inside) continue;
        const m = mag(X.data[flat([n, c, ...pos], X.dims)], a.mode ?? 'abs', a.eps ?? 0);
        if (Number.isNaN(m)) nan = true;
        mx = Math.max(mx, m);
        if (m > 0) terms.push(p * Math.log(m));
      }
      const z = a.mean ? count : 1;
      const logS = terms.length ? logSumExp(terms) - Math.log(z) : Number.NEGATIVE_INFINITY;
      y[o++] = nan ? Number.NaN : p === Infinity ? mx : Math.exp(logS / p);
    }
  }
  return { dims: [N, C, ...outSp], data: y };
}

export function l1ConvOracle(X: Arr, W: Arr, B: Arr | undefined, a: Partial<Geometry> & { group?: number }): Arr {
  const [N, Cin, ...sp] = X.dims;
  const [Cout, cg, ...k] = W.dims;
  const g: Geometry = { ...a, kernel_shape: a.kernel_shape ?? k };
  const ax = axes('conv', sp, g);
  const group = a.group ?? 1;
  // explicit zero-padded copy
  const pdims = sp.map((d, i) => d + ax[i][0] + ax[i][1]);
  const padded = new Float64Array(N * Cin * pdims.reduce((p, q) => p * q, 1));
  for (const idx of indices(X.dims)) {
    const [n, c, ...s] = idx;
    padded[flat([n, c, ...s.map((v, i) => v + ax[i][0])], [N, Cin, ...pdims])] = X.data[flat(idx, X.dims)];
  }
  const outSp = ax.map((t) => t[2]);
  const y = new Float64Array(N * Cout * outSp.reduce((p, q) => p * q, 1));
  let o = 0;
  for (const [n, co] of indices([N, Cout])) {
    const grp = Math.floor(co / (Cout / group));
    for (const oi of indices(outSp)) {
      let s = 0;
      for (let ci = 0; ci < cg; ci++)
        for (const ki of indices(k)) {
          const pos = oi.map((v, i) => v * (g.strides?.[i] ?? 1) + ki[i] * (g.dilations?.[i] ?? 1));
          const xv = padded[flat([n, grp * cg + ci, ...pos], [N, Cin, ...pdims])];
          s += Math.abs(xv - W.data[flat([co, ci, ...ki], W.dims)]);
        }
      y[o++] = (B ? B.data[co] : 0) - s;
    }
  }
  return { dims: [N, Cout, ...outSp], data: y };
}
