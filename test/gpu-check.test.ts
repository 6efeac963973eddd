// The GPU machine's check script (scripts/gpu/gpu-check.py) kept working where there is no GPU: its
// library built on the CPU emulation of the CUDA execution model, every golden op case through it
// against the float64 reference. A check of the script and of the device code on the emulation,
// never a GPU result.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..');
const numpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
if (!numpy) console.warn('skipping the gpu-check script test: python3 has no numpy');

(numpy ? test : test.skip)('scripts/gpu/gpu-check.py --emulation: every golden op case through the CUDA launchers agrees with the reference', () => {
  const build = spawnSync('bash', [join(root, 'scripts', 'gpu', 'build-gpu-check.sh'), '--emulation'], { encoding: 'utf8' });
  expect(build.stderr).toBe('');
  expect(build.status).toBe(0);
  const r = spawnSync('python3', [join(root, 'scripts', 'gpu', 'gpu-check.py'), '--emulation'], { encoding: 'utf8', timeout: 120000 });
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/^gpu-check: (\d+) of \1 op cases agree with the float64 reference on the CPU emulation of the CUDA execution model \(not a GPU\)/);
  expect(r.status).toBe(0);
}, 180000);
