// The portability matrix (ops.md, "Portable form"): the portable model set (scripts/portable-cases.ts),
// dual-path and lowered, on stock runtimes that know nothing of lp-onnx, each compared with the
// float64 reference at the function bodies' tolerance:
// - onnxruntime-node (CPU) and onnxruntime-web (wasm, in Node) releases, installed side by side in
//   a cache folder outside the lock file (npm, --ignore-scripts: no CUDA download), and the locked ones;
// - Python onnxruntime and onnx's reference evaluator from the wheels on disk (a venv, scripts/python-venv.sh);
// - Debian trixie's Python onnxruntime 1.21 where scripts/python-ort.sh has made its root (build/trixie).
// Prints a table (runtime, dual-path right, lowered right) and every failure; exits 1 when a model
// is wrong or refused anywhere, 2 when a runtime could not be run at all.
// Usage: node dist/scripts/portability.js [--subset] [--known] [--json FILE] [--cache DIR]
//   --subset: the releases CI runs (node 1.17.3, 1.22.0, 1.26.0; web 1.20.1; Python onnxruntime and
//   the reference evaluator), under a minute with a warm cache;
//   --known: the dual-path failures of models that hold several bodies for one op (chosen by
//   overload, which runtimes before onnxruntime 1.27 ignore: issue 22) are listed, not counted;
//   every other failure still is (a model with one body per op, a lowered model, onnxruntime 1.27+).
import { spawnSync } from 'node:child_process';
import { decodeModel } from '../src/onnx/codec';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PortabilityResult } from './portability-run';
import { writePortableCases } from './portable-cases';

const ROOT = join(__dirname, '..', '..');
const locked = (pkg: string) => (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

const FULL = {
  'onnxruntime-node': ['1.17.3', '1.18.0', '1.20.1', '1.22.0', '1.24.3', '1.26.0', '1.27.0'],
  'onnxruntime-web': ['1.17.3', '1.20.1', '1.23.2', '1.26.0'],
};
const SUBSET = { 'onnxruntime-node': ['1.17.3', '1.22.0', '1.26.0'], 'onnxruntime-web': ['1.20.1'] };
type Pkg = keyof typeof FULL;

interface RuntimeRow {
  runtime: string;
  results: PortabilityResult[];
  /** why the runtime itself could not be run */
  failed?: string;
  skipped?: string;
}

function npmInstall(cache: string, pkg: Pkg, version: string): string {
  const prefix = join(cache, 'npm', `${pkg}@${version}`);
  const installed = join(prefix, 'node_modules', pkg, 'package.json');
  if (existsSync(installed) && (JSON.parse(readFileSync(installed, 'utf8')) as { version: string }).version === version) return prefix;
  rmSync(prefix, { recursive: true, force: true });
  mkdirSync(prefix, { recursive: true });
  writeFileSync(join(prefix, 'package.json'), '{"name":"lp-onnx-portability","private":true}\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const install = () =>
    spawnSync(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', `${pkg}@${version}`], {
      cwd: prefix,
      encoding: 'utf8',
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
    });
  let r = install();
  if (r.status !== 0) r = install(); // once more: a registry's hiccup is not a result
  if (r.status !== 0) throw new Error(`npm install ${pkg}@${version} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`);
  return prefix;
}

function parseLines(stdout: string): { runtime?: string; results: PortabilityResult[] } {
  const results: PortabilityResult[] = [];
  let runtime: string | undefined;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const v = JSON.parse(line) as PortabilityResult & { runtime?: string };
    if (v.runtime) runtime = v.runtime;
    else results.push(v);
  }
  return { runtime, results };
}

function runChild(runtime: string, cmd: string, args: string[]): RuntimeRow {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 900000 });
  const parsed = parseLines(r.stdout ?? '');
  const row: RuntimeRow = { runtime: parsed.runtime ?? runtime, results: parsed.results };
  if (r.status !== 0) row.failed = `exit ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-2).join(' ').slice(0, 300)}`;
  return row;
}

function summary(row: RuntimeRow, file: PortabilityResult['file']): string {
  const rs = row.results.filter((r) => r.file === file);
  return `${rs.filter((r) => r.status === 'ok').length} / ${rs.length}`;
}

function main(): void {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
    return v;
  };
  for (const a of args) if (a.startsWith('--') && !['--subset', '--known', '--json', '--cache'].includes(a)) throw new Error(`unknown flag ${a} (--subset, --known, --json FILE, --cache DIR)`);
  const releases = args.includes('--subset') ? SUBSET : FULL;
  const cache = resolve(flag('--cache') ?? join(ROOT, 'build', 'portability'));
  const json = flag('--json');
  const cases = join(cache, 'cases');
  rmSync(cases, { recursive: true, force: true });
  const names = writePortableCases(cases);
  const overloaded = new Set(names.filter((n) => (decodeModel(new Uint8Array(readFileSync(join(cases, n, 'model.onnx')))).functions ?? []).some((f) => f.overload)));
  console.log(`portability: ${names.length} models, dual-path and lowered (${cases}); ${overloaded.size} hold several bodies for one op`);

  const rows: RuntimeRow[] = [];
  const runner = join(__dirname, 'portability-run.js');
  for (const pkg of Object.keys(releases) as Pkg[]) {
    const lockedVersion = locked(pkg);
    for (const version of [...releases[pkg], lockedVersion]) {
      const name = `${pkg} ${version}${version === lockedVersion ? ' (locked)' : ''}${pkg === 'onnxruntime-web' ? ', wasm' : ''}`;
      let prefix: string;
      try {
        prefix = version === lockedVersion ? ROOT : npmInstall(cache, pkg, version);
      } catch (e) {
        rows.push({ runtime: name, results: [], failed: (e as Error).message });
        continue;
      }
      rows.push(runChild(name, process.execPath, [runner, prefix, pkg, cases]));
      rows[rows.length - 1].runtime = name;
      console.log(`  ${name}: dual-path ${summary(rows[rows.length - 1], 'model.onnx')}, lowered ${summary(rows[rows.length - 1], 'lowered.onnx')}`);
    }
  }

  const check = join(ROOT, 'scripts', 'portability-check.py');
  const venv = join(ROOT, 'build', 'venv-ort');
  const made = spawnSync('bash', [join(ROOT, 'scripts', 'python-venv.sh'), venv, 'onnxruntime', 'numpy', 'onnx'], { encoding: 'utf8' });
  for (const kind of ['onnxruntime', 'reference']) {
    if (made.status !== 0) rows.push({ runtime: `Python ${kind}`, results: [], skipped: made.stdout.trim() || made.stderr.trim() });
    else rows.push(runChild(`Python ${kind}`, join(venv, 'bin', 'python'), [check, kind, cases]));
    const row = rows[rows.length - 1];
    console.log(`  ${row.runtime}: ${row.skipped ? `skipped (${row.skipped})` : `dual-path ${summary(row, 'model.onnx')}, lowered ${summary(row, 'lowered.onnx')}`}`);
  }
  const trixie = join(ROOT, 'build', 'trixie');
  if (!args.includes('--subset')) {
    if (process.getuid?.() === 0 && existsSync(join(trixie, 'usr', 'bin', 'python3'))) {
      const work = join(trixie, 'tmp', 'lp-onnx-portability');
      rmSync(work, { recursive: true, force: true });
      mkdirSync(work, { recursive: true });
      spawnSync('cp', ['-r', cases, join(work, 'cases')]);
      spawnSync('cp', [check, work]);
      // onnxruntime needs /proc in the root (as scripts/python-ort.sh mounts it)
      const script = `mountpoint -q "$1/proc" || mount --bind /proc "$1/proc" || exit 3; chroot "$1" python3 /tmp/lp-onnx-portability/portability-check.py onnxruntime /tmp/lp-onnx-portability/cases; r=$?; umount "$1/proc"; exit $r`;
      rows.push(runChild("Debian trixie's Python onnxruntime", 'bash', ['-c', script, 'chroot', trixie]));
    } else {
      rows.push({ runtime: "Debian trixie's Python onnxruntime", results: [], skipped: 'no build/trixie root (bash scripts/python-ort.sh makes it, as root)' });
    }
    const row = rows[rows.length - 1];
    console.log(`  ${row.runtime}: ${row.skipped ? `skipped (${row.skipped})` : `dual-path ${summary(row, 'model.onnx')}, lowered ${summary(row, 'lowered.onnx')}`}`);
  }

  console.log('\n| runtime | dual-path right | lowered right |\n|---|---|---|');
  for (const row of rows) {
    const cells = row.skipped ? ['skipped', 'skipped'] : [summary(row, 'model.onnx'), summary(row, 'lowered.onnx')];
    console.log(`| ${row.runtime} | ${cells.join(' | ')} |`);
  }
  // onnxruntime 1.27 and later select functions by overload
  const selectsOverloads = (runtime: string) => /onnxruntime(?:-node|-web)? (\d+)\.(\d+)/.exec(runtime)?.slice(1).map(Number).reduce((a, b) => a * 1000 + b) ?? 0;
  const known = (row: RuntimeRow, r: PortabilityResult) => args.includes('--known') && r.file === 'model.onnx' && overloaded.has(r.case) && selectsOverloads(row.runtime) < 1027;
  const line = (row: RuntimeRow, r: PortabilityResult) => `${row.runtime}: ${r.case}/${r.file}: ${r.status}: ${r.detail ?? ''}`;
  const failures = rows.flatMap((row) => [
    ...(row.failed ? [`${row.runtime}: could not run: ${row.failed}`] : []),
    ...row.results.filter((r) => r.status !== 'ok' && !known(row, r)).map((r) => line(row, r)),
  ]);
  const knownFailures = rows.flatMap((row) => row.results.filter((r) => r.status !== 'ok' && known(row, r)).map((r) => line(row, r)));
  if (knownFailures.length) console.log(`\n${knownFailures.length} known failures (several bodies for one op, on a runtime that ignores overload):\n${knownFailures.join('\n')}`);
  if (failures.length) console.log(`\n${failures.length} failures:\n${failures.join('\n')}`);
  else console.log(`\nportability: no failures${knownFailures.length ? ' beyond the known ones' : ''}`);
  if (json) writeFileSync(json, `${JSON.stringify({ models: names, overloaded: [...overloaded], rows }, null, 2)}\n`);
  process.exit(rows.some((r) => r.failed) ? 2 : failures.length ? 1 : 0);
}

main();
