const { benchCases, benchModel, NATIVE_SIZES, seededWeights } = require('/work/main/dist/scripts/bench-cases');
const lp = require('/work/main/dist/src/node/index');
const which = process.argv[2];
(async () => {
  const c = benchCases(NATIVE_SIZES).find((k) => k.name.includes(which));
  const n = c.input.reduce((a, b) => a * b, 1);
  const s = await lp.InferenceSession.create(benchModel(c, 'lp', seededWeights(1)), { executionProviders: ['cpu'] });
  const feeds = { X: new lp.Tensor('float32', seededWeights(2)(n), c.input) };
  for (let r = 0; r < Number(process.argv[3]); r++) await s.run(feeds);
})();
