const { benchCases, benchModel, NATIVE_SIZES, seededWeights } = require('/work/main/dist/scripts/bench-cases');
const lp = require('/work/main/dist/src/node/index');
const ort = require('/work/main/node_modules/onnxruntime-node');
const which = process.argv[2], path = process.argv[3];
(async () => {
  const c = benchCases(NATIVE_SIZES).find((k) => k.name.includes(which));
  const n = c.input.reduce((a, b) => a * b, 1);
  const rt = path === 'fused' ? lp : ort;
  const s = await rt.InferenceSession.create(benchModel(c, path === 'fused' ? 'lp' : 'anchor', seededWeights(1)), { executionProviders: ['cpu'] });
  const feeds = { X: new rt.Tensor('float32', seededWeights(2)(n), c.input) };
  const t = [];
  for (let r = 0; r < Number(process.argv[4] || 30); r++) { const t0 = performance.now(); await s.run(feeds); t.push(performance.now() - t0); }
  t.sort((a, b) => a - b);
  console.log(which, path, 'min', t[0].toFixed(2), 'p10', t[Math.floor(t.length/10)].toFixed(2), 'median', t[t.length >> 1].toFixed(2));
})();
