// The command line as a new user meets it (issue 23): ordinary and large inputs, symbolic dims
// shared by inputs, honest timings, the real p in inspect, one clear error (exit 1, nothing
// written) for every mistake, and a demo server that hostile requests cannot stop. Each CLI test
// runs lp-onnx as a user does, in a child process.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveDemo } from '../src/cli/serve';
import { GraphBuilder } from '../src/graph/builder';
import { decodeModel, encodeModel } from '../src/onnx/codec';
import { makeTensor, toFloat64 } from '../src/onnx/tensor';
import { formatNpy, parseNpy } from '../src/runtime/npy';
import { runReference } from '../src/runtime/reference';
import { compareArrays, TOL } from './helpers/compare';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'bin', 'lp-onnx.js');
const EXAMPLE = join(ROOT, 'examples', 'adder-cnn.onnx');
const native = require('../src/node/index').nativeStatus().available as boolean;
const n = native ? test : test.skip;

function cli(args: string[], options: { cwd?: string; uid?: number; gid?: number } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: options.cwd ?? ROOT, maxBuffer: 64 * 1024 * 1024, uid: options.uid, gid: options.gid });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'lp-onnx-user-'));
const dual = join(dir, 'adder-cnn.dual.onnx');

/** A model of two inputs x, z: [N, 4] and an output x + z, with an LpNorm beside it so that it is an lp model. */
function twoInputs(): string {
  const b = new GraphBuilder({ name: 'two' });
  const x = b.input('x', 'float32', ['N', 4]);
  const z = b.input('z', 'float32', ['N', 4]);
  b.output(x.add(z), 'sum');
  b.output(x.lpNorm(b.initializer('w', [1, 1, 1, 1], [1, 4])), 'norm');
  const path = join(dir, 'two.onnx');
  writeFileSync(path, encodeModel(b.buildDualPath()));
  return path;
}

beforeAll(() => {
  expect(cli(['export', EXAMPLE, '-o', dual]).code).toBe(0);
});

describe('run on real-sized inputs', () => {
  n('a 50 M-value output is summarised and written (the summary is checked against the file)', () => {
    // LpPool with a 1x1 window and p = 2 is |x|: the output is the input's magnitude, 50 M values
    const b = new GraphBuilder({ name: 'big' });
    const x = b.input('x', 'float32', ['N', 1, 1000, 1000]);
    b.output(x.lpPool(undefined, { kernel_shape: [1, 1], p: 2 }), 'y');
    const model = join(dir, 'big.onnx');
    writeFileSync(model, encodeModel(b.buildDualPath()));
    const out = join(dir, 'big-out');
    const r = cli(['run', model, '--dim', 'N=50', '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const y = parseNpy(new Uint8Array(readFileSync(join(out, 'y.npy'))), 'y.npy');
    expect(y.dims).toEqual([50, 1, 1000, 1000]);
    const data = y.data as Float32Array;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let sum = 0;
    for (let k = 0; k < data.length; k++) {
      const v = data[k];
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    expect(r.out).toContain(`out y: float32[50, 1, 1000, 1000] min ${min.toPrecision(6)} max ${max.toPrecision(6)} mean ${(sum / data.length).toPrecision(6)} [`);
    // the random input is uniform in [-1, 1): |x| has mean 1/2
    expect(Math.abs(sum / data.length - 0.5)).toBeLessThan(1e-3);
  }, 120000);

  test('the example at N = 41 (past the old limit of the summary) runs and writes its output', () => {
    const out = join(dir, 'n41');
    const r = cli(['run', dual, '--dim', 'N=41', '--backend', 'ort', '--out', out]);
    expect(r.err).toBe('');
    expect(parseNpy(new Uint8Array(readFileSync(join(out, 'scores.npy'))), 's').dims).toEqual([41, 10]);
  });

  test.each([
    ['N=100000000', '1.23 TB (image: float32[100000000, 3, 32, 32]), more than'],
    ['N=1e9', '12.3 TB (image: float32[1000000000, 3, 32, 32]), more than'],
  ])('--dim %s is refused before any input is made, with the size it needs', (dim, text) => {
    const r = cli(['run', dual, '--dim', dim, '--out', join(dir, 'never')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^lp-onnx: error: the random inputs would need ${text.replace(/[[\]().]/g, '\\$&')} .+: choose smaller --dim values\n$`));
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  test('a dim fixed by one given input binds every input that names it; conflicts and unknown dims are errors', () => {
    const model = twoInputs();
    const x3 = join(dir, 'x3.npy');
    const xv = Array.from({ length: 12 }, (_, k) => k / 4 - 1);
    writeFileSync(x3, formatNpy(makeTensor('float32', [3, 4], xv)));
    const out = join(dir, 'two-out');
    const r = cli(['run', model, '--input', `x=${x3}`, '--backend', 'ort', '--out', out]);
    expect(r.err).toBe('');
    expect(r.out).toContain('in  z: float32[3, 4]');
    // z is seeded random: the reference on the same z (read back from the run's own sum)
    const sum = parseNpy(new Uint8Array(readFileSync(join(out, 'sum.npy'))), 'sum');
    expect(sum.dims).toEqual([3, 4]);
    const z = Float64Array.from(toFloat64(sum), (v, k) => v - xv[k]);
    for (const v of z) expect(Math.abs(v)).toBeLessThanOrEqual(1 + 1e-6);
    const norm = parseNpy(new Uint8Array(readFileSync(join(out, 'norm.npy'))), 'norm');
    const want = runReference(decodeModel(new Uint8Array(readFileSync(model))), { x: { dims: [3, 4], data: Float64Array.from(xv) }, z: { dims: [3, 4], data: z } }).norm;
    compareArrays('norm', { dims: norm.dims, data: norm.data as Float32Array }, want, TOL.body);

    const z2 = join(dir, 'z2.npy');
    writeFileSync(z2, formatNpy(makeTensor('float32', [2, 4])));
    expect(cli(['run', model, '--input', `x=${x3}`, '--input', `z=${z2}`]).err).toBe(`lp-onnx: error: --input z=${z2}: dim N is 2 there, but 3 in --input x=${x3}\n`);
    expect(cli(['run', model, '--dim', 'M=3']).err).toBe(`lp-onnx: error: --dim M=3: ${model} has no dim 'M' (its inputs' symbolic dims are N)\n`);
    expect(cli(['run', model, '--dim', 'N=5', '--input', `x=${x3}`]).err).toBe(`lp-onnx: error: --dim N=5: --input x=${x3} fixes N = 3\n`);
    const same = cli(['run', model, '--dim', 'N=3', '--input', `x=${x3}`, '--backend', 'reference']);
    expect(same.code).toBe(0);
  });

  test('session creation and the run are timed apart; --help says how output files are named', () => {
    const r = cli(['run', dual, '--backend', 'ort']);
    expect(r.out).toMatch(/^\S+ on ort \(stock onnxruntime-node, function bodies\)\n {2}session created in [0-9.]+ ms \(load, optimise\); run [0-9.]+ ms\n/);
    const help = cli(['run', '--help']).out.replace(/\s+/g, ' ');
    expect(help).toContain('one NAME.npy per graph output, NAME with characters other than letters, digits, _ . - as _ (an output named 6, as torch names some, is 6.npy)');
  });

  test('an output named by a bare index is written as INDEX.npy', () => {
    const b = new GraphBuilder({ name: 'idx' });
    const x = b.input('x', 'float32', [1, 4]);
    b.output(x.lpNorm(b.initializer('w', [1, 2, 3, 4], [1, 4])), '6');
    const model = join(dir, 'idx.onnx');
    writeFileSync(model, encodeModel(b.buildDualPath()));
    const out = join(dir, 'idx-out');
    expect(cli(['run', model, '--backend', 'reference', '--out', out]).code).toBe(0);
    expect(readdirSync(out)).toEqual(['6.npy']);
  });
});

describe('bench measures runs of one session', () => {
  test('session creation on its own line, runs after a warm-up, on the user\'s own --input', () => {
    const x = join(dir, 'bench-x.npy');
    writeFileSync(x, formatNpy(makeTensor('float32', [2, 3, 32, 32], Array.from({ length: 2 * 3 * 32 * 32 }, (_, k) => Math.sin(k)))));
    const r = cli(['bench', dual, '--backend', 'reference', 'ort', '--runs', '3', '--input', `image=${x}`]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    for (const b of ['reference', 'ort']) {
      expect(r.out).toMatch(new RegExp(`^${b}: median [0-9.]+ ms over 3 runs \\(min [0-9.]+, max [0-9.]+\\)$`, 'm'));
      expect(r.out).toMatch(new RegExp(`^${b}: session created in [0-9.]+ ms \\(not in the runs\\)$`, 'm'));
    }
    expect(cli(['bench', dual, '--input', 'image=missing.npy']).err).toBe('lp-onnx: error: --input image=missing.npy: no such file\n');
  });
});

describe('inspect tells the truth', () => {
  test('a GeM with P = [3] shows P, not the unused p = 2; W and B with their shapes', () => {
    const r = cli(['inspect', dual, '--json']);
    const j = JSON.parse(r.out);
    const pool = j.lpNodes.find((x: { name: string }) => x.name === 'pool');
    expect(pool.attributes.p).toBeUndefined();
    expect(pool.inputs).toEqual([{ role: 'P', name: 'pool.p', type: 'float32[1]', values: [3] }]);
    const conv = j.lpNodes.find((x: { name: string }) => x.name === 'features.4');
    expect(conv.inputs.map((x: { role: string; type: string }) => `${x.role} ${x.type}`)).toEqual(['W float32[32, 16, 3, 3]', 'B float32[32]']);
    const text = cli(['inspect', dual]).out;
    expect(text).toContain('    pool: LpPool -> float32[N, 32, 1, 1]  eps=0.000001 mean=1 mode="clamp" global=1\n      P pool.p: float32[1] = [3]\n');
    expect(text).not.toMatch(/pool: LpPool.* p=2/);
  });

  test('a per-unit LpNorm shows the range and count of its P', () => {
    const b = new GraphBuilder({ name: 'per-unit' });
    const x = b.input('x', 'float32', ['N', 6]);
    const p = Array.from({ length: 10 }, (_, k) => 1.5 + k / 4);
    b.output(x.lpNorm(b.initializer('w', Array.from({ length: 60 }, () => 0.5), [10, 6]), b.initializer('p', p, [10])), 'y');
    const model = join(dir, 'per-unit.onnx');
    writeFileSync(model, encodeModel(b.buildDualPath()));
    const r = cli(['inspect', model]);
    expect(r.out).toContain('      W w: float32[10, 6], 60 values in [0.5, 0.5]\n      P p: float32[10], 10 values in [1.5, 3.75]\n');
    expect(r.out).not.toMatch(/LpNorm .* p=2/);
  });

  test('lower and export do not replace their input unless --force, and say so when they do', () => {
    const copy = join(dir, 'inplace.onnx');
    writeFileSync(copy, readFileSync(dual));
    const before = readFileSync(copy);
    for (const c of ['lower', 'export']) {
      const r = cli([c, copy, '-o', copy]);
      expect(r.code).toBe(1);
      expect(r.err).toBe(`lp-onnx: error: -o ${copy}: is the input file; write elsewhere, or pass --force to replace it\n`);
      expect(readFileSync(copy).equals(before)).toBe(true);
    }
    const r = cli(['lower', copy, '-o', copy, '--force']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^wrote ${copy} \\(replaced the input, --force\\): 5 function calls inlined, `));
    expect((decodeModel(new Uint8Array(readFileSync(copy))).graph?.node ?? []).every((x) => !x.domain)).toBe(true);
  });
});

describe('one clear error, exit 1, nothing written', () => {
  const raw = EXAMPLE;
  test.each([
    [['export', raw, '-o', 'x.onnx', '-o', 'y.onnx'], '-o was given 2 times (x.onnx, y.onnx); give it once'],
    [['run', EXAMPLE, '--backend', 'native', '--backend', 'ort'], '--backend was given 2 times (native, ort); give it once'],
    [['run', EXAMPLE, '--seed', 'abc'], '--seed abc: expected a non-negative integer'],
    [['run', EXAMPLE, '--seed', '1.5'], '--seed 1.5: expected a non-negative integer'],
    [['bench', EXAMPLE, '--runs', 'many'], '--runs many: expected a positive integer'],
    [['run', EXAMPLE, '--input', 'image=missing.npy'], '--input image=missing.npy: no such file'],
    [['run', EXAMPLE, '--out'], '--out needs a value'],
    [['export', raw, '-o'], '-o needs a value'],
  ])('%j', (args, message) => {
    const r = cli(args);
    expect(r.err).toBe(`lp-onnx: error: ${message}\n`);
    expect(r.code).toBe(1);
    expect(existsSync(join(ROOT, 'x.onnx')) || existsSync(join(ROOT, 'y.onnx'))).toBe(false);
  });

  test('export -o a folder, or into a folder that cannot be written: the path and why, no temporary file named', () => {
    const folder = join(dir, 'a-folder');
    mkdirSync(folder);
    expect(cli(['export', EXAMPLE, '-o', folder]).err).toBe(`lp-onnx: error: -o ${folder}: is a folder, expected an .onnx file to write\n`);
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    // root may write anywhere: run the command as nobody then
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    chmodSync(dir, 0o755);
    const target = join(locked, 'm.onnx');
    const r = cli(['export', EXAMPLE, '-o', target], { ...asNobody, cwd: tmpdir() });
    expect(r.err).toBe(`lp-onnx: error: -o ${target}: cannot write in ${locked} (permission denied)\n`);
    expect(r.code).toBe(1);
    expect(readdirSync(locked)).toEqual([]);
  });

  test('a file on the way to -o or --out: named', () => {
    const file = join(dir, 'plain.txt');
    writeFileSync(file, 'x');
    expect(cli(['export', EXAMPLE, '-o', join(file, 'm.onnx')]).err).toBe(`lp-onnx: error: -o ${join(file, 'm.onnx')}: ${file} is a file, not a folder\n`);
    expect(cli(['run', dual, '--out', join(file, 'o')]).err).toBe(`lp-onnx: error: --out ${join(file, 'o')}: ${file} is a file, not a folder\n`);
  });

  test('--out naming a file is refused before the model runs (a model that cannot run shows it)', () => {
    const file = join(dir, 'out-file.txt');
    writeFileSync(file, 'x');
    // stock onnxruntime cannot run the un-exported example: the --out check must come first
    const r = cli(['run', EXAMPLE, '--backend', 'ort', '--out', file]);
    expect(r.err).toBe(`lp-onnx: error: --out ${file}: is a file, expected a folder\n`);
  });

  test('every command makes missing folders for what it writes', () => {
    const deep = join(dir, 'x', 'y', 'm.onnx');
    expect(cli(['export', EXAMPLE, '-o', deep]).code).toBe(0);
    const lowered = join(dir, 'l', 'm', 'low.onnx');
    expect(cli(['lower', deep, '-o', lowered]).code).toBe(0);
    const out = join(dir, 'r', 's');
    expect(cli(['run', deep, '--backend', 'reference', '--out', out]).code).toBe(0);
    expect(readdirSync(out)).toEqual(['scores.npy']);
  });

  n('an error of the fused kernels is one line: onnxruntime\'s own log line only with --verbose', () => {
    const bad = join(ROOT, 'fixtures', 'models', 'bad-negative-weight.onnx');
    const r = cli(['run', bad, '--backend', 'native']);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`lp-onnx: error: ${bad}: lp-onnx/node failed: Exception during initialization: LpNorm node 'lp': W[1,2] = -0.25 is negative; weights must be >= 0\n`);
    const v = cli(['run', bad, '--backend', 'native', '--verbose']);
    expect(v.err).toContain('[E:onnxruntime:');
    expect(v.err.trimEnd().split('\n').pop()).toBe(`lp-onnx: error: ${bad}: lp-onnx/node failed: Exception during initialization: LpNorm node 'lp': W[1,2] = -0.25 is negative; weights must be >= 0`);
  });

  test('counts read as a person writes them', () => {
    const one = new GraphBuilder({ name: 'one' });
    const x = one.input('x', 'float32', [1, 4]);
    one.output(x.lpNorm(one.initializer('w', [1, 1, 1, 1], [1, 4])), 'y');
    const m1 = join(dir, 'one.onnx');
    writeFileSync(m1, encodeModel(one.build()));
    expect(cli(['export', m1, '-o', join(dir, 'one.dual.onnx')]).out).toBe(`wrote ${join(dir, 'one.dual.onnx')}: 1 lp node (LpNorm x1), 1 function body\n`);
    const none = new GraphBuilder({ name: 'none' });
    none.output(none.input('x', 'float32', [1, 4]).relu(), 'y');
    const m0 = join(dir, 'none.onnx');
    writeFileSync(m0, encodeModel(none.build()));
    expect(cli(['export', m0, '-o', join(dir, 'none.dual.onnx')]).out).toBe(`wrote ${join(dir, 'none.dual.onnx')}: no lp nodes, no function bodies\n`);
  });

  test('every positional and option of every command has a description in --help', () => {
    for (const c of ['export', 'lower', 'inspect', 'run', 'verify', 'bench', 'serve', 'doctor']) {
      const help = cli([c, '--help']).out;
      const lines = help.split('\n').filter((l) => /^ {2}\S/.test(l));
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) {
        // "  --flag, -x   description  [type]": a description must stand between the flag and the type
        const m = /^ {2}(\S+(?:, \S+)*)\s{2,}(.*)$/.exec(l);
        const text = (m?.[2] ?? '').replace(/\[[^\]]*\]/g, '').trim();
        if (!text) throw new Error(`lp-onnx ${c} --help: no description for '${l.trim()}'`);
      }
    }
  });

  test('doctor reports WebGPU and onnxruntime\'s CUDA execution provider', () => {
    const r = cli(['doctor']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^onnxruntime's CUDA execution provider: (installed \(.+libonnxruntime_providers_cuda\.so\)|not installed \(.+\): CUDA sessions cannot be made here)$/m);
    expect(r.out).toMatch(/^WebGPU \(lp-onnx\/web in Node, lp-onnx run --backend webgpu\): (yes: .+|no: .+|the webgpu package is installed, but it found no adapter .+)$/m);
    // Dawn's warnings about its limits only with --verbose
    expect(r.err).toBe('');
  });
});

describe('lp-onnx serve cannot be crashed', () => {
  let url: URL;
  let close: () => Promise<void>;
  const models = { 'm.onnx': new Uint8Array([1, 2, 3]) };

  beforeAll(async () => {
    const s = await serveDemo({ port: 0, models, headersTimeoutMs: 1000 });
    url = new URL(s.url);
    close = s.close;
  });
  afterAll(() => close());

  /** One raw request; resolves with the status (0: the server closed without answering) and the body. */
  function raw(text: string, { end = true, waitMs = 5000 } = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname);
      let data = '';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no answer to ${JSON.stringify(text.slice(0, 60))} in ${waitMs} ms`));
      }, waitMs);
      socket.on('data', (d) => {
        data += d;
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        clearTimeout(timer);
        const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
        resolve({ status: m ? Number(m[1]) : 0, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
      });
      socket.write(text);
      if (end) socket.end();
    });
  }
  const get = (path: string, method = 'GET') => raw(`${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  const openFds = () => readdirSync('/proc/self/fd').filter((f) => {
    try {
      return !readlinkSync(`/proc/self/fd/${f}`).startsWith('anon_inode');
    } catch {
      return false;
    }
  }).length;

  test('a bounded batch of hostile requests: each gets its status, nothing outside the roots is served, the server stays up', async () => {
    const fdsBefore = openFds();
    const cases: [string, number][] = [
      ['/%E0%A4%A', 400],
      ['/%', 400],
      ['/%zz', 400],
      ['/ort/..%2fpackage.json', 404],
      ['/ort/%2e%2e/package.json', 404],
      ['/ort/%2e%2e%2fpackage.json', 404],
      ['/ort/..%5cpackage.json', 404],
      ['/ort/%252e%252e%252fpackage.json', 404],
      ['/ort/..', 404],
      ['/ort/.', 404],
      ['/ort/', 404],
      ['/lp-onnx/..%2f..%2fpackage.json', 404],
      ['/models/..%2fm.onnx', 404],
      ['/models/%00', 400],
      ['/%2e%2e/%2e%2e/etc/passwd', 404],
      ['/..%2f..%2f..%2fetc%2fpasswd', 404],
      ['//etc/passwd', 404],
      [`/${'a'.repeat(5000)}`, 414],
      ['/models/m.onnx', 200],
      ['/', 200],
    ];
    for (const [path, status] of cases) {
      const r = await get(path);
      if (r.status !== status) throw new Error(`${path}: ${r.status}, expected ${status}`);
      expect(r.body).not.toContain('root:');
      expect(r.body).not.toContain('"name": "onnxruntime-web"');
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE']) expect((await get('/', method)).status).toBe(405);
    const head = await get('/models/m.onnx', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    // a request line longer than Node's header limit: 431 from Node itself, the server goes on
    expect([414, 431]).toContain((await get(`/${'b'.repeat(100000)}`)).status);
    // garbage, a half-closed client, a client that sends half a request and stops
    expect((await raw('\x00\x01\x02 garbage\r\n\r\n')).status).toBe(400);
    expect([0, 400]).toContain((await raw('GET / HTTP/1.1\r\nHost: x\r\n')).status);
    const slow = await raw('GET / HTTP/1.1\r\nHost: x\r\n', { end: false, waitMs: 8000 });
    expect([0, 408]).toContain(slow.status);
    // 200 requests at once
    const many = await Promise.all(Array.from({ length: 200 }, (_, k) => get(k % 2 ? '/models/m.onnx' : '/%E0%A4%A')));
    expect(many.map((r) => r.status)).toEqual(Array.from({ length: 200 }, (_, k) => (k % 2 ? 200 : 400)));
    // still up, and no descriptor left open by any of it
    expect((await get('/models/index.json')).body).toBe('["m.onnx"]');
    await new Promise((r) => setTimeout(r, 200));
    expect(openFds()).toBeLessThanOrEqual(fdsBefore);
  }, 60000);

  test('a malformed request through Node\'s own client: 400, then the server answers the next', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: '/%E0%A4%A' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(400);
    expect((await fetch(`${url}models/index.json`)).status).toBe(200);
  });
});
