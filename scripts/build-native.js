#!/usr/bin/env node
// Builds the native parts at install time: build/Release/lp_onnx.node (the lp-onnx/node addon with
// the CPU kernels) and build/Release/liblp_onnx_ops.so (the custom-op library alone, for Python
// onnxruntime's register_custom_ops_library). Needs g++, Node's headers and onnxruntime's C API
// headers: LP_ONNX_ORT_INCLUDE=<folder>, or Debian's libonnxruntime-dev (trixie) fetched with
// apt-get download into build/ort-headers. When anything is missing the install still succeeds;
// build/native-status.json says why, and `lp-onnx doctor` prints it.
//
// A packed lp-onnx carries prebuilt binaries (prebuilds/<platform>-<arch>/, made by `npm pack`'s
// prepack step with LP_ONNX_PREBUILD=1): install copies them into build/Release when they fit this
// machine (platform, architecture, glibc, N-API, the kernel sources they were built from) and load
// here, and builds from source only when none fits or LP_ONNX_BUILD_FROM_SOURCE=1.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const build = path.join(root, 'build');
// LP_ONNX_SANITIZE=1: AddressSanitizer + UndefinedBehaviorSanitizer build into build/Sanitize (for
// scripts/sanitize.sh; run with libasan preloaded). The regular build is left as it is.
// LP_ONNX_SANITIZE=thread: ThreadSanitizer instead (with LP_ONNX_CUDA_EMULATION=1:
// build/CudaEmulationTsan, the emulated CUDA kernels' blocks and threads checked for data races;
// run with libtsan preloaded).
const tsan = process.env.LP_ONNX_SANITIZE === 'thread';
const sanitize = process.env.LP_ONNX_SANITIZE === '1' || tsan;
const sanitizers = tsan ? 'thread' : 'address,undefined';
// LP_ONNX_CUDA_EMULATION=1: the test build in which the CUDA kernels (their host code and their
// device code, compiled by g++ on the CPU emulation of kernels/cuda/emulation) stand in for the CPU
// kernels, into build/CudaEmulation (with LP_ONNX_SANITIZE=1 too: build/CudaEmulationSanitize).
const emulation = process.env.LP_ONNX_CUDA_EMULATION === '1';
// LP_ONNX_PREBUILD=1: the binaries that go into the package, into prebuilds/<platform>-<arch>
// with their manifest.json.
const prebuild = process.env.LP_ONNX_PREBUILD === '1';
const variant = prebuild ? 'Prebuild' : `${emulation ? 'CudaEmulation' : ''}${tsan ? 'Tsan' : sanitize ? 'Sanitize' : ''}` || 'Release';
const PLATFORM = `${process.platform}-${process.arch}`;
const prebuiltDir = path.join(root, 'prebuilds', PLATFORM);
const out = prebuild ? prebuiltDir : path.join(build, variant);
const statusFile = prebuild ? path.join(prebuiltDir, 'manifest.json') : path.join(build, variant === 'Release' ? 'native-status.json' : `${variant}-status.json`);
const BINARIES = ['lp_onnx.node', 'liblp_onnx_ops.so'];
// the N-API version the addon is compiled against (Node 20 has 9)
const NAPI_VERSION = 8;

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
  if (variant === 'Release') {
    const fit = process.env.LP_ONNX_BUILD_FROM_SOURCE === '1' ? { reason: 'LP_ONNX_BUILD_FROM_SOURCE=1 asked for a build from source' } : prebuiltFit();
    if (fit.manifest) {
      const used = usePrebuilt(fit.manifest);
      if (used.ok) return;
      fit.reason = used.reason;
    }
    skipped = fit.reason;
  }
  // a prebuild starts empty: nothing stale goes into the package
  if (prebuild) fs.rmSync(out, { recursive: true, force: true });
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

// why the prebuilt binaries were not used (for the status file), when they were not
let skipped;

/** A digest of what the binaries are built from: the kernel sources and this script. */
function sourceDigest() {
  const h = crypto.createHash('sha256');
  const walk = (dir) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else if (/\.(cc|h|cu|cuh)$/.test(name)) h.update(`${path.relative(root, p)}\0`).update(fs.readFileSync(p));
    }
  };
  walk(path.join(root, 'kernels'));
  h.update(fs.readFileSync(__filename));
  return h.digest('hex').slice(0, 16);
}

/** glibc's version here ('2.36'), or undefined on a system without glibc (musl). */
function glibcVersion() {
  return process.report?.getReport?.().header?.glibcVersionRuntime;
}

const olderThan = (a, b) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0);
  return false;
};

/** The package's prebuilt binaries for this machine ({ manifest }), or why they do not fit ({ reason }). */
function prebuiltFit() {
  const file = path.join(prebuiltDir, 'manifest.json');
  if (!fs.existsSync(file)) return { reason: `no prebuilt binaries for ${PLATFORM} here (prebuilds/${PLATFORM})` };
  const m = JSON.parse(fs.readFileSync(file, 'utf8'));
  const glibc = glibcVersion();
  if (!glibc) return { reason: `the prebuilt binaries need glibc ${m.glibc}; this system has none` };
  if (olderThan(glibc, m.glibc)) return { reason: `the prebuilt binaries need glibc ${m.glibc}; this system has ${glibc}` };
  if (Number(process.versions.napi) < m.napi) return { reason: `the prebuilt binaries need N-API ${m.napi}; node ${process.version} has ${process.versions.napi}` };
  if (m.sources !== sourceDigest()) return { reason: 'the prebuilt binaries were built from other kernel sources than these' };
  const missing = BINARIES.find((b) => !fs.existsSync(path.join(prebuiltDir, b)));
  if (missing) return { reason: `prebuilds/${PLATFORM}/${missing} is missing` };
  return { manifest: m };
}

/** Copies the prebuilt binaries into build/Release and proves the addon loads into onnxruntime-node. */
function usePrebuilt(m) {
  fs.mkdirSync(out, { recursive: true });
  for (const b of BINARIES) fs.copyFileSync(path.join(prebuiltDir, b), path.join(out, b));
  const probe = [
    "const path = require('node:path');",
    "require('onnxruntime-node');",
    "const pkg = path.dirname(path.dirname(require.resolve('onnxruntime-node')));",
    `const b = require(${JSON.stringify(path.join(out, 'lp_onnx.node'))});`,
    "process.stdout.write(b.init(path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime.so.1')));",
  ].join('\n');
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    for (const b of BINARIES) fs.rmSync(path.join(out, b), { force: true });
    const why = r.signal ? `loading lp_onnx.node killed the probe (${r.signal})` : (`${r.stderr || r.error || ''}`.trim().split('\n').filter(Boolean).slice(-1)[0] ?? `exit ${r.status}`);
    return { reason: `the prebuilt binaries did not load here: ${why}` };
  }
  const status = { ok: true, source: 'prebuilt', prebuilt: { platform: m.platform, glibc: m.glibc, napi: m.napi, compiler: m.compiler, built: m.built }, onnxruntime: r.stdout.trim(), cuda: m.cuda };
  fs.writeFileSync(statusFile, `${JSON.stringify(status, null, 1)}\n`);
  process.stdout.write(`lp-onnx: using the prebuilt native kernels for ${m.platform} (glibc >= ${m.glibc}; ${path.relative(root, out)}/lp_onnx.node, liblp_onnx_ops.so)\n`);
  return { ok: true };
}

/** The newest glibc symbol version the binaries in `dir` need (and a check that they need no libstdc++). */
function glibcNeeded(dir) {
  let newest = '2.2.5';
  for (const b of BINARIES) {
    const dyn = sh('objdump', ['-T', '-p', path.join(dir, b)]);
    for (const [, v] of dyn.matchAll(/\bGLIBC_(\d+(?:\.\d+)+)\b/g)) if (olderThan(newest, v)) newest = v;
    const needs = [...dyn.matchAll(/NEEDED\s+(\S+)/g)].map((x) => x[1]).filter((lib) => /libstdc\+\+/.test(lib));
    if (needs.length) throw new Error(`${b} still needs ${needs.join(', ')} (expected libstdc++ linked in)`);
  }
  return newest;
}

function buildNative(include, nodeInc, cuda) {
  const opt = sanitize ? ['-O1', '-g', '-fno-omit-frame-pointer', `-fsanitize=${sanitizers}`, ...(tsan ? [] : ['-fno-sanitize-recover=all'])] : ['-O3'];
  const flags = ['-std=c++17', ...opt, `-DNAPI_VERSION=${NAPI_VERSION}`, '-fPIC', '-fno-math-errno', '-fno-trapping-math', '-ffp-contract=fast', '-fvisibility=hidden', '-Wall', '-Wextra', '-Werror', `-I${include}`, `-I${nodeInc}`, `-I${path.join(root, 'kernels', 'cpu')}`];
  const kernels = ['cpu_isa', 'half', 'lp_norm', 'lp_pool', 'l1_conv', 'peaks', 'register'].map((f) => path.join(root, 'kernels', 'cpu', `${f}.cc`));
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
  // libstdc++ linked in and hidden, so that the binaries need no particular libstdc++ (a prebuilt
  // one runs on distributions with an older one); unused sections dropped, which also drops
  // libstdc++'s references to newer glibc symbols (arc4random, 2.36). libgcc_s stays shared: its
  // static unwinder would need glibc 2.35's _dl_find_object. The sanitizer builds keep the
  // system's libstdc++, which ASan expects.
  // -Bsymbolic: calls inside the library bind to its own definitions. Without it, the inline
  // template code it exports (std::basic_stringbuf's destructor, say) can bind to the process's
  // shared libstdc++ (node's), which then frees a locale made by the linked-in copy: "free():
  // invalid pointer", seen in the fuzz of raw nodes when an error message was formatted.
  const runtime = sanitize ? [] : ['-static-libstdc++', '-Wl,--exclude-libs,ALL', '-Wl,--gc-sections', '-Wl,-Bsymbolic'];
  const link = [...runtime, ...(sanitize ? [`-fsanitize=${sanitizers}`] : []), ...(emulation ? ['-pthread'] : [])];
  sh('g++', ['-shared', ...link, '-o', path.join(out, 'liblp_onnx_ops.so'), ...objs, ...cudaLink]);
  sh('g++', ['-shared', ...link, '-o', path.join(out, 'lp_onnx.node'), ...objs, addonObj, ...cudaLink, '-ldl']);
  for (const o of [...objs, addonObj]) fs.rmSync(o);
  if (tsan && emulation) {
    // the TSan canary: a deliberate race between two blocks of an emulated kernel
    sh('g++', [...flags, '-DNODE_GYP_MODULE_NAME=tsan_canary', '-shared', ...link, path.join(root, 'test', 'native', 'tsan-canary.cc'), '-o', path.join(out, 'tsan-canary.node')]);
  }
  if (sanitize && !tsan) {
    // the canary: a deliberate out-of-bounds read that the sanitizer run must see reported
    sh('g++', [...flags, '-DNODE_GYP_MODULE_NAME=canary', '-shared', ...link, path.join(root, 'test', 'native', 'sanitizer-canary.cc'), '-o', path.join(out, 'canary.node')]);
  }
  const cudaStatus = cuda.nvcc ? { built: true, archs: CUDA_ARCHS.map((a) => `sm_${a}`), ptx: `compute_${CUDA_ARCHS[CUDA_ARCHS.length - 1]}`, toolkit: cuda.version } : { built: false, reason: cuda.reason };
  const built = new Date().toISOString();
  const status = prebuild
    ? { platform: PLATFORM, glibc: glibcNeeded(out), napi: NAPI_VERSION, sources: sourceDigest(), compiler: sh('g++', ['--version']).split('\n')[0], built, cuda: cudaStatus }
    : { ok: true, source: 'built here', ...(skipped ? { prebuiltSkipped: skipped } : {}), headers: include, built, cuda: cudaStatus };
  fs.writeFileSync(statusFile, `${JSON.stringify(status, null, 1)}\n`);
  const what = `${emulation ? ' (CUDA kernels on the CPU emulation)' : cuda.nvcc ? ' with the CUDA kernels' : ''}${tsan ? ' with TSan' : sanitize ? ' with ASan + UBSan' : ''}`;
  process.stdout.write(`lp-onnx: built the native kernels${what} (${path.relative(root, out)}/lp_onnx.node, liblp_onnx_ops.so)\n`);
}

try {
  main();
} catch (e) {
  const reason = (e.stderr || e.message || String(e)).toString().trim().split('\n').slice(-3).join(' ');
  if (prebuild) {
    // nothing half-made goes into the package: npm pack stops here
    fs.rmSync(prebuiltDir, { recursive: true, force: true });
    process.stderr.write(`lp-onnx: the prebuilt binaries could not be made: ${reason}\n`);
    process.exit(1);
  }
  fs.mkdirSync(build, { recursive: true });
  fs.writeFileSync(statusFile, `${JSON.stringify({ ok: false, reason, ...(skipped ? { prebuiltSkipped: skipped } : {}) }, null, 1)}\n`);
  process.stdout.write(`lp-onnx: the native kernels were not built (${reason}); everything runs on function bodies. See 'lp-onnx doctor'.\n`);
  if (sanitize || emulation) process.exit(1);
}
