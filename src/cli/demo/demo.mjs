// The lp-onnx demo page: load a model (picked, dropped or served), run it on the fused WebGPU path
// and on its function bodies, show timings and how far the outputs agree. The page's state ends in
// window.lpOnnxDemo for tests.
import * as lp from '/lp-onnx/lp-onnx-web.mjs';

lp.env.wasm.wasmPaths = '/ort/';

const $ = (id) => document.getElementById(id);
const state = { bytes: undefined, name: '', desc: undefined, externalData: [] };
window.lpOnnxDemo = { ready: true };

const PATHS = [
  { key: 'fused', label: 'WebGPU: fused WGSL kernels (lp-onnx/web)', options: {} },
  { key: 'bodies-webgpu', label: 'WebGPU: function bodies (onnxruntime-web)', options: { lpKernels: 'bodies' } },
  { key: 'bodies-wasm', label: 'wasm: function bodies (onnxruntime-web)', options: { executionProviders: ['wasm'] } },
];
/** ops.md's tolerance between a fused kernel and a function body */
const TOL32 = { atol: 1e-5, rtol: 1e-3 };
// a model with float16 lp nodes rounds each float16 activation: 3x ops.md's float16 kernel tolerance, as the tests hold whole models
const TOL16 = { atol: 3e-4, rtol: 3e-3 };
let TOL = TOL32;

function status(text, cls = '') {
  $('status').textContent = text;
  $('status').className = cls;
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

const fmtDims = (dims) => (dims ? `[${dims.map((d) => (d === null ? '?' : d)).join(', ')}]` : 'unknown');

/** Forgets the model on screen (a failed load must not leave the previous one's info and results). */
function clear() {
  Object.assign(state, { bytes: undefined, name: '', desc: undefined, externalData: [] });
  $('model').hidden = true;
  $('results').hidden = true;
}

function fail(message) {
  status(message, 'bad');
  window.lpOnnxDemo = { error: message };
}

/** BYTES of model NAME, with the contents of the files beside it (external data) by name. */
function load(bytes, name, beside = new Map()) {
  clear();
  let desc;
  try {
    desc = lp.describeModel(bytes, name);
  } catch (e) {
    // the model's own messages start with its name
    fail(e.message.startsWith(`${name}: `) ? e.message : `${name}: ${e.message}`);
    return;
  }
  const missing = desc.externalData.filter((f) => !beside.has(f));
  if (missing.length) {
    fail(`${name} keeps its weights in ${missing.join(', ')} beside it: pick or drop ${name} and ${missing.join(' and ')} together`);
    return;
  }
  const externalData = desc.externalData.map((path) => ({ path, data: beside.get(path) }));
  Object.assign(state, { bytes, name, desc, externalData });
  const size = bytes.length + externalData.reduce((a, f) => a + f.data.length, 0);
  $('model-name').textContent = `${name} (${(size / 1024).toFixed(1)} KiB${externalData.length ? `, weights in ${desc.externalData.join(', ')}` : ''})`;
  const kinds = {};
  for (const n of desc.lpNodes) kinds[n.opType] = (kinds[n.opType] ?? 0) + 1;
  const list = Object.entries(kinds).map(([k, v]) => `${k} x${v}`).join(', ') || 'none';
  const bodies =
    desc.lpNodes.length === 0
      ? 'no lp nodes: nothing to fuse, every path runs onnxruntime-web\'s own kernels'
      : desc.dualPath
        ? 'dual-path (every lp node has its function body)'
        : 'NOT dual-path: its lp nodes have no function bodies, so only the fused path can run it (`lp-onnx export` adds them)';
  const half = desc.lpNodes.some((n) => n.output.startsWith('float16')) || [...desc.inputs, ...desc.outputs].some((v) => v.dtype === 'float16');
  TOL = half ? TOL16 : TOL32;
  const types = half ? `; float16 (${desc.lpNodes.filter((n) => n.output.startsWith('float16')).length} float16 lp nodes; paths agree within atol ${TOL16.atol} + rtol ${TOL16.rtol})` : '; float32';
  $('model-info').textContent = `${desc.lpNodes.length ? `lp nodes: ${list}; ` : ''}${bodies}; opset ${desc.opsets['ai.onnx'] ?? '?'}${types}`;
  const inputs = $('inputs').tBodies[0];
  inputs.replaceChildren();
  for (const v of desc.inputs) {
    const row = inputs.insertRow();
    cell(row, v.name);
    cell(row, v.dtype);
    const td = row.insertCell();
    for (const [i, d] of (v.dims ?? []).entries()) {
      if (typeof d === 'number') td.append(`${i ? ', ' : ''}${d}`);
      else {
        const box = Object.assign(document.createElement('input'), { type: 'number', min: 1, step: 1, value: 1, className: 'dim', title: d ?? 'unknown' });
        box.dataset.input = v.name;
        box.dataset.axis = String(i);
        box.dataset.dim = d ?? '?';
        td.append(i ? ', ' : '', `${d ?? '?'}=`, box);
      }
    }
  }
  const outputs = $('outputs').tBodies[0];
  outputs.replaceChildren();
  for (const v of desc.outputs) {
    const row = outputs.insertRow();
    cell(row, v.name);
    cell(row, v.dtype);
    cell(row, fmtDims(v.dims));
  }
  $('model').hidden = false;
  status(`loaded ${name}`);
  window.lpOnnxDemo = { ready: true, loaded: name, description: desc };
}

/** A seeded uniform stream in [-1, 1). */
function random(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32) * 2 - 1;
  };
}

function makeFeeds() {
  const feeds = {};
  const r = random(1234);
  for (const v of state.desc.inputs) {
    const dims = (v.dims ?? []).map((d, axis) => {
      if (typeof d === 'number') return d;
      const text = document.querySelector(`input[data-input="${CSS.escape(v.name)}"][data-axis="${axis}"]`).value.trim();
      const size = Number(text);
      if (text === '' || !Number.isInteger(size) || size < 1) throw new Error(`input '${v.name}': dim ${d ?? axis} must be a positive integer, got ${text === '' ? 'nothing' : text}`);
      return size;
    });
    const n = dims.reduce((a, b) => a * b, 1);
    let data;
    if (v.dtype === 'float32') data = Float32Array.from({ length: n }, r);
    else if (v.dtype === 'float16') data = Uint16Array.from({ length: n }, () => lp.floatToHalf(r()));
    else if (v.dtype === 'int64') data = BigInt64Array.from({ length: n }, () => BigInt(Math.floor((r() + 1) * 2)));
    else if (v.dtype === 'int32') data = Int32Array.from({ length: n }, () => Math.floor((r() + 1) * 2));
    else if (v.dtype === 'bool') data = Uint8Array.from({ length: n }, () => (r() > 0 ? 1 : 0));
    else throw new Error(`input '${v.name}': type ${v.dtype} is not supported by the demo`);
    feeds[v.name] = new lp.Tensor(v.dtype, data, dims);
  }
  return feeds;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function runPath(path, feeds, runs) {
  const session = await lp.InferenceSession.create(state.bytes, { ...path.options, ...(state.externalData.length ? { externalData: state.externalData } : {}) });
  try {
    let t = performance.now();
    let out = await session.run(feeds);
    const first = performance.now() - t;
    const times = [];
    for (let i = 0; i < runs; i++) {
      t = performance.now();
      out = await session.run(feeds);
      times.push(performance.now() - t);
    }
    const outputs = {};
    // float16 outputs come as their bits (a Uint16Array) where the browser has no Float16Array
    for (const [k, v] of Object.entries(out)) outputs[k] = { dims: [...v.dims], data: v.type === 'float16' && v.data instanceof Uint16Array ? Array.from(v.data, lp.halfToFloat) : Array.from(v.data, Number) };
    return { key: path.key, label: path.label, mode: session.mode, reason: session.reason, first, median: median(times), outputs };
  } finally {
    await session.release();
  }
}

function compare(got, want) {
  let maxAbs = 0;
  let agrees = true;
  for (const [k, w] of Object.entries(want.outputs)) {
    const g = got.outputs[k];
    if (!g || g.data.length !== w.data.length) return { maxAbs: Infinity, agrees: false };
    for (let i = 0; i < w.data.length; i++) {
      const a = g.data[i];
      const b = w.data[i];
      if (Number.isNaN(a) && Number.isNaN(b)) continue;
      const d = Math.abs(a - b);
      maxAbs = Math.max(maxAbs, Number.isNaN(d) ? Infinity : d);
      if (!(d <= TOL.atol + TOL.rtol * Math.abs(b))) agrees = false;
    }
  }
  return { maxAbs, agrees };
}

/** The WebGPU adapter this browser gives (the one lp-onnx/web's device comes from), in words. */
async function adapterInfo() {
  const adapter = navigator.gpu ? await navigator.gpu.requestAdapter().catch(() => null) : null;
  if (!adapter) return { text: 'no WebGPU adapter: the WebGPU paths ran on wasm' };
  const info = adapter.info ?? {};
  const fallback = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter);
  const cpu = fallback || /swiftshader|llvmpipe|lavapipe|software|cpu/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
  const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(', ') || 'unnamed';
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    fallback,
    cpu,
    text: `WebGPU adapter: ${name}${cpu ? ` (${fallback ? 'a fallback adapter, ' : ''}a CPU emulation, not a GPU: the timings say nothing of a GPU's speed)` : ''}`,
  };
}

async function run() {
  $('run').disabled = true;
  try {
    const feeds = makeFeeds();
    const runs = Math.max(1, Number($('runs').value) || 5);
    const desc = state.desc;
    const bare = desc.lpNodes.filter((x) => !x.functionBody).map((x) => `${x.name} (${x.opType})`);
    const results = [];
    for (const path of PATHS) {
      if (path.key !== 'fused' && bare.length) {
        results.push({ key: path.key, label: path.label, skipped: `not run: stock onnxruntime cannot run lp nodes without function bodies (${bare.join(', ')}); \`lp-onnx export\` adds them` });
        continue;
      }
      status(`running: ${path.label} ...`);
      try {
        results.push(await runPath(path, feeds, runs));
      } catch (e) {
        if (path.key === 'fused') throw e;
        // a path this browser cannot take is a row that says why, not the end of the demo
        const why = /requires f16/.test(e.message) ? "onnxruntime-web's WebGPU provider runs float16 only where the adapter has shader-f16, which this one lacks" : e.message.split('\n')[0];
        results.push({ key: path.key, label: path.label, skipped: `not run: ${why}` });
      }
    }
    const ran = results.filter((r) => !r.skipped);
    const fused = results.find((r) => r.key === 'fused');
    // the wasm bodies are the reference where they ran, else the fused path alone
    const ref = ran.find((r) => r.key === 'bodies-wasm') ?? fused;
    const body = $('timings').tBodies[0];
    body.replaceChildren();
    for (const r of results) {
      const row = body.insertRow();
      cell(row, r.key === 'fused' && desc.lpNodes.length === 0 ? `${r.label}: no lp nodes, onnxruntime-web alone` : r.label);
      if (r.skipped) {
        const td = cell(row, r.skipped, 'bad');
        td.colSpan = 6;
        continue;
      }
      Object.assign(r, compare(r, ref));
      cell(row, r.mode + (r.reason ? ` (${r.reason})` : ''));
      cell(row, `${r.first.toFixed(1)} ms`, 'num');
      cell(row, `${r.median.toFixed(2)} ms`, 'num');
      cell(row, `${(r.median / fused.median).toFixed(2)}x`, 'num');
      cell(row, r === ref ? '-' : r.maxAbs.toExponential(2), 'num');
      cell(row, r === ref ? '-' : r.agrees ? 'yes' : 'NO', r === ref ? '' : r.agrees ? 'ok' : 'bad');
    }
    const bodies = ran.find((r) => r.key === 'bodies-webgpu');
    const allAgree = ran.every((r) => r.agrees);
    const verdict = $('verdict');
    verdict.replaceChildren();
    if (ran.length > 1) {
      verdict.append(
        Object.assign(document.createElement('span'), {
          className: allAgree ? 'ok' : 'bad',
          textContent: allAgree ? `All paths agree within atol ${TOL.atol} + rtol ${TOL.rtol}.` : `The paths disagree beyond atol ${TOL.atol} + rtol ${TOL.rtol}.`,
        }),
        ' ',
      );
    }
    if (desc.lpNodes.length === 0) verdict.append(`This model has no lp nodes: nothing is fused, and every path runs onnxruntime-web's own kernels (median of ${runs} runs, after one warm-up).`);
    else if (!bodies) verdict.append(`Only the fused path can run this model: its lp nodes have no function bodies (median of ${runs} runs, after one warm-up).`);
    else verdict.append(`Fused WebGPU is ${(bodies.median / fused.median).toFixed(2)}x the speed of the function bodies on WebGPU (median of ${runs} runs, after one warm-up).`);
    const adapter = await adapterInfo();
    $('adapter').textContent = adapter.text;
    $('results').hidden = false;
    status(`done: ${state.name}`);
    window.lpOnnxDemo = { done: true, model: state.name, runs, agree: allAgree, adapter, results: results.map(({ outputs: _outputs, ...r }) => r) };
  } catch (e) {
    fail(`error: ${e.message}`);
  } finally {
    $('run').disabled = false;
  }
}

/** Picked or dropped files: the model (.onnx) and the files beside it (its external data). */
async function openFiles(list) {
  const files = [...(list ?? [])];
  if (!files.length) return;
  const models = files.filter((f) => /\.onnx$/i.test(f.name));
  if (models.length !== 1) {
    clear();
    fail(models.length ? `${models.map((f) => f.name).join(', ')}: one .onnx model at a time, please` : `${files.map((f) => f.name).join(', ')}: no .onnx model among them`);
    return;
  }
  const beside = new Map();
  for (const f of files) if (f !== models[0]) beside.set(f.name, new Uint8Array(await f.arrayBuffer()));
  load(new Uint8Array(await models[0].arrayBuffer()), models[0].name, beside);
}

$('file').addEventListener('change', (e) => openFiles(e.target.files));
$('run').addEventListener('click', run);
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  openFiles(e.dataTransfer.files);
});

const names = await (await fetch('/models/index.json')).json();
const openServed = async (name) => load(new Uint8Array(await (await fetch(`/models/${encodeURIComponent(name)}`)).arrayBuffer()), name);
for (const name of names) {
  const b = Object.assign(document.createElement('button'), { textContent: name, type: 'button' });
  b.style.marginLeft = '8px';
  b.addEventListener('click', () => openServed(name));
  $('preloaded').append(b);
}
if (names.length) {
  $('preloaded').prepend(' or open a served model:');
  // lp-onnx serve m.onnx: the first model is on the page from the start
  await openServed(names[0]);
}
