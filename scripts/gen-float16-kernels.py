"""Writes src/export/float16-kernels.json: what `lp-onnx export --float16` needs to know about the
standard ops, from onnx's schemas and onnxruntime's own kernel registrations (never by guess).

- "params": for every op of the default domain (onnx's schemas), per range of opset versions, the
  type of each formal input and output (a constraint name such as "T", or a fixed type such as
  "tensor(int64)"; the last one may be variadic). The converter infers element types from it.
- "float16": per op and range of opset versions, the type constraints for which onnxruntime's CPU
  execution provider registers a float16 kernel, in every onnxruntime given (the intersection), so
  a converted model loads on each of them.

Run with a Python that has onnx and onnxruntime:
  python scripts/gen-float16-kernels.py --dump build/ort-1.21.json       (in another onnxruntime)
  python scripts/gen-float16-kernels.py [build/ort-1.21.json ...]        (writes the table)
"""

import json
import sys

OUT = "src/export/float16-kernels.json"
MAX_VERSION = 2**31 - 1


def cpu_float16(ort):
    """{op: [(start, end, [constraints with a float16 kernel])]} for the default domain."""
    from onnxruntime.capi import _pybind_state as C

    out = {}
    for d in C.get_all_opkernel_def():
        if d.provider != "CPUExecutionProvider" or d.domain not in ("", "ai.onnx"):
            continue
        names = [k for k, types in d.type_constraints.items() if "tensor(float16)" in types]
        start, end = d.version_range
        out.setdefault(d.op_name, []).append([start, min(end, MAX_VERSION), sorted(names)])
    return {"onnxruntime": ort.__version__, "ops": out}


def constraints_at(entries, version):
    names = set()
    for start, end, constraints in entries:
        if start <= version <= end:
            names.update(constraints)
    return names


def main(args):
    import onnxruntime as ort

    if args and args[0] == "--dump":
        with open(args[1], "w") as f:
            json.dump(cpu_float16(ort), f)
        return
    import onnx
    from onnx import defs

    registrations = [cpu_float16(ort)] + [json.load(open(p)) for p in args]
    last = defs.onnx_opset_version()

    def formal(p):
        variadic = p.option == defs.OpSchema.FormalParameterOption.Variadic
        return p.type_str + ("..." if variadic else "")

    params = {}
    float16 = {}
    for name in sorted({s.name for s in defs.get_all_schemas_with_history() if s.domain == ""}):
        ranges = []
        f16 = []
        for v in range(1, last + 1):
            try:
                s = defs.get_schema(name, v, "")
            except Exception:
                continue  # not yet defined at this version
            if s.deprecated:
                continue
            sig = [[formal(p) for p in s.inputs], [formal(p) for p in s.outputs]]
            if ranges and ranges[-1][2] == sig and ranges[-1][1] == v - 1:
                ranges[-1][1] = v
            else:
                ranges.append([v, v, sig])
            # a constraint counts only where every onnxruntime given registers float16 for it
            sets = [constraints_at(r["ops"].get(name, []), v) for r in registrations]
            both = sorted(set.intersection(*sets)) if sets else []
            if f16 and f16[-1][2] == both and f16[-1][1] == v - 1:
                f16[-1][1] = v
            else:
                f16.append([v, v, both])
        params[name] = [[a, b, sig[0], sig[1]] for a, b, sig in ranges]
        kept = [r for r in f16 if r[2]]
        if kept:
            float16[name] = kept
    table = {
        "generated": "scripts/gen-float16-kernels.py",
        "onnx": onnx.__version__,
        "onnxruntime": [r["onnxruntime"] for r in registrations],
        "maxOpset": last,
        "params": params,
        "float16": float16,
    }
    with open(OUT, "w") as f:
        json.dump(table, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {len(params)} ops, {len(float16)} with float16 CPU kernels in onnxruntime {', '.join(table['onnxruntime'])}")


if __name__ == "__main__":
    main(sys.argv[1:])
