// python/lp_onnx_torch, run by Debian's python3 with torch: the spec writer's refusals (one
// SpecError naming the module or the call), each layer's docstring, the package's version beside
// the npm package's. Its round trip (spec written, exported, compared with PyTorch) is
// test/torch-models.test.ts on the six fixtures; pip install from the tarball is test/package.test.ts.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const torchOk = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!torchOk) console.warn('skipping the Python package checks: /usr/bin/python3 has no torch (apt-get install python3-torch)');
const t = torchOk ? test : test.skip;

/** Runs Python with the package importable; returns its stdout lines. */
function python(code: string): string[] {
  const r = spawnSync('/usr/bin/python3', ['-c', `import sys; sys.path.insert(0, ${JSON.stringify(join(ROOT, 'python'))})\n${code}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed:\n${r.stderr}`);
  return r.stdout.trim().split('\n');
}

const REFUSE = `
import torch, torch.nn.functional as F
from torch import nn
import lp_onnx_torch as L

def refused(model, inputs={"x": ["N", 3, 8, 8]}):
    try:
        L.arch_spec(model, inputs)
        print("accepted")
    except L.SpecError as e:
        print(e)

class Functional(nn.Module):
    def forward(self, x):
        return F.max_pool2d(x, 2)

class Constant(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = L.L1Conv2d(3, 4, 3)
    def forward(self, x):
        return self.c(x) + 1.0

class Raw(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(3))
    def forward(self, x):
        return x * self.w

class TwoInputs(nn.Module):
    def forward(self, x, y):
        return x + y

refused(nn.Sequential(L.L1Conv2d(3, 4, 3), nn.LSTM(4, 4)))
refused(Functional())
refused(Constant())
refused(Raw())
refused(nn.Sequential(nn.Conv2d(3, 4, 3, padding_mode="reflect")))
refused(TwoInputs(), {"x": ["N", 3]})
refused(nn.Sequential(nn.AdaptiveAvgPool2d(2)))
`;

t('the spec writer refuses what the spec cannot say, naming the module or the call', () => {
  const lines = python(REFUSE);
  expect(lines).toEqual([
    "module '1' (LSTM) is not a supported layer",
    expect.stringMatching(/^.*max_pool2d.*: the call 'max_pool2d' is not supported in a spec$/),
    expect.stringMatching(/^.*add.*: a constant operand \(1\.0\); only tensors$/),
    "forward reads 'w' directly; only supported layers may hold weights",
    "module '0' (Conv2d): padding_mode 'reflect': only 'zeros'",
    "forward argument 'y' has no shape in inputs (given: x)",
    "module '0' (AdaptiveAvgPool2d): output_size 2: only 1",
  ]);
});

t('every canonical layer has a docstring with its formula and parameters', () => {
  const lines = python(`
import lp_onnx_torch as L
for name in ["LpNormLayer", "GeM", "LpPool1d", "LpPool2d", "LpPool3d", "L1Conv1d", "L1Conv2d", "L1Conv3d", "L1WeightNormLinear", "CReLU"]:
    doc = getattr(L, name).__doc__ or ""
    print(name, ".. math::" in doc or ":math:" in doc, "Parameters:" in doc or name == "CReLU", "Args:" in doc or name == "CReLU")
`);
  for (const l of lines) expect(l).toMatch(/^\w+ True True True$/);
  expect(lines).toHaveLength(10);
});

// torch 1.13 has no torch.onnx.ops: a stand-in symbolic records what the dynamo path would emit
const DYNAMO = `
import types, torch
import lp_onnx_torch as L
from lp_onnx_torch import export as E, functional as Fn
calls = []
def symbolic(domain_op, inputs, attrs=None, *, dtype, shape, version=None):
    calls.append((domain_op, [None if i is None else tuple(i.shape) for i in inputs], attrs, tuple(shape), dtype, version))
    return torch.zeros(tuple(shape), dtype=dtype)
torch.onnx.ops = types.SimpleNamespace(symbolic=symbolic)
torch.manual_seed(0)
cases = [
    (L.LpNormLayer(12, 5), torch.rand(3, 7, 12)),
    (L.GeM(per_channel=4), torch.rand(2, 4, 5, 6)),
    (L.LpPool1d(3, stride=2, padding=1, ceil_mode=True, learn_p=4), torch.rand(2, 4, 10)),
    (L.LpPool2d((2, 3), stride=(2, 1), dilation=(1, 2), mean=True), torch.rand(1, 3, 9, 11)),
    (L.LpPool3d(2, ceil_mode=True, norm_type=3.0), torch.rand(1, 2, 5, 5, 5)),
    (L.L1Conv1d(4, 6, 3, stride=2, padding=1, bias=True), torch.rand(2, 4, 9)),
    (L.L1Conv2d(4, 6, (3, 2), dilation=(2, 1), groups=2), torch.rand(1, 4, 9, 8)),
    (L.L1Conv3d(2, 3, 3, padding=1), torch.rand(1, 2, 4, 5, 6)),
]
for m, x in cases:
    want = tuple(m(x).shape)
    E.exporting = lambda: True
    got = tuple(m(x).shape)
    E.exporting = torch.onnx.is_in_onnx_export
    op, ins, attrs, shape, dtype, version = calls[-1]
    print(type(m).__name__, op, want == got == shape, version, dtype == x.dtype, sorted(attrs))
`;

t('under dynamo=True each layer emits its com.lponnx node with the output shape PyTorch computes (a stand-in for torch.onnx.ops.symbolic)', () => {
  const lines = python(DYNAMO);
  const attrs = {
    LpNorm: "['eps', 'mean', 'mode', 'sum_eps']",
    global: "['eps', 'global', 'mean', 'mode']",
    LpPool: "['ceil_mode', 'dilations', 'eps', 'kernel_shape', 'mean', 'mode', 'pads', 'strides']",
    L1Conv: "['dilations', 'group', 'pads', 'strides']",
  };
  expect(lines).toEqual([
    `LpNormLayer com.lponnx::LpNorm True 1 True ${attrs.LpNorm}`,
    `GeM com.lponnx::LpPool True 1 True ${attrs.global}`,
    ...[1, 2, 3].map((r) => `LpPool${r}d com.lponnx::LpPool True 1 True ${attrs.LpPool}`),
    ...[1, 2, 3].map((r) => `L1Conv${r}d com.lponnx::L1Conv True 1 True ${attrs.L1Conv}`),
  ]);
});

t("the Python package's version is the npm package's", () => {
  const npmVersion = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  expect(python('import lp_onnx_torch as L; print(L.__version__)')).toEqual([npmVersion]);
  expect(readFileSync(join(ROOT, 'python', 'pyproject.toml'), 'utf8')).toContain(`version = "${npmVersion}"`);
});
