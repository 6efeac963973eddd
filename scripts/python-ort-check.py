#!/usr/bin/env python3
"""Python onnxruntime with lp-onnx's custom-op library (register_custom_ops_library), on the CPU
provider: every case written by scripts/make-python-cases.ts (dual-path models, their inputs and
the float64 reference's outputs) must match the reference at the kernels' tolerance
(atol 1e-5 + rtol 1e-4). A case whose function bodies are wrong must match too, with the library,
and must not match without it: the lp nodes ran on the fused kernels. Without the library the
function bodies run (stock onnxruntime); how they fare is reported as well, and counted apart,
and the model lowered by `lp-onnx lower` (functions inlined) must match on stock onnxruntime.
Usage: python3 scripts/python-ort-check.py LIBRARY CASES_DIR   (needs onnxruntime >= 1.21, numpy)"""
import json
import os
import sys

import numpy as np
import onnxruntime as ort


def run(model, feeds, lib):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    if lib:
        so.register_custom_ops_library(lib)
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


def within(got, want, rtol=1e-4, tol=None):
    atol = 1e-5
    if got.dtype == np.float16:  # ops.md's float16 tolerances: atol 1e-4, rtol 1e-3 kernels, 2e-3 bodies
        atol, rtol = 1e-4, 1e-3 if rtol < 1e-3 else 2e-3
    if tol:  # the case's own (a whole `export --float16` model), for every path
        atol, rtol = tol["atol"], tol["rtol"]
    nan = np.isnan(want)
    if got.shape != want.shape or not np.array_equal(nan, np.isnan(got)):
        return False, float("inf")
    err = np.abs(got[~nan].astype(np.float64) - want[~nan])
    ratio = float(np.max(err / (atol + rtol * np.abs(want[~nan])))) if err.size else 0.0
    return ratio <= 1.0, ratio


def max_opset():
    """The newest default-domain opset this onnxruntime has (as scripts/portability.ts: 1.17 has 20,
    1.18 to 1.20 have 21, 1.21 and 1.22 have 22); None: 23 or newer."""
    major, minor = (int(v) for v in ort.__version__.split(".")[:2])
    if major != 1 or minor >= 23:
        return None
    return 20 if minor <= 17 else 21 if minor <= 20 else 22


def main():
    lib, cases = sys.argv[1], sys.argv[2]
    failures, body_failures, lowered_failures, names = [], [], [], sorted(os.listdir(cases))
    newest = max_opset()
    beyond = [n for n in names if newest is not None and json.load(open(os.path.join(cases, n, "case.json"))).get("opset", 0) > newest]
    for name in beyond:
        print(f"skip {name}: opset {json.load(open(os.path.join(cases, name, 'case.json')))['opset']}, newer than onnxruntime {ort.__version__} has ({newest})", flush=True)
    names = [n for n in names if n not in beyond]
    for name in names:
        d = os.path.join(cases, name)
        c = json.load(open(os.path.join(d, "case.json")))
        model = os.path.join(d, "model.onnx")
        feeds = {c["input"]: np.load(os.path.join(d, "input.npy"))}
        want = np.load(os.path.join(d, "reference.npy"))
        tol = c.get("tol")
        ok, ratio = within(run(model, feeds, lib), want, tol=tol)
        line = f"{name}: fused kernels {ratio:.3f} of the tolerance"
        try:
            bodies = run(model, feeds, None)  # stock onnxruntime: the function bodies
            bodies_ok, bodies_ratio = within(bodies, want, 1e-3, tol)
            what = f"{bodies_ratio:.3f} of the bodies' tolerance"
        except Exception as e:  # noqa: BLE001
            bodies_ok, what = False, f"does not load ({str(e).splitlines()[0][:120]})"
        if c["wrongBodies"]:
            line += f"; without the library (bodies made wrong): {'wrong as built' if not bodies_ok else 'RIGHT: the kernels did not run'} ({what})"
            ok = ok and not bodies_ok
        else:
            line += f"; without the library, function bodies: {what}"
            if not bodies_ok:
                body_failures.append(name)
            # lp-onnx lower (functions inlined): must run on stock onnxruntime
            lowered_ok, lowered_ratio = within(run(os.path.join(d, "lowered.onnx"), feeds, None), want, 1e-3, tol)
            line += f"; lowered: {lowered_ratio:.3f} of the bodies' tolerance"
            ok = ok and lowered_ok
            if not lowered_ok:
                lowered_failures.append(name)
        print(("ok   " if ok else "FAIL ") + line, flush=True)
        if not ok:
            failures.append(name)
    print(f"python-ort-check: onnxruntime {ort.__version__} (CPU provider): with lp-onnx's library {len(names) - len(failures)} of {len(names)} cases pass; "
          f"function bodies alone {len(names) - 1 - len(body_failures)} of {len(names) - 1}, lowered {len(names) - 1 - len(lowered_failures)} of {len(names) - 1}", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
