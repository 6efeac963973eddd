// The package as a user gets it. `npm pack` runs in a pristine copy of the repository (its prepack
// step builds the prebuilt binaries); the tarball is installed into a fresh project with no C++
// compiler on PATH and no network (npm --offline, from npm's cache, which one throwaway install
// fills first). There: lp-onnx/node runs lp
// nodes on the prebuilt fused kernels (a wrong function body proves the kernels ran), `lp-onnx
// doctor` says the binaries are prebuilt, lp-onnx/web in Node says how to get WebGPU and, with
// the webgpu package added, runs the fused WGSL kernels; a Node TypeScript project (`tsc --init`
// with its Node settings and @types/node, ESM) compiles and runs lp-onnx and lp-onnx/node, and a
// browser TypeScript project with no Node types (`tsc --init`, bundler resolution) type-checks
// lp-onnx/web with lp-onnx's declarations read, and its esbuild bundle runs the examples in
// chromium. Dependencies resolve fresh, as a user's install does; the versions of onnxruntime's
// packages it resolved are printed, and a failing step names those that differ from the lock.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { adderCnn, lpMlp } from '../scripts/make-examples';
import { exportDualPath } from '../src/export/dual-path';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import type { ModelProto } from '../src/onnx/proto';
import { runReference } from '../src/runtime/reference';
import { browserUnavailable, CHROMIUM, CHROMIUM_ARGS } from './helpers/browser';
import { compareArrays, TOL } from './helpers/compare';

const ROOT = join(__dirname, '..');
/** npm's own CLI (npm test sets npm_execpath; else the npm beside node) */
const NPM = [process.env.npm_execpath, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js')].find((p) => p && /npm-cli\.js$/.test(p) && existsSync(p));
const version = (pkg: string) => (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

function unavailable(): string | undefined {
  if (!NPM) return "npm's CLI (npm-cli.js) was not found";
  if (process.platform !== 'linux' || process.arch !== 'x64') return `the package carries prebuilt binaries for linux-x64 only, this is ${process.platform}-${process.arch}`;
  if (!existsSync(join(ROOT, 'build', 'Release', 'lp_onnx.node'))) return 'the native kernels are not built here, so the prebuilt ones cannot be made either';
  return undefined;
}

const why = unavailable();
if (why) console.warn(`skipping the package suite: ${why}`);
const d = why ? describe.skip : describe;

// every npm_* variable that npm test sets would steer the inner npm; only the cache is kept
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|LP_ONNX_|INIT_CWD$|NODE_OPTIONS$)/i.test(k)) env[k] = v;
  return { ...env, ONNXRUNTIME_NODE_INSTALL: 'skip', ...extra };
}

/** onnxruntime's packages that the consumer's install resolved otherwise than package-lock.json (set once it is installed) */
let drift = '';

function run(what: string, cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    const upstream = drift ? `\n(the consumer's install resolved ${drift}: a new upstream release may be the cause)` : '';
    throw new Error(`${what} failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''}):\n${r.stdout}\n${r.stderr}${upstream}`);
  }
  return r;
}

const ORT_PACKAGES = ['onnxruntime-node', 'onnxruntime-web', 'onnxruntime-common'];

/** every version of each of onnxruntime's packages in package-lock.json */
function lockedVersions(): Map<string, Set<string>> {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  const found = new Map(ORT_PACKAGES.map((p) => [p, new Set<string>()]));
  for (const [path, entry] of Object.entries(lock.packages)) {
    const name = path.split('node_modules/').pop() ?? '';
    if (entry.version) found.get(name)?.add(entry.version);
  }
  return found;
}
interface LsTree {
  version?: string;
  dependencies?: Record<string, LsTree>;
}
function installedVersions(project: string, env: NodeJS.ProcessEnv): Map<string, Set<string>> {
  const ls = run('npm ls', process.execPath, [NPM as string, 'ls', '--all', '--json', ...ORT_PACKAGES], project, env);
  const found = new Map(ORT_PACKAGES.map((p) => [p, new Set<string>()]));
  const walk = (deps: Record<string, LsTree> | undefined) => {
    for (const [name, dep] of Object.entries(deps ?? {})) {
      if (dep.version) found.get(name)?.add(dep.version);
      walk(dep.dependencies);
    }
  };
  walk((JSON.parse(ls.stdout) as LsTree).dependencies);
  return found;
}
const listVersions = (m: Map<string, Set<string>>, only?: (p: string) => boolean) =>
  [...m].filter(([p]) => !only || only(p)).map(([p, v]) => `${p} ${[...v].sort().join(' and ') || '(none)'}`).join(', ');

/** adder-cnn, dual-path, with every function body replaced by one that returns zeros */
function wrongBodies(): Uint8Array {
  const model = exportDualPath(adderCnn().build()).model;
  for (const f of model.functions ?? []) {
    const last = (f.node ?? [])[(f.node ?? []).length - 1];
    last.op_type = 'Sub';
    last.input = [last.input?.[0] ?? '', last.input?.[0] ?? ''];
  }
  return encodeModel(model);
}

const input = (dims: number[]) => Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.fround(Math.sin(i * 0.37)));
const reference = (model: ModelProto, x: number[], dims: number[]) => {
  const name = model.graph?.input?.[0].name as string;
  return Object.values(runReference(model, { [name]: { dims, data: Float64Array.from(x) } }))[0];
};

const EXAMPLES: [string, () => ModelProto, number[]][] = [
  ['adder-cnn', () => exportDualPath(adderCnn().build()).model, [2, 3, 32, 32]],
  ['lp-mlp', () => exportDualPath(lpMlp().build()).model, [3, 64]],
];

// node_modules/lp-onnx/... of the consumer, run on `node`
const RUN_NODE = `const { readFileSync, writeFileSync } = require('node:fs');
const lpNode = require('lp-onnx/node');
(async () => {
  const [model, xs, dims, out] = process.argv.slice(2);
  const s = await lpNode.InferenceSession.create(new Uint8Array(readFileSync(model)));
  const x = new lpNode.Tensor('float32', Float32Array.from(JSON.parse(readFileSync(xs, 'utf8'))), JSON.parse(dims));
  const y = Object.values(await s.run({ [s.inputNames[0]]: x }))[0];
  writeFileSync(out, JSON.stringify({ dims: y.dims, data: Array.from(y.data) }));
})().catch((e) => { console.error(e.message); process.exit(1); });
`;
const writeRunNode = (app: string) => writeFileSync(join(app, 'run-node.js'), RUN_NODE);

/** Debian's python3 with torch (python3-torch) and venv: the Python package's half needs them */
const PYTHON = '/usr/bin/python3';
function pythonUnavailable(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy, venv, ensurepip'], { encoding: 'utf8' });
  if (r.error) return `no ${PYTHON}`;
  if (r.status !== 0) return `${PYTHON} lacks torch, numpy or venv (apt-get install python3-torch python3-venv): ${(r.stderr.trim().split('\n').pop() ?? '').trim()}`;
  return undefined;
}

/** A user's training script: a model of canonical layers (and a residual), trained, its spec and weights written. */
const TRAIN_PY = `import json
import torch
import torch.nn.functional as F
from torch import nn
import lp_onnx_torch as L

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(L.L1Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                      L.LpPool2d(2, learn_p=8, norm_type=2.5), nn.Conv2d(8, 12, 3), nn.GELU())
        self.pool = L.GeM(p=3.0, per_channel=12)
        self.units = L.LpNormLayer(12, 12, p_init=2.0)
        self.head = nn.Linear(12, 5)

    def forward(self, x):
        h = torch.flatten(self.pool(self.features(x)), 1)
        return self.head(self.units(h) + h)

torch.manual_seed(0)
net = Net()
opt = torch.optim.Adam(net.parameters(), lr=0.01)
for _ in range(6):
    x, y = torch.randn(8, 3, 12, 12), torch.randint(0, 5, (8,))
    loss = F.cross_entropy(net(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
net.eval()
L.write_arch_spec(net, "arch.json", {"x": ["N", 3, 12, 12]}, name="trained")
torch.save(net.state_dict(), "weights.pt")
x = torch.randn(4, 3, 12, 12)
with torch.no_grad():
    y = net(x)
json.dump(x.flatten().tolist(), open("torch-x.json", "w"))
json.dump({"dims": list(y.shape), "data": y.flatten().tolist()}, open("torch-y.json", "w"))
open("imported-from.txt", "w").write(L.__file__)
`;

const RUN_WEB = `const { readFileSync, writeFileSync } = require('node:fs');
const web = require('lp-onnx/web');
(async () => {
  const [model, xs, dims, out] = process.argv.slice(2);
  web.env.wasm.numThreads = 1;
  const s = await web.InferenceSession.create(new Uint8Array(readFileSync(model)));
  const x = new web.Tensor('float32', Float32Array.from(JSON.parse(readFileSync(xs, 'utf8'))), JSON.parse(dims));
  const y = Object.values(await s.run({ [s.inputNames[0]]: x }))[0];
  writeFileSync(out, JSON.stringify({ mode: s.mode, reason: s.reason, dims: y.dims, data: Array.from(await y.getData()) }));
  await s.release();
  process.exit(0);
})().catch((e) => { console.error(e.message); process.exit(1); });
`;

// A Node TypeScript project (ESM): the README's builder example, written as a dual-path file and run
// on lp-onnx/node. Its model and output go to files the test checks against the reference.
const SERVER_TS = `import { writeFileSync } from 'node:fs';
import { encodeModel, GraphBuilder, runReference, writeModelFile } from 'lp-onnx';
import { InferenceSession, Tensor, nativeStatus } from 'lp-onnx/node';

const wave = (n: number, f: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f));
const b = new GraphBuilder({ name: 'points', opset: 18 });
const x = b.input('points', 'float32', ['N', 3, 'P']);
const w1 = b.initializer('conv1.weight', wave(64 * 3, 0.7), [64, 3, 1]);
const b1 = b.initializer('conv1.bias', new Float32Array(64).fill(2.5), [64]);
const h = b.l1Conv(x, w1, b1).relu();
const p = b.initializer('gem.p', [3], [1]);
const g = b.lpPool(h, p, { global: 1, mean: 1, mode: 'clamp', eps: 1e-6 });
const head = b.initializer('head.w', wave(10 * 64, 0.3).map(Math.abs), [10, 64]);
b.output(g.flatten().lpNorm(head, undefined, { p: 2 }), 'y');
writeModelFile('points.dual.onnx', b.buildDualPath());

const session = await InferenceSession.create('points.dual.onnx');
const points = new Tensor('float32', wave(2 * 3 * 5, 0.37), [2, 3, 5]);
const y = (await session.run({ points }))['y'];
if (!y) throw new Error('no output y');
// the README's way to run a built model without a file, and the reference with its documented types
const model = b.buildDualPath();
const inMemory = await InferenceSession.create(encodeModel(model));
const yMemory = (await inMemory.run({ points }))['y'];
const ref: Record<string, { dims: number[]; data: Float64Array }> = runReference(model, { points: { dims: [2, 3, 5], data: Float64Array.from(points.data as Float32Array) } });
writeFileSync(
  'points-y.json',
  JSON.stringify({
    fused: nativeStatus().available,
    dims: y.dims,
    data: Array.from(y.data as Float32Array),
    memory: Array.from(yMemory?.data as Float32Array),
    reference: { dims: ref.y?.dims, data: Array.from(ref.y?.data ?? []) },
  }),
);
`;
// A browser TypeScript project: lp-onnx/web in the page (and lp-onnx's types, which need no Node types either)
const BROWSER_TS = `import type { ModelProto } from 'lp-onnx';
import { env, InferenceSession, Tensor, describeModel, type SessionMode } from 'lp-onnx/web';

declare global {
  interface Window {
    runModel(url: string, x: number[], dims: number[]): Promise<{ mode: SessionMode; reason?: string; dims: number[]; data: number[] }>;
  }
}

env.wasm.numThreads = 1;
env.wasm.wasmPaths = '/ort/';

export const graphName = (model: ModelProto): string => model.graph?.name ?? '';

window.runModel = async (url, x, dims) => {
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const inputName = describeModel(bytes, url).inputs[0]?.name ?? 'x';
  const session = await InferenceSession.create(bytes);
  const out = await session.run({ [inputName]: new Tensor('float32', Float32Array.from(x), dims) });
  const y = out[session.outputNames[0] ?? ''];
  if (!y) throw new Error('no output');
  const result = { mode: session.mode, dims: Array.from(y.dims), data: Array.from(y.data as Float32Array), ...(session.reason ? { reason: session.reason } : {}) };
  await session.release();
  return result;
};
`;

/** A fresh project folder with the tarball and the given packages installed, offline, with only node and sh on PATH. */
function project(dir: string, tarball: string, env: NodeJS.ProcessEnv, pkg: Record<string, unknown>, packages: string[]): (name: string) => string {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, ...pkg }, null, 2)}\n`);
  run(`npm install --offline (${packages.join(', ')})`, process.execPath, [NPM as string, 'install', '--offline', '--no-audit', '--no-fund', tarball, ...packages], dir, env);
  return (name) => join(dir, 'node_modules', '.bin', name);
}

/** `tsc --init`'s tsconfig.json as it is, extended by the project's own settings */
function tscInit(dir: string, tsc: string, env: NodeJS.ProcessEnv, compilerOptions: Record<string, unknown>): void {
  run('tsc --init', process.execPath, [tsc, '--init'], dir, env);
  writeFileSync(join(dir, 'tsconfig.init.json'), readFileSync(join(dir, 'tsconfig.json'), 'utf8'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: './tsconfig.init.json', compilerOptions, include: ['src'] }, null, 2));
}

d('the packed package, installed with no compiler and no network', () => {
  let tmp: string;
  let app: string;
  let tarball: string;
  let noTools: NodeJS.ProcessEnv;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'lp-onnx-package-'));
    // a pristine copy: what git would have, no build output
    const copy = join(tmp, 'repo');
    const skip = new Set(['node_modules', 'build', 'dist', 'prebuilds', '.git', 'tmp', 'test-results']);
    cpSync(ROOT, copy, { recursive: true, filter: (src) => src === ROOT || !skip.has(resolve(src).slice(ROOT.length + 1).split('/')[0]) });
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    const headers = join(ROOT, 'build', 'ort-headers', 'usr', 'include', 'onnxruntime');
    const packEnv = cleanEnv(existsSync(headers) ? { LP_ONNX_ORT_INCLUDE: headers } : {});
    run('npm pack', process.execPath, [NPM as string, 'pack', '--pack-destination', tmp], copy, packEnv);
    tarball = join(tmp, readdirSync(tmp).find((f) => f.endsWith('.tgz')) as string);
    // a PATH with node and sh (npm runs scripts with it) and nothing else: no g++, cc, nvcc, apt-get, dpkg
    const bin = join(tmp, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync('/bin/sh', join(bin, 'sh'));
    noTools = cleanEnv({ PATH: bin });
    // npm's cache gets every package the consumer installs (throwaway installs, scripts off: the
    // one step with network); the real installs below are --offline. One throwaway install per
    // dependency tree the consumers resolve: with @types/node pinned (the Node project) and without
    // (the others, where protobufjs's '@types/node >= 13.7' takes the newest release and its own
    // dependencies, e.g. a newer undici-types, which the pinned tree never fetches)
    const pinnedTypes = `@types/node@${version('@types/node')}`;
    const primes = [
      [`webgpu@${version('webgpu')}`, `typescript@${version('typescript')}`, `esbuild@${version('esbuild')}`],
      [`typescript@${version('typescript')}`, pinnedTypes],
    ];
    for (const [i, extras] of primes.entries()) {
      const prime = join(tmp, `prime-${i}`);
      mkdirSync(prime);
      writeFileSync(join(prime, 'package.json'), '{"name":"prime","version":"1.0.0","private":true}\n');
      run(`filling npm's cache (${extras.join(', ')})`, process.execPath, [NPM as string, 'install', '--ignore-scripts', '--no-audit', '--no-fund', tarball, ...extras], prime, cleanEnv({}));
      rmSync(prime, { recursive: true, force: true });
    }
    app = join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2)}\n`);
    const installed = run('npm install --offline (the tarball)', process.execPath, [NPM as string, 'install', '--offline', '--no-audit', '--no-fund', tarball], app, noTools);
    const locked = lockedVersions();
    const resolved = installedVersions(app, noTools);
    const changed = (p: string) => [...(resolved.get(p) ?? [])].sort().join() !== [...(locked.get(p) ?? [])].sort().join();
    drift = ORT_PACKAGES.some(changed) ? `${listVersions(resolved, changed)} where package-lock.json has ${listVersions(locked, changed)}` : '';
    console.log(`npm install of the tarball:\n${installed.stdout.trim()}\nresolved: ${listVersions(resolved)}\npackage-lock.json: ${listVersions(locked)}${drift ? `\nnot as locked: ${drift}` : ' (the same)'}`);
  }, 900000);

  afterAll(() => {
    if (tmp && !process.env.LP_ONNX_KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
  });

  test('the tarball carries the prebuilt binaries and their manifest; no build output beyond them', () => {
    const list = run('tar', 'tar', ['tzf', tarball], tmp, process.env).stdout.split('\n');
    for (const f of ['lp_onnx.node', 'liblp_onnx_ops.so', 'manifest.json']) expect(list).toContain(`package/prebuilds/linux-x64/${f}`);
    expect(list.filter((f) => f.startsWith('package/build/'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules', 'lp-onnx', 'prebuilds', 'linux-x64', 'manifest.json'), 'utf8')) as { glibc: string; napi: number };
    expect(manifest.glibc).toMatch(/^2\.\d+$/);
    expect(Number(manifest.glibc.split('.')[1])).toBeLessThanOrEqual(34);
  });

  test('the install used the prebuilt binaries (no compiler on PATH), and lp-onnx doctor says so', () => {
    expect(spawnSync('g++', ['--version'], { env: noTools }).error?.message).toMatch(/ENOENT/);
    const status = JSON.parse(readFileSync(join(app, 'node_modules', 'lp-onnx', 'build', 'native-status.json'), 'utf8')) as { ok: boolean; source: string };
    expect(status).toMatchObject({ ok: true, source: 'prebuilt' });
    const doctor = run('lp-onnx doctor', process.execPath, [join(app, 'node_modules', 'lp-onnx', 'bin', 'lp-onnx.js'), 'doctor'], app, noTools).stdout;
    expect(doctor).toMatch(/^native binaries: prebuilt for linux-x64 \(needs glibc >= 2\.\d+, N-API 8;/m);
    expect(doctor).toMatch(/^fused CPU kernels \(lp-onnx\/node\): yes \(onnxruntime 1\.\d+\.\d+\)$/m);
  });

  test('prebuilt binaries that do not fit are refused with the reason, and the install falls back to a build from source (which, with no compiler, fails clearly)', () => {
    const pkg = join(app, 'node_modules', 'lp-onnx');
    const manifestPath = join(pkg, 'prebuilds', 'linux-x64', 'manifest.json');
    const addonPath = join(pkg, 'prebuilds', 'linux-x64', 'lp_onnx.node');
    const manifest = readFileSync(manifestPath, 'utf8');
    const addon = readFileSync(addonPath);
    const install = () => {
      const r = spawnSync(process.execPath, [join(pkg, 'scripts', 'build-native.js')], { cwd: pkg, env: noTools, encoding: 'utf8' });
      expect(r.status).toBe(0);
      return JSON.parse(readFileSync(join(pkg, 'build', 'native-status.json'), 'utf8')) as { ok: boolean; source?: string; prebuiltSkipped?: string; reason?: string };
    };
    const glibc = process.report.getReport() as { header: { glibcVersionRuntime: string } };
    try {
      writeFileSync(manifestPath, JSON.stringify({ ...JSON.parse(manifest), glibc: '2.99' }));
      const status = install();
      expect(status.ok).toBe(false);
      expect(status.prebuiltSkipped).toBe(`the prebuilt binaries need glibc 2.99; this system has ${glibc.header.glibcVersionRuntime}`);
      expect(status.reason).toMatch(/g\+\+|ENOENT/);
      const doctor = run('lp-onnx doctor', process.execPath, [join(pkg, 'bin', 'lp-onnx.js'), 'doctor'], app, noTools).stdout;
      expect(doctor).toContain('native binaries: none: the build from source failed; prebuilt ones not used: the prebuilt binaries need glibc 2.99');

      writeFileSync(manifestPath, JSON.stringify({ ...JSON.parse(manifest), sources: '0000000000000000' }));
      expect(install().prebuiltSkipped).toBe('the prebuilt binaries were built from other kernel sources than these');

      writeFileSync(manifestPath, manifest);
      writeFileSync(addonPath, addon.subarray(0, 4096));
      expect(install().prebuiltSkipped).toMatch(/^the prebuilt binaries did not load here: .*lp_onnx\.node/);
    } finally {
      writeFileSync(manifestPath, manifest);
      writeFileSync(addonPath, addon);
      expect(install()).toMatchObject({ ok: true, source: 'prebuilt' });
    }
  });

  test('lp-onnx/node from the package runs lp nodes on the prebuilt fused kernels, not on their (wrong) bodies', () => {
    writeRunNode(app);
    writeFileSync(join(app, 'wrong-bodies.onnx'), wrongBodies());
    const dims = [2, 3, 32, 32];
    const x = input(dims);
    writeFileSync(join(app, 'x.json'), JSON.stringify(x));
    run('lp-onnx/node', process.execPath, ['run-node.js', 'wrong-bodies.onnx', 'x.json', JSON.stringify(dims), 'y.json'], app, noTools);
    const got = JSON.parse(readFileSync(join(app, 'y.json'), 'utf8')) as { dims: number[]; data: number[] };
    compareArrays('adder-cnn from the package on the fused kernels', got, reference(exportDualPath(adderCnn().build()).model, x, dims), TOL.kernel);
  });

  test('lp-onnx/web in Node: without the webgpu package one clear reason; with it, the fused WGSL kernels (and lp-onnx run --backend webgpu)', () => {
    writeFileSync(join(app, 'run-web.js'), RUN_WEB);
    const [, make, dims] = EXAMPLES[0];
    const model = make();
    writeFileSync(join(app, 'adder-cnn.dual.onnx'), encodeModel(model));
    const x = input(dims);
    writeFileSync(join(app, 'x.json'), JSON.stringify(x));
    const web = () => {
      run('lp-onnx/web', process.execPath, ['run-web.js', 'adder-cnn.dual.onnx', 'x.json', JSON.stringify(dims), 'web.json'], app, noTools);
      return JSON.parse(readFileSync(join(app, 'web.json'), 'utf8')) as { mode: string; reason?: string; dims: number[]; data: number[] };
    };
    const without = web();
    expect(without.reason).toContain("install it with 'npm install webgpu' for WebGPU in Node");
    compareArrays('adder-cnn on lp-onnx/web without webgpu', without, reference(model, x, dims), TOL.body);

    run('npm install --offline webgpu', process.execPath, [NPM as string, 'install', '--offline', '--no-audit', '--no-fund', `webgpu@${version('webgpu')}`], app, noTools);
    const probe = spawnSync(process.execPath, [join(ROOT, 'dist', 'scripts', 'probe-webgpu.js')]);
    if (probe.status !== 0) {
      console.warn('skipping the WebGPU half: no WebGPU adapter here');
      return;
    }
    const withGpu = web();
    expect(withGpu.mode).toBe('webgpu-fused');
    compareArrays('adder-cnn on lp-onnx/web with webgpu (fused WGSL)', withGpu, reference(model, x, dims), TOL.kernel);
    const cli = run('lp-onnx run --backend webgpu', process.execPath, [join(app, 'node_modules', 'lp-onnx', 'bin', 'lp-onnx.js'), 'run', 'adder-cnn.dual.onnx', '--backend', 'webgpu', '--dim', 'N=2'], app, noTools);
    expect(cli.stdout).toContain('adder-cnn.dual.onnx on webgpu (lp-onnx/web, WGSL kernels');
  });

  const pythonWhy = pythonUnavailable();
  if (pythonWhy) console.warn(`skipping the Python package half: ${pythonWhy}`);
  (pythonWhy ? test.skip : test)('the Python package from the tarball: pip installs offline, a model of canonical layers trains, its spec comes from write_arch_spec, and lp-onnx exports and runs it as PyTorch does', () => {
    const pkg = join(app, 'node_modules', 'lp-onnx');
    const doctor = run('lp-onnx doctor', process.execPath, [join(pkg, 'bin', 'lp-onnx.js'), 'doctor'], app, noTools).stdout;
    expect(doctor).toContain(`PyTorch layers (lp_onnx_torch): pip install ${join(pkg, 'python')}`);
    const venv = join(app, 'venv');
    // Debian's torch is a system package: the venv sees it; pip gets no index and no network
    run('python3 -m venv', PYTHON, ['-m', 'venv', '--system-site-packages', venv], app, process.env);
    const python = join(venv, 'bin', 'python');
    run('pip install node_modules/lp-onnx/python', python, ['-m', 'pip', 'install', '--no-index', '--no-build-isolation', '--no-deps', '--no-input', 'node_modules/lp-onnx/python'], app, cleanEnv({}));
    writeFileSync(join(app, 'train.py'), TRAIN_PY);
    run('train.py', python, ['train.py'], app, cleanEnv({}));
    const where = readFileSync(join(app, 'imported-from.txt'), 'utf8');
    expect(where.startsWith(venv)).toBe(true);
    const spec = JSON.parse(readFileSync(join(app, 'arch.json'), 'utf8')) as { layers: { type: string }[] };
    expect(spec.layers.map((l) => l.type)).toEqual(['L1Conv2d', 'BatchNorm2d', 'ReLU', 'LpPool2d', 'Conv2d', 'GELU', 'GeM', 'Flatten', 'LpNormLayer', 'Add', 'Linear']);
    run('lp-onnx export arch.json --weights weights.pt', process.execPath, [join(pkg, 'bin', 'lp-onnx.js'), 'export', 'arch.json', '--weights', 'weights.pt', '-o', 'trained.dual.onnx'], app, noTools);
    const torchOut = JSON.parse(readFileSync(join(app, 'torch-y.json'), 'utf8')) as { dims: number[]; data: number[] };
    writeRunNode(app);
    run('lp-onnx/node', process.execPath, ['run-node.js', 'trained.dual.onnx', 'torch-x.json', JSON.stringify([4, 3, 12, 12]), 'lp-y.json'], app, noTools);
    const got = JSON.parse(readFileSync(join(app, 'lp-y.json'), 'utf8')) as { dims: number[]; data: number[] };
    compareArrays('the trained model on lp-onnx/node vs PyTorch', { dims: got.dims, data: Float32Array.from(got.data) }, { dims: torchOut.dims, data: Float32Array.from(torchOut.data) }, { atol: 1e-5, rtol: 1e-4 });
  }, 300000);

  test('a Node TypeScript project (tsc --init with its Node settings, @types/node, ESM) type-checks, compiles and runs lp-onnx and lp-onnx/node on the fused kernels', () => {
    const dir = join(tmp, 'node-app');
    const bin = project(dir, tarball, noTools, { type: 'module' }, [`typescript@${version('typescript')}`, `@types/node@${version('@types/node')}`]);
    // the Node lines tsc --init writes commented out (with "npm install -D @types/node")
    tscInit(dir, bin('tsc'), noTools, { types: ['node'], lib: ['esnext'], rootDir: './src', outDir: './dist' });
    writeFileSync(join(dir, 'src', 'server.ts'), SERVER_TS);
    run('tsc -p .', process.execPath, [bin('tsc'), '-p', '.'], dir, noTools);
    run('node dist/server.js', process.execPath, ['dist/server.js'], dir, noTools);
    const got = JSON.parse(readFileSync(join(dir, 'points-y.json'), 'utf8')) as { fused: boolean; dims: number[]; data: number[]; memory: number[]; reference: { dims: number[]; data: number[] } };
    expect(got.fused).toBe(true);
    const model = decodeModel(new Uint8Array(readFileSync(join(dir, 'points.dual.onnx'))));
    const wave = (n: number, f: number) => Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * f)));
    const want = runReference(model, { points: { dims: [2, 3, 5], data: Float64Array.from(wave(30, 0.37)) } }).y;
    compareArrays("the consumer's compiled server on lp-onnx/node", got, want, TOL.kernel);
    compareArrays("the consumer's model run from memory (encodeModel)", { dims: got.dims, data: got.memory }, want, TOL.kernel);
    compareArrays("the consumer's runReference", got.reference, want, TOL.reference);

    // lp-onnx's own declarations, which tsc --init's skipLibCheck passes over unread, must be clean;
    // onnxruntime-common's name DOM types (ImageData, WebGLTexture), which a Node project's
    // lib ["esnext"] lacks: those are upstream's, and only printed
    const strict = spawnSync(process.execPath, [bin('tsc'), '-p', '.', '--noEmit', '--skipLibCheck', 'false'], { cwd: dir, env: noTools, encoding: 'utf8' });
    const errors = strict.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors.filter((l) => !/^node_modules\/onnxruntime-(common|node|web)\//.test(l))).toEqual([]);
    if (errors.length) console.warn(`with skipLibCheck off, onnxruntime's own declarations (not lp-onnx's) fail in a Node project with lib ["esnext"]:\n${errors.join('\n')}`);
  }, 300000);

  const browserWhy = browserUnavailable();
  if (browserWhy) console.warn(`skipping the consumer bundle in chromium: ${browserWhy}`);
  test('a browser TypeScript project with no Node types (tsc --init, bundler resolution) type-checks lp-onnx/web with its declarations read; its esbuild bundle runs the examples in chromium', async () => {
    const dir = join(tmp, 'web-app');
    const bin = project(dir, tarball, noTools, {}, [`typescript@${version('typescript')}`, `esbuild@${version('esbuild')}`]);
    // tsc --init's settings as they are ("types": [], the DOM in its default lib), with the
    // resolution a bundler uses (which needs module preserve or es2015+)
    tscInit(dir, bin('tsc'), noTools, { moduleResolution: 'bundler', module: 'preserve', noEmit: true });
    writeFileSync(join(dir, 'src', 'browser.ts'), BROWSER_TS);
    // @types/node is in node_modules (protobufjs depends on it), but nothing the page imports may
    // bring Node's types, or onnxruntime-node's, into the program
    const files = run('tsc -p . --listFiles', process.execPath, [bin('tsc'), '-p', '.', '--listFiles'], dir, noTools).stdout.split('\n');
    expect(files.filter((f) => /node_modules\/(@types\/node|onnxruntime-node)\//.test(f))).toEqual([]);
    expect(files.some((f) => f.endsWith('node_modules/lp-onnx/dist/src/runtime/web/index.d.ts'))).toBe(true);
    // and every declaration it reads, lp-onnx's and onnxruntime-web's, which skipLibCheck would pass over
    run('tsc -p . --skipLibCheck false', process.execPath, [bin('tsc'), '-p', '.', '--skipLibCheck', 'false'], dir, noTools);

    mkdirSync(join(dir, 'public'), { recursive: true });
    run('esbuild', bin('esbuild'), ['src/browser.ts', '--bundle', '--format=esm', '--platform=browser', '--target=es2022', '--outfile=public/app.js', '--metafile=meta.json', '--log-level=warning'], dir, noTools);
    const inputs = Object.keys((JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { inputs: Record<string, unknown> }).inputs);
    expect(inputs.filter((f) => /node_modules\/(webgpu|onnxruntime-node)\//.test(f))).toEqual([]);
    expect(inputs.some((f) => f.includes('node_modules/lp-onnx/dist/web/lp-onnx-web.mjs'))).toBe(true);
    if (browserWhy) return;

    writeFileSync(join(dir, 'public', 'index.html'), '<!doctype html><meta charset="utf-8"><title>consumer</title><script type="module" src="/app.js"></script>\n');
    const models = Object.fromEntries(EXAMPLES.map(([name, make]) => [name, make()]));
    for (const [name, m] of Object.entries(models)) writeFileSync(join(dir, 'public', `${name}.onnx`), encodeModel(m));
    const ortDist = join(dir, 'node_modules', 'onnxruntime-web', 'dist');
    const server = await serveStatic({ '/ort/': ortDist, '/': join(dir, 'public') });
    const { chromium } = require('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      for (const [name, , dims] of EXAMPLES) {
        const page = await browser.newPage();
        await page.goto(`${server.url}/index.html`);
        await page.waitForFunction('typeof window.runModel === "function"');
        const x = input(dims);
        const got = (await page.evaluate(`window.runModel('/${name}.onnx', ${JSON.stringify(x)}, ${JSON.stringify(dims)})`)) as { mode: string; dims: number[]; data: number[] };
        await page.close();
        expect(got.mode).toBe('webgpu-fused');
        compareArrays(`${name} through the consumer's bundle in chromium`, got, reference(models[name], x, dims), TOL.kernel);
      }
    } finally {
      await browser.close();
      await new Promise((r) => server.server.close(r));
    }
  }, 600000);
});

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream' };

/** A loopback server for the consumer's page: URL prefixes mapped to folders, cross-origin isolated. */
async function serveStatic(routes: Record<string, string>): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const prefix = Object.keys(routes).find((p) => url.startsWith(p));
    const file = prefix ? join(routes[prefix], url.slice(prefix.length)) : '';
    if (!prefix || !file.startsWith(routes[prefix]) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
