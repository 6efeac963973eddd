#!/usr/bin/env python3
"""The check of the CUDA kernels on a GPU machine (issue 10), one prepared script.

1. Every golden op case (fixtures/golden/*.json: the op cases of test/cases with seeded inputs and
   the float64 reference output) through the CUDA launchers on the GPU, on a non-default stream,
   compared with the reference at the kernels' tolerance (atol 1e-5 + rtol 1e-4, NaN equal to NaN).
   The attributes go through the same schema structs and plans as the onnxruntime kernels
   (kernels/cuda/gpu_check); defaults come from kernels/schema/lp_schema.h (written from ops/).
2. --sanitize: the same cases again under compute-sanitizer (memcheck, racecheck, synccheck for
   barriers under divergent control flow, initcheck for reads of uninitialised device memory).
3. --bench: each op at GPU-sized shapes against a PyTorch eager decomposition of the same maths and
   the anchors (fp32 matmul and cuDNN conv with TF32 off, avg_pool2d), as ratios and % of roofline.

Needs numpy; the GPU run needs PyTorch with CUDA (device memory, streams, timing). --emulation runs
part 1 on the CPU emulation of the CUDA execution model (build/GpuCheckEmulation, host memory): a
check of this script, never a GPU result. Build the library first: scripts/gpu/build-gpu-check.sh.
"""
import argparse
import ctypes
import json
import math
import os
import re
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
I64 = ctypes.POINTER(ctypes.c_int64)
F32 = ctypes.POINTER(ctypes.c_float)


def schema_defaults():
    """The defaults of every op's attributes, from the generated header (the schemas of ops/)."""
    text = open(os.path.join(ROOT, 'kernels', 'schema', 'lp_schema.h')).read()
    out = {}
    for op, body in re.findall(r'struct (\w+)Attrs \{(.*?)\n\};', text, re.S):
        d = {}
        for kind, name, value in re.findall(r'^  (float|int64_t|std::string) (\w+) = (.+);$', body, re.M):
            if kind == 'float':
                d[name] = math.inf if 'infinity' in value else float(value.rstrip('f'))
            elif kind == 'int64_t':
                d[name] = int(value)
            else:
                d[name] = json.loads(value)
        out[op] = d
    return out


def decode(v):
    return float(v) if not isinstance(v, str) else {'NaN': math.nan, 'Infinity': math.inf, '-Infinity': -math.inf}[v]


class Memory:
    """Device memory and the stream: PyTorch on a GPU, or host arrays on the emulation."""

    def __init__(self, emulation):
        self.emulation = emulation
        if emulation:
            self.torch = None
            self.stream = None
            return
        import torch  # noqa: PLC0415

        if not torch.cuda.is_available():
            sys.exit('gpu-check: PyTorch sees no CUDA device (use --emulation to check the script without a GPU)')
        self.torch = torch
        self.stream = torch.cuda.Stream()  # not the default stream

    def array(self, host):
        host = np.ascontiguousarray(host, dtype=np.float32)
        if self.emulation:
            return host
        with self.torch.cuda.stream(self.stream):  # uploads on the kernels' stream: ordered before them
            return self.torch.from_numpy(host).to('cuda', non_blocking=False)

    def empty(self, dims):
        n = int(np.prod(dims)) if dims else 1
        if self.emulation:
            return np.zeros(max(n, 1), dtype=np.float32)
        return self.torch.empty(max(n, 1), dtype=self.torch.float32, device='cuda')

    def ptr(self, a):
        if a is None:
            return None
        if isinstance(a, np.ndarray):
            return a.ctypes.data_as(F32)
        return ctypes.cast(a.data_ptr(), F32)

    def stream_handle(self):
        return None if self.stream is None else ctypes.c_void_p(self.stream.cuda_stream)

    def host(self, a, n):
        if self.emulation:
            if self.synchronize() != 0:
                sys.exit('gpu-check: the emulated stream failed')
            return a[:n].astype(np.float64)
        self.stream.synchronize()
        return a[:n].cpu().numpy().astype(np.float64)


class _Shape:
    """The dims of a device tensor, where a host array is not given."""

    def __init__(self, shape):
        self.shape = tuple(shape)
        self.ndim = len(self.shape)


def _host(a):
    """A host array's pointer for the value checks (None for device-only inputs); `a` is contiguous float32."""
    return a.ctypes.data_as(F32) if isinstance(a, np.ndarray) else None


def ints(v):
    if v is None:
        return (ctypes.c_int64 * 1)(), -1
    return (ctypes.c_int64 * max(len(v), 1))(*v), len(v)


class Kernels:
    def __init__(self, path, mem):
        self.lib = ctypes.CDLL(path)
        self.mem = mem
        # results are read after the stream is synchronised, on the emulation too (its streams defer work)
        mem.synchronize = lambda: self.lib.lp_gpu_synchronize(mem.stream_handle())
        self.defaults = schema_defaults()

    def run(self, op, attrs, inputs, dry=False, out=None):
        """inputs: host numpy arrays (checked on the host too, as the kernels check them) or device
        tensors (not checked; for the benchmarks); None: absent. Returns (dims, output on the host),
        or (dims, None) after writing into the device tensor `out`. Raises ValueError on refusal."""
        a = {**self.defaults[op], **attrs}
        inputs = list(inputs) + [None] * ({'LpPool': 2}.get(op, 3) - len(inputs))
        # host arrays as contiguous float32 once, kept here: the pointers handed to the library stay valid
        inputs = [np.ascontiguousarray(x, dtype=np.float32) if isinstance(x, np.ndarray) else x for x in inputs]
        mem = self.mem
        dev = [None if x is None else x if not isinstance(x, np.ndarray) else mem.array(x) for x in inputs]
        inputs = [None if x is None else x if isinstance(x, np.ndarray) else _Shape(x.shape) for x in inputs]
        err = ctypes.create_string_buffer(1024)
        ydims = (ctypes.c_int64 * 8)()
        yrank = ctypes.c_int(0)

        def dims(x):
            return (ctypes.c_int64 * max(x.ndim, 1))(*x.shape), x.ndim

        def call(y, dry_run):
            xd, xr = dims(inputs[0])
            common_tail = [ydims, ctypes.byref(yrank), mem.stream_handle(), int(dry_run), err, len(err)]
            ws = [ints(a.get(k)) for k in ('kernel_shape', 'strides', 'pads', 'dilations')]
            if op == 'LpPool':
                p = inputs[1]
                pd, pr = dims(p) if p is not None else ((ctypes.c_int64 * 1)(), -1)
                return self.lib.lp_gpu_lp_pool(
                    mem.ptr(dev[0]), xd, xr, _host(p), mem.ptr(dev[1]), pd, pr,
                    ws[0][0], ws[0][1], ws[1][0], ws[1][1], ws[2][0], ws[2][1], ws[3][0], ws[3][1],
                    a['auto_pad'].encode(), ctypes.c_int64(a['ceil_mode']), ctypes.c_int64(a['count_include_pad']),
                    ctypes.c_float(a['p']), ctypes.c_float(a['eps']), ctypes.c_int64(a['mean']), a['mode'].encode(),
                    ctypes.c_int64(a['global']), mem.ptr(y), *common_tail)
            if op == 'L1Conv':
                wd, wr = dims(inputs[1])
                b = inputs[2]
                bd, br = dims(b) if b is not None else ((ctypes.c_int64 * 1)(), -1)
                return self.lib.lp_gpu_l1_conv(
                    mem.ptr(dev[0]), xd, xr, mem.ptr(dev[1]), wd, wr, mem.ptr(dev[2]), bd, br,
                    ws[0][0], ws[0][1], ws[1][0], ws[1][1], ws[2][0], ws[2][1], ws[3][0], ws[3][1],
                    a['auto_pad'].encode(), ctypes.c_int64(a['group']), mem.ptr(y), *common_tail)
            wd, wr = dims(inputs[1])
            p = inputs[2]
            pd, pr = dims(p) if p is not None else ((ctypes.c_int64 * 1)(), -1)
            return self.lib.lp_gpu_lp_norm(
                mem.ptr(dev[0]), xd, xr, _host(inputs[1]), mem.ptr(dev[1]), wd, wr,
                _host(p), mem.ptr(dev[2]), pd, pr,
                ctypes.c_float(a['p']), ctypes.c_float(a['eps']), ctypes.c_float(a['sum_eps']), ctypes.c_int64(a['mean']),
                a['mode'].encode(), mem.ptr(y), *common_tail)

        if call(None, True) != 0:
            raise ValueError(err.value.decode())
        out_dims = [ydims[i] for i in range(yrank.value)]
        if dry:
            return out_dims, None
        n = int(np.prod(out_dims)) if out_dims else 1
        y = mem.empty(out_dims) if out is None else out
        if call(y, False) != 0:
            raise ValueError(err.value.decode())
        return out_dims, None if out is not None else mem.host(y, n)


def check_cases(kernels):
    failures, count = [], 0
    for file in ('lp-norm', 'lp-pool', 'l1-conv'):
        golden = json.load(open(os.path.join(ROOT, 'fixtures', 'golden', f'{file}.json')))
        op = golden['op']
        for c in golden['cases']:
            inputs = [None if t is None else np.array([decode(v) for v in t['data']], dtype=np.float32).reshape(t['dims']) for t in c['inputs']]
            attrs = {k: (decode(v) if isinstance(v, str) and v in ('NaN', 'Infinity', '-Infinity') else v) for k, v in c['attrs'].items()}
            # the float64 reference rounded once to the float32 output (+inf beyond its range)
            with np.errstate(over='ignore'):
                want = np.array([decode(v) for v in c['output']['data']], dtype=np.float64).astype(np.float32).astype(np.float64)
            count += 1
            try:
                dims, got = kernels.run(op, attrs, inputs)
            except ValueError as e:
                failures.append(f'{op} {c["name"]}: refused: {e}')
                continue
            if list(dims) != list(c['output']['dims']):
                failures.append(f'{op} {c["name"]}: dims {dims}, expected {c["output"]["dims"]}')
                continue
            nan_w, nan_g = np.isnan(want), np.isnan(got)
            # equal values (infinities included) agree; an infinity on one side only does not
            with np.errstate(invalid='ignore'):
                off = (got != want) & ~(np.abs(got - want) <= 1e-5 + 1e-4 * np.abs(want))
            bad = (nan_w != nan_g) | (~nan_w & ~nan_g & off)
            if bad.any():
                i = int(np.argmax(bad))
                failures.append(f'{op} {c["name"]}: index {i}: got {got[i]}, expected {want[i]}')
    return count, failures


# LpNorm's W refused on the device (the check of a W fed at run time, kernels/cuda/weight_scan.h):
# name, attributes, W, the refusal (the CPU kernels' words)
REFUSALS = [
    ('negative weight', {}, [[0.5, 0.5, 0.5], [0.5, 0.0, -2.0]], 'W[1,2] = -2 is negative; weights must be >= 0'),
    ('NaN before a negative weight', {}, [[0.5, math.nan, -1.0], [0.5, 0.5, 0.5]], 'W[0,1] is NaN; weights must be >= 0'),
    ('mean = 1, a zero row before a negative weight', {'mean': 1}, [[0.5, 0.5, 0.5], [0.0, 0.0, 0.0], [0.0, -1.0, 0.0]],
     'mean = 1 but row 1 of W sums to 0 (the power mean is undefined)'),
]


def check_refusals(kernels):
    failures = []
    for name, attrs, w, want in REFUSALS:
        x = np.full((2, 3), 0.5, dtype=np.float32)
        try:
            kernels.run('LpNorm', attrs, [x, np.array(w, dtype=np.float32)])
            failures.append(f'LpNorm {name}: accepted, expected "{want}"')
        except ValueError as e:
            if want not in str(e):
                failures.append(f'LpNorm {name}: refused with "{e}", expected "{want}"')
    return len(REFUSALS), failures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--emulation', action='store_true', help='the CPU emulation build (a check of this script, not a GPU)')
    ap.add_argument('--lib', help='the library (default build/GpuCheck or build/GpuCheckEmulation)')
    ap.add_argument('--sanitize', action='store_true', help='also run the cases under compute-sanitizer memcheck, racecheck, synccheck and initcheck')
    ap.add_argument('--bench', action='store_true', help='benchmarks against PyTorch and the anchors (GPU only)')
    ap.add_argument('--runs', type=int, default=20)
    args = ap.parse_args()
    lib = args.lib or os.path.join(ROOT, 'build', 'GpuCheckEmulation' if args.emulation else 'GpuCheck', 'liblp_gpu_check.so')
    mem = Memory(args.emulation)
    kernels = Kernels(lib, mem)
    where = 'the CPU emulation of the CUDA execution model (not a GPU)' if args.emulation else mem.torch.cuda.get_device_name()
    t = time.time()
    count, failures = check_cases(kernels)
    print(f'gpu-check: {count - len(failures)} of {count} op cases agree with the float64 reference on {where} ({time.time() - t:.1f} s)')
    refused, refusal_failures = check_refusals(kernels)
    print(f'gpu-check: {refused - len(refusal_failures)} of {refused} bad weights refused on the device as the CPU kernels refuse them')
    failures += refusal_failures
    for f in failures:
        print(f'  FAIL {f}')
    status = 1 if failures else 0
    if args.sanitize and not args.emulation:
        for tool in ('memcheck', 'racecheck', 'synccheck', 'initcheck'):
            r = subprocess.run(['compute-sanitizer', '--tool', tool, '--error-exitcode', '3', sys.executable, __file__, '--lib', lib])
            print(f'gpu-check: compute-sanitizer --tool {tool}: {"clean" if r.returncode == 0 else f"exit {r.returncode}"}')
            status = status or r.returncode
    if args.bench:
        if args.emulation:
            print('gpu-check: --bench needs a GPU (no figures on the emulation)')
        else:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            from gpu_bench import bench  # noqa: PLC0415

            bench(kernels, mem, args.runs)
    sys.exit(status)


if __name__ == '__main__':
    main()
