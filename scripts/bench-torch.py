#!/usr/bin/env python3
"""The PyTorch peer of one `npm run bench` case: eager and `torch.compile` (Inductor), 2 threads,
each the fastest of the plain-PyTorch forms of the layer. Run with current PyTorch (2.13 from the
wheels on disk, in the venv npm run bench makes: build/venv-torch).

Usage: bench-torch.py '<TorchForm JSON>' ROUNDS
Prints one JSON line: {"torch": version, "eager": RESULT, "compiled": RESULT}, a RESULT being
{"form": its name, "ms": median, "lo": 10th percentile, "hi": 90th percentile, "forms": {name: ms}}
or {"error": why}.
Forms: LpNorm: the seed's LpNormLayer (x.pow(p) broadcast against the weights), and for a shared p
pow + matmul; LpPool: avg_pool2d of powers; GeM: mean of clamped powers; L1Conv: unfold +
torch.cdist(p=1), and the broadcast |X_col - W| sum where it fits in 2 GiB.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F


def lpnorm(c):
    w = torch.rand(c["M"], c["K"]) * 0.5 + 0.5
    p = torch.full((c["M"],), float(c["p"])) if "p" in c else torch.rand(c["M"]) * 5 + 1
    x = torch.rand(c["B"], c["K"]) * 2 - 1

    def seed_layer():
        a = torch.clamp(torch.abs(x), min=1e-6).unsqueeze(1)
        s = torch.sum(a.pow(p.view(1, -1, 1)) * w.unsqueeze(0), dim=-1)
        return s.pow(1.0 / p.unsqueeze(0))

    forms = {"seed layer (broadcast)": seed_layer}
    if "p" in c:
        q = float(c["p"])
        wt = w.t().contiguous()

        def pow_matmul():
            return torch.matmul(torch.clamp(torch.abs(x), min=1e-6).pow(q), wt).pow(1.0 / q)

        forms["pow + matmul"] = pow_matmul
    return forms


def lppool(c):
    p = (torch.rand(c["C"]) * 5 + 1).view(1, -1, 1, 1)
    x = torch.rand(c["N"], c["C"], c["H"], c["H"]) * 2 - 1
    k, s = c["k"], c["s"]
    scale = 1.0 if c["mean"] else float(k * k)

    def run():
        return (F.avg_pool2d(torch.abs(x).pow(p), k, s) * scale).pow(1.0 / p)

    return {"avg_pool2d of powers": run}


def gem(c):
    x = torch.rand(c["N"], c["C"], c["H"], c["H"]) * 2 - 1
    p = float(c["p"])

    def run():
        return x.clamp(min=c["eps"]).pow(p).mean(dim=(2, 3), keepdim=True).pow(1.0 / p)

    return {"mean of clamped powers": run}


def l1conv(c):
    n, ci, co, k, pad, sp = c["N"], c["Cin"], c["Cout"], c["k"], c["pad"], c["spatial"]
    x = torch.rand(n, ci, *sp) * 2 - 1
    w = (torch.rand(co, ci * k ** len(sp)) * 2 - 1).unsqueeze(0)

    def patches():
        if len(sp) == 2:
            return F.unfold(x, k, padding=pad).transpose(1, 2)  # [N, L, C k^2]
        xp = F.pad(x, [pad] * (2 * len(sp)))
        for d in range(len(sp)):
            xp = xp.unfold(2 + d, k, 1)
        # [N, C, O1.., k..] -> [N, O1 O2.., C k..]
        dims = len(sp)
        perm = [0] + list(range(2, 2 + dims)) + [1] + list(range(2 + dims, 2 + 2 * dims))
        xp = xp.permute(*perm)
        return xp.reshape(n, -1, ci * k ** dims)

    def cdist():
        return -torch.cdist(patches(), w.expand(n, -1, -1), p=1)

    forms = {"unfold + cdist": cdist}
    positions = 1
    for d in sp:
        positions *= d + 2 * pad - k + 1
    if n * positions * co * ci * k ** len(sp) * 4 <= 2 << 30:

        def broadcast():
            return -(patches().unsqueeze(2) - w.unsqueeze(0)).abs().sum(-1)

        forms["broadcast |X_col - W|"] = broadcast
    return forms


FORMS = {"lpnorm": lpnorm, "lppool": lppool, "gem": gem, "l1conv": l1conv}


def timed(run, rounds):
    run()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    return {"ms": pick(0.5), "lo": pick(0.1), "hi": pick(0.9)}


def fastest(forms, rounds, compiled):
    results, errors = {}, {}
    for name, fn in forms.items():
        try:
            run = torch.compile(fn) if compiled else fn
            run()  # compiles
            results[name] = timed(run, rounds)
        except Exception as e:  # noqa: BLE001 (a form that does not compile is reported, not fatal)
            errors[name] = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
    if not results:
        return {"error": "; ".join(f"{k}: {v}" for k, v in errors.items())}
    best = min(results, key=lambda k: results[k]["ms"])
    return {"form": best, **results[best], "forms": {k: v["ms"] for k, v in results.items()}}


def main():
    case = json.loads(sys.argv[1])
    rounds = int(sys.argv[2])
    torch.set_num_threads(2)
    torch.manual_seed(1)
    forms = FORMS[case["form"]](case)
    with torch.no_grad():
        eager = fastest(forms, rounds, False)
        compiled = fastest(forms, rounds, True)
    print(json.dumps({"torch": torch.__version__, "eager": eager, "compiled": compiled}))


if __name__ == "__main__":
    main()
