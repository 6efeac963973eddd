// The portability matrix (ops.md, "Portable form"): the portable model set (scripts/portable-cases.ts),
// dual-path and lowered, on stock runtimes that know nothing of lp-onnx, each compared with the
// float64 reference at the function bodies' tolerance:
// - onnxruntime-node (CPU) and onnxruntime-web (wasm, in Node) releases, installed side by side in
//   a cache folder outside the lock file (npm, --ignore-scripts: no CUDA download), and the locked ones;
// - Python onnxruntime and onnx's reference evaluator from the wheels on disk (a venv, scripts/python-venv.sh);
// - Debian trixie's Python onnxruntime 1.21 where scripts/python-ort.sh has made its root (build/trixie).
// Prints a table (runtime, dual-path right, lowered right) and every failure; exits 1 when a model
// is wrong or refused anywhere, 2 when a runtime could not be run at all.
// A model at a newer opset than a runtime has (the opset-23 stress models on onnxruntime before
// 1.23) is refused by that runtime: counted apart as "beyond", never as right; wrong is a failure.
// Usage: node dist/scripts/portability.js [--subset] [--json FILE] [--cache DIR]
//   --subset: the releases CI runs (node 1.17.3, 1.22.0, 1.26.0; web 1.20.1; Python onnxruntime and
//   the reference evaluator), under a minute with a warm cache.
import { spawnSync } from 'node:child_process';
import { LP_DOMAIN } from '../ops/types';
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
  const beyond = rs.filter((r) => r.status === 'beyond');
  const counted = rs.length - beyond.length;
  return `${rs.filter((r) => r.status === 'ok').length} / ${counted}${beyond.length ? ` (+${beyond.length} at opset ${[...new Set(beyond.map((r) => r.detail))].join(', ')}: beyond this runtime)` : ''}`;
}

/**
 * The newest default-domain opset an onnxruntime release runs (what 1.17, 1.20 and 1.22 say when
 * refusing a newer one: "support for domain ai.onnx is till opset 20 / 21 / 22"); undefined: no limit
 * below opset 23 (onnx's reference evaluator, 1.23 and later).
 */
function maxOpset(runtime: string): number | undefined {
  const m = /onnxruntime(?:-node|-web)? (\d+)\.(\d+)/.exec(runtime);
  if (!m || Number(m[1]) !== 1) return undefined;
  const minor = Number(m[2]);
  return minor <= 17 ? 20 : minor <= 20 ? 21 : minor <= 22 ? 22 : undefined;
}

/** A refusal of a model whose opset the runtime does not have is not a result about lp-onnx: marked 'beyond'. */
function markBeyond(row: RuntimeRow, opsets: ReadonlyMap<string, number>): void {
  const max = maxOpset(row.runtime);
  if (max === undefined) return;
  for (const r of row.results) {
    const opset = opsets.get(r.case) ?? 0;
    if (r.status === 'error' && opset > max) Object.assign(r, { status: 'beyond', detail: String(opset) });
  }
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
  for (const a of args) if (a.startsWith('--') && !['--subset', '--json', '--cache'].includes(a)) throw new Error(`unknown flag ${a} (--subset, --json FILE, --cache DIR)`);
  const releases = args.includes('--subset') ? SUBSET : FULL;
  const cache = resolve(flag('--cache') ?? join(ROOT, 'build', 'portability'));
  const json = flag('--json');
  const cases = join(cache, 'cases');
  rmSync(cases, { recursive: true, force: true });
  const names = writePortableCases(cases);
  const models = new Map(names.map((n) => [n, decodeModel(new Uint8Array(readFileSync(join(cases, n, 'model.onnx'))))]));
  const opsets = new Map([...models].map(([n, m]) => [n, Number((m.opset_import ?? []).find((o) => !o.domain)?.version ?? 0)]));
  const several = names.filter((n) => {
    const lp = (models.get(n)?.functions ?? []).filter((f) => f.domain === LP_DOMAIN).map((f) => f.name);
    return lp.length !== new Set(lp).size || (models.get(n)?.functions ?? []).some((f) => f.overload);
  });
  if (several.length) throw new Error(`portability: ${several.join(', ')} hold several function bodies for one op; the exporter must write one (ops.md, "Portable form")`);
  console.log(`portability: ${names.length} models, dual-path and lowered (${cases}), one function body per op in each`);

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
      markBeyond(rows[rows.length - 1], opsets);
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
    markBeyond(row, opsets);
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
      markBeyond(rows[rows.length - 1], opsets);
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
  const line = (row: RuntimeRow, r: PortabilityResult) => `${row.runtime}: ${r.case}/${r.file}: ${r.status}: ${r.detail ?? ''}`;
  const failures = rows.flatMap((row) => [
    ...(row.failed ? [`${row.runtime}: could not run: ${row.failed}`] : []),
    ...row.results.filter((r) => r.status !== 'ok' && r.status !== 'beyond').map((r) => line(row, r)),
  ]);
  if (failures.length) console.log(`\n${failures.length} failures:\n${failures.join('\n')}`);
  else console.log('\nportability: no failures (a model at an opset newer than a runtime has is refused by that runtime: "beyond")');
  if (json) writeFileSync(json, `${JSON.stringify({ models: names, rows }, null, 2)}\n`);
  process.exit(rows.some((r) => r.failed) ? 2 : failures.length ? 1 : 0);
}

main();
