// The lp-onnx demo page: load a model (picked, dropped or served), run it on the fused WebGPU path
// and on its function bodies, show timings and how far the outputs agree. The page's state ends in
// window.lpOnnxDemo for tests.
import * as lp from '/lp-onnx/lp-onnx-web.mjs';

lp.env.wasm.wasmPaths = '/ort/';

const $ = (id) => document.getElementById(id);
const state = { bytes: undefined, name: '', desc: undefined };
window.lpOnnxDemo = { ready: true };

const PATHS = [
  { key: 'fused', label: 'WebGPU: fused WGSL kernels (lp-onnx/web)', options: {} },
  { key: 'bodies-webgpu', label: 'WebGPU: function bodies (onnxruntime-web)', options: { lpKernels: 'bodies' } },
  { key: 'bodies-wasm', label: 'wasm: function bodies (onnxruntime-web)', options: { executionProviders: ['wasm'] } },
];
/** ops.md's tolerance between a fused kernel and a function body */
const TOL = { atol: 1e-5, rtol: 1e-3 };

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

function load(bytes, name) {
  let desc;
  try {
    desc = lp.describeModel(bytes, name);
  } catch (e) {
    status(`${name}: ${e.message}`, 'bad');
    window.lpOnnxDemo = { error: e.message };
    return;
  }
  Object.assign(state, { bytes, name, desc });
  $('model-name').textContent = `${name} (${(bytes.length / 1024).toFixed(1)} KiB)`;
  const kinds = {};
  for (const n of desc.lpNodes) kinds[n.opType] = (kinds[n.opType] ?? 0) + 1;
  const list = Object.entries(kinds).map(([k, v]) => `${k} x${v}`).join(', ') || 'none';
  const bodies = desc.lpNodes.length === 0 ? 'no lp nodes' : desc.dualPath ? 'dual-path (every lp node has its function body)' : 'NOT dual-path: run `lp-onnx export` on it first';
  $('model-info').textContent = `lp nodes: ${list}; ${bodies}; opset ${desc.opsets['ai.onnx'] ?? '?'}`;
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
        const box = Object.assign(document.createElement('input'), { type: 'number', min: 1, value: 1, className: 'dim', title: d ?? 'unknown' });
        box.dataset.input = v.name;
        box.dataset.axis = String(i);
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
  $('results').hidden = true;
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
    const dims = (v.dims ?? []).map((d, axis) => (typeof d === 'number' ? d : Number(document.querySelector(`input[data-input="${CSS.escape(v.name)}"][data-axis="${axis}"]`).value)));
    const n = dims.reduce((a, b) => a * b, 1);
    let data;
    if (v.dtype === 'float32') data = Float32Array.from({ length: n }, r);
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
  const session = await lp.InferenceSession.create(state.bytes, path.options);
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
    for (const [k, v] of Object.entries(out)) outputs[k] = { dims: [...v.dims], data: Array.from(v.data, Number) };
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

async function run() {
  $('run').disabled = true;
  try {
    const feeds = makeFeeds();
    const runs = Math.max(1, Number($('runs').value) || 5);
    const results = [];
    for (const path of PATHS) {
      status(`running: ${path.label} ...`);
      results.push(await runPath(path, feeds, runs));
    }
    const wasm = results.find((r) => r.key === 'bodies-wasm');
    const fused = results.find((r) => r.key === 'fused');
    const body = $('timings').tBodies[0];
    body.replaceChildren();
    for (const r of results) {
      Object.assign(r, compare(r, wasm));
      const row = body.insertRow();
      cell(row, r.label);
      cell(row, r.mode + (r.reason ? ` (${r.reason})` : ''));
      cell(row, `${r.first.toFixed(1)} ms`, 'num');
      cell(row, `${r.median.toFixed(2)} ms`, 'num');
      cell(row, `${(r.median / fused.median).toFixed(2)}x`, 'num');
      cell(row, r === wasm ? '-' : r.maxAbs.toExponential(2), 'num');
      cell(row, r.agrees ? 'yes' : 'NO', r.agrees ? 'ok' : 'bad');
    }
    const bodies = results.find((r) => r.key === 'bodies-webgpu');
    const allAgree = results.every((r) => r.agrees);
    $('verdict').innerHTML = '';
    $('verdict').append(
      Object.assign(document.createElement('span'), { className: allAgree ? 'ok' : 'bad', textContent: allAgree ? 'All paths agree within atol 1e-5 + rtol 1e-3.' : 'The paths disagree beyond atol 1e-5 + rtol 1e-3.' }),
      ` Fused WebGPU is ${(bodies.median / fused.median).toFixed(2)}x the speed of the function bodies on WebGPU (median of ${runs} runs, after one warm-up).`,
    );
    $('results').hidden = false;
    status(`done: ${state.name}`);
    window.lpOnnxDemo = { done: true, model: state.name, runs, agree: allAgree, results: results.map(({ outputs: _outputs, ...r }) => r) };
  } catch (e) {
    status(`error: ${e.message}`, 'bad');
    window.lpOnnxDemo = { error: e.message };
  } finally {
    $('run').disabled = false;
  }
}

async function openFile(file) {
  if (!file) return;
  load(new Uint8Array(await file.arrayBuffer()), file.name);
}

$('file').addEventListener('change', (e) => openFile(e.target.files[0]));
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
  openFile(e.dataTransfer.files[0]);
});

const names = await (await fetch('/models/index.json')).json();
for (const name of names) {
  const b = Object.assign(document.createElement('button'), { textContent: name, type: 'button' });
  b.style.marginLeft = '8px';
  b.addEventListener('click', async () => load(new Uint8Array(await (await fetch(`/models/${encodeURIComponent(name)}`)).arrayBuffer()), name));
  $('preloaded').append(names.length ? '' : '', b);
}
if (names.length) $('preloaded').prepend(' or open a served model:');
