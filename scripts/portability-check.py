#!/usr/bin/env python3
"""One Python runtime of the portability matrix (scripts/portability.ts): stock onnxruntime (CPU
provider, no lp-onnx library) or onnx's reference evaluator runs every case's dual-path and lowered
model; one JSON line per model: ok, wrong (the worst error as a fraction of the function bodies'
tolerance, ops.md: 1e-5 + 1e-3 |ref|, or the case's own `tol`) or error. The first line names the runtime and its version.
Usage: python3 scripts/portability-check.py onnxruntime|reference CASES_DIR"""
import json
import os
import sys

import numpy as np


def body_error(got, want, tol=None):
    got = np.asarray(got)
    if got.shape != want.shape:
        return float("inf")
    nan = np.isnan(want)
    if not np.array_equal(nan, np.isnan(got)):
        return float("inf")
    err = np.abs(got[~nan].astype(np.float64) - want[~nan])
    atol, rtol = (tol["atol"], tol["rtol"]) if tol else (1e-5, 1e-3)
    return float(np.max(err / (atol + rtol * np.abs(want[~nan])))) if err.size else 0.0


def runner(kind):
    if kind == "onnxruntime":
        import onnxruntime as ort

        def run(path, feeds):
            so = ort.SessionOptions()
            so.log_severity_level = 4
            sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            return sess.run(None, feeds)[0]

        return f"Python onnxruntime {ort.__version__}", run
    if kind == "reference":
        import onnx
        from onnx.reference import ReferenceEvaluator

        def run(path, feeds):
            return ReferenceEvaluator(path).run(None, feeds)[0]

        return f"onnx {onnx.__version__} ReferenceEvaluator", run
    raise SystemExit(f"portability-check: unknown runtime '{kind}' (onnxruntime or reference)")


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.strip().splitlines()[-1])
    name, run = runner(sys.argv[1])
    cases = sys.argv[2]
    print(json.dumps({"runtime": name}), flush=True)
    for case in sorted(os.listdir(cases)):
        d = os.path.join(cases, case)
        info = json.load(open(os.path.join(d, "case.json")))
        if info["wrongBodies"]:
            continue
        x = np.load(os.path.join(d, "input.npy"))
        want = np.load(os.path.join(d, "reference.npy"))
        for f in ("model.onnx", "lowered.onnx"):
            result = {"case": case, "file": f, "status": "ok"}
            try:
                err = body_error(run(os.path.join(d, f), {info["input"]: x}), want, info.get("tol"))
                if not err <= 1:
                    result.update(status="wrong", detail="shape or NaN x the tolerance" if err == float("inf") else f"{err:.1f} x the tolerance")
            except Exception as e:  # a runtime's refusal is a result, not a crash
                line = (str(e).strip().splitlines() or [type(e).__name__])[0]
                result.update(status="error", detail=line if len(line) <= 240 else f"{line[:100]} ... {line[-130:]}")
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
