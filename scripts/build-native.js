#!/usr/bin/env node
// Builds the native parts at install time: build/Release/lp_onnx.node (the lp-onnx/node addon with
// the CPU kernels) and build/Release/liblp_onnx_ops.so (the custom-op library alone, for Python
// onnxruntime's register_custom_ops_library). Needs g++, Node's headers and onnxruntime's C API
// headers: LP_ONNX_ORT_INCLUDE=<folder>, or Debian's libonnxruntime-dev (trixie) fetched with
// apt-get download into build/ort-headers. When anything is missing the install still succeeds;
// build/native-status.json says why, and `lp-onnx doctor` prints it.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const build = path.join(root, 'build');
// LP_ONNX_SANITIZE=1: AddressSanitizer + UndefinedBehaviorSanitizer build into build/Sanitize (for
// scripts/sanitize.sh; run with libasan preloaded). The regular build is left as it is.
const sanitize = process.env.LP_ONNX_SANITIZE === '1';
// LP_ONNX_CUDA_EMULATION=1: the test build in which the CUDA kernels (their host code and their
// device code, compiled by g++ on the CPU emulation of kernels/cuda/emulation) stand in for the CPU
// kernels, into build/CudaEmulation (with LP_ONNX_SANITIZE=1 too: build/CudaEmulationSanitize).
const emulation = process.env.LP_ONNX_CUDA_EMULATION === '1';
const variant = `${emulation ? 'CudaEmulation' : ''}${sanitize ? 'Sanitize' : ''}` || 'Release';
const out = path.join(build, variant);
const statusFile = path.join(build, variant === 'Release' ? 'native-status.json' : `${variant}-status.json`);

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...opts });
}

function ortHeaders() {
  const given = process.env.LP_ONNX_ORT_INCLUDE;
  if (given) {
    if (!fs.existsSync(path.join(given, 'onnxruntime_cxx_api.h'))) throw new Error(`LP_ONNX_ORT_INCLUDE=${given} has no onnxruntime_cxx_api.h`);
    return given;
  }
  const dir = path.join(build, 'ort-headers', 'usr', 'include', 'onnxruntime');
  if (fs.existsSync(path.join(dir, 'onnxruntime_cxx_api.h'))) return dir;
  // Debian trixie's libonnxruntime-dev, with apt state of our own (the machine's sources are untouched).
  const apt = path.join(build, 'apt');
  fs.mkdirSync(path.join(apt, 'lists', 'partial'), { recursive: true });
  fs.mkdirSync(path.join(apt, 'cache', 'archives', 'partial'), { recursive: true });
  const sources = path.join(apt, 'sources.list');
  const mirror = debianMirror();
  fs.writeFileSync(sources, `deb ${mirror} trixie main\n`);
  const o = [
    `-oDir::Etc::SourceList=${sources}`,
    '-oDir::Etc::SourceParts=/dev/null',
    `-oDir::State::Lists=${path.join(apt, 'lists')}`,
    `-oDir::Cache=${path.join(apt, 'cache')}`,
    '-oAPT::Sandbox::User=root',
    '-qq',
  ];
  sh('apt-get', [...o, 'update']);
  sh('apt-get', [...o, 'download', 'libonnxruntime-dev'], { cwd: apt });
  const deb = fs.readdirSync(apt).find((f) => f.startsWith('libonnxruntime-dev') && f.endsWith('.deb'));
  if (!deb) throw new Error('apt-get download libonnxruntime-dev gave no package');
  sh('dpkg', ['-x', path.join(apt, deb), path.join(build, 'ort-headers')]);
  return dir;
}

/** The Debian mirror the machine already uses. */
function debianMirror() {
  const files = ['/etc/apt/sources.list', ...fs.readdirSync('/etc/apt/sources.list.d').map((f) => `/etc/apt/sources.list.d/${f}`)];
  for (const f of files) {
    if (!fs.existsSync(f) || !/\.(list|sources)$/.test(f)) continue;
    const text = fs.readFileSync(f, 'utf8');
    const m = /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text) || /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s+\S+/m.exec(text);
    if (m) return m[1];
  }
  throw new Error('no Debian source in /etc/apt to fetch libonnxruntime-dev from');
}

// The CUDA kernels go into the Release build when nvcc is on PATH (LP_ONNX_CUDA=off leaves them out):
// a fat binary for these GPUs plus PTX for newer ones, and the CUDA runtime linked statically, so a
// user needs a driver but no toolkit. A CPU-only session never touches them.
const CUDA_ARCHS = ['75', '80', '86', '89', '90'];

function cudaToolkit() {
  if (process.env.LP_ONNX_CUDA === 'off') return { reason: 'switched off (LP_ONNX_CUDA=off)' };
  let nvcc;
  try {
    nvcc = sh('bash', ['-c', 'command -v nvcc']).trim();
  } catch {
    return { reason: 'nvcc is not on PATH (the CUDA toolkit builds them)' };
  }
  const tops = [process.env.CUDA_HOME, process.env.CUDA_PATH, path.dirname(path.dirname(fs.realpathSync(nvcc))), '/usr/local/cuda'].filter(Boolean);
  const top = tops.find((t) => fs.existsSync(path.join(t, 'include', 'cuda_runtime.h')));
  if (!top) return { reason: `no cuda_runtime.h under ${tops.join(', ')}` };
  const include = path.join(top, 'include');
  const lib = [path.join(top, 'lib64'), path.join(top, 'lib')].find((d) => fs.existsSync(path.join(d, 'libcudart_static.a')));
  if (!lib) return { reason: `no libcudart_static.a under ${top}` };
  return { nvcc, include, lib, version: sh(nvcc, ['--version']).trim().split('\n').pop() };
}

function nodeHeaders() {
  for (const dir of [path.join(path.dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node']) {
    if (fs.existsSync(path.join(dir, 'node_api.h'))) return dir;
  }
  throw new Error("Node's headers (node_api.h) were not found");
}

function main() {
  fs.mkdirSync(out, { recursive: true });
  const include = ortHeaders();
  const nodeInc = nodeHeaders();
  let cuda = sanitize || emulation ? { reason: 'not in this build' } : cudaToolkit();
  try {
    buildNative(include, nodeInc, cuda);
  } catch (e) {
    if (!cuda.nvcc) throw e;
    // a toolkit that cannot build them (too old, broken) costs the CUDA kernels, not the CPU ones
    const why = (e.stderr || e.message || String(e)).toString().trim().split('\n').slice(-3).join(' ');
    cuda = { reason: `nvcc could not build them: ${why}` };
    buildNative(include, nodeInc, cuda);
  }
}

function buildNative(include, nodeInc, cuda) {
  const opt = sanitize ? ['-O1', '-g', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=all'] : ['-O3'];
  const flags = ['-std=c++17', ...opt, '-fPIC', '-fno-math-errno', '-fno-trapping-math', '-fvisibility=hidden', '-Wall', '-Wextra', '-Werror', `-I${include}`, `-I${nodeInc}`, `-I${path.join(root, 'kernels', 'cpu')}`];
  const kernels = ['lp_norm', 'lp_pool', 'l1_conv', 'register'].map((f) => path.join(root, 'kernels', 'cpu', `${f}.cc`));
  const cudaDir = path.join(root, 'kernels', 'cuda');
  const cudaFiles = (ext) => fs.readdirSync(cudaDir).sort().filter((f) => f.endsWith(ext)).map((f) => path.join(cudaDir, f));
  if (emulation) {
    flags.push('-DLP_CUDA_EMULATION', '-pthread');
    kernels.push(...cudaFiles('.cc'), ...cudaFiles('.cu'));
  }
  const objs = [];
  const cudaLink = [];
  if (cuda.nvcc) {
    flags.push('-DLP_WITH_CUDA', `-I${cuda.include}`);
    kernels.push(...cudaFiles('.cc'));
    const gencode = CUDA_ARCHS.flatMap((a) => ['-gencode', `arch=compute_${a},code=sm_${a}`]);
    gencode.push('-gencode', `arch=compute_${CUDA_ARCHS[CUDA_ARCHS.length - 1]},code=compute_${CUDA_ARCHS[CUDA_ARCHS.length - 1]}`);
    for (const src of cudaFiles('.cu')) {
      const obj = path.join(out, `cuda_${path.basename(src)}.o`);
      sh(cuda.nvcc, ['-std=c++17', '-O3', '-c', src, '-o', obj, ...gencode, '-Werror', 'all-warnings', '-Werror', 'default-stream-launch', '-Xcompiler', '-fPIC,-fvisibility=hidden,-Wall,-Wextra,-Werror']);
      objs.push(obj);
    }
    cudaLink.push(`-L${cuda.lib}`, '-lcudart_static', '-ldl', '-lrt', '-lpthread');
  }
  for (const src of [...kernels, path.join(root, 'kernels', 'node', 'addon.cc')]) {
    const obj = path.join(out, `${path.relative(path.join(root, 'kernels'), src).replace(/[/.]/g, '_')}.o`);
    sh('g++', [...flags, '-DNODE_GYP_MODULE_NAME=lp_onnx', ...(src.endsWith('.cu') ? ['-x', 'c++'] : []), '-c', src, '-o', obj]);
    objs.push(obj);
  }
  const addonObj = objs.pop();
  const link = [...(sanitize ? ['-fsanitize=address,undefined'] : []), ...(emulation ? ['-pthread'] : [])];
  sh('g++', ['-shared', ...link, '-o', path.join(out, 'liblp_onnx_ops.so'), ...objs, ...cudaLink]);
  sh('g++', ['-shared', ...link, '-o', path.join(out, 'lp_onnx.node'), ...objs, addonObj, ...cudaLink, '-ldl']);
  for (const o of [...objs, addonObj]) fs.rmSync(o);
  if (sanitize) {
    // the canary: a deliberate out-of-bounds read that the sanitizer run must see reported
    sh('g++', [...flags, '-DNODE_GYP_MODULE_NAME=canary', '-shared', ...link, path.join(root, 'test', 'native', 'sanitizer-canary.cc'), '-o', path.join(out, 'canary.node')]);
  }
  const cudaStatus = cuda.nvcc ? { built: true, archs: CUDA_ARCHS.map((a) => `sm_${a}`), ptx: `compute_${CUDA_ARCHS[CUDA_ARCHS.length - 1]}`, toolkit: cuda.version } : { built: false, reason: cuda.reason };
  fs.writeFileSync(statusFile, `${JSON.stringify({ ok: true, headers: include, built: new Date().toISOString(), cuda: cudaStatus }, null, 1)}\n`);
  const what = `${emulation ? ' (CUDA kernels on the CPU emulation)' : cuda.nvcc ? ' with the CUDA kernels' : ''}${sanitize ? ' with ASan + UBSan' : ''}`;
  process.stdout.write(`lp-onnx: built the native kernels${what} (${path.relative(root, out)}/lp_onnx.node, liblp_onnx_ops.so)\n`);
}

try {
  main();
} catch (e) {
  const reason = (e.stderr || e.message || String(e)).toString().trim().split('\n').slice(-3).join(' ');
  fs.mkdirSync(build, { recursive: true });
  fs.writeFileSync(statusFile, `${JSON.stringify({ ok: false, reason }, null, 1)}\n`);
  process.stdout.write(`lp-onnx: the native kernels were not built (${reason}); everything runs on function bodies. See 'lp-onnx doctor'.\n`);
  if (sanitize || emulation) process.exit(1);
}
