#!/usr/bin/python3
"""The PyTorch eager peer of one `npm run bench` case (Debian's python3-torch, 2 threads).

Usage: bench-torch.py '<TorchForm JSON>' ROUNDS
Prints one JSON line: {"ms": median, "lo": 10th percentile, "hi": 90th percentile, "torch": version}.
Forms: the seed's LpNormLayer (x.pow(p) broadcast against the weights) for LpNorm, avg_pool2d of
powers for LpPool, mean of clamped powers for GeM, unfold + torch.cdist(p=1) for L1Conv.
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

    def run():
        a = torch.clamp(torch.abs(x), min=1e-6).unsqueeze(1)
        s = torch.sum(a.pow(p.view(1, -1, 1)) * w.unsqueeze(0), dim=-1)
        return s.pow(1.0 / p.unsqueeze(0))

    return run


def lppool(c):
    p = (torch.rand(c["C"]) * 5 + 1).view(1, -1, 1, 1)
    x = torch.rand(c["N"], c["C"], c["H"], c["H"]) * 2 - 1
    k, s = c["k"], c["s"]
    scale = 1.0 if c["mean"] else float(k * k)

    def run():
        return (F.avg_pool2d(torch.abs(x).pow(p), k, s) * scale).pow(1.0 / p)

    return run


def gem(c):
    x = torch.rand(c["N"], c["C"], c["H"], c["H"]) * 2 - 1
    p = float(c["p"])

    def run():
        return x.clamp(min=c["eps"]).pow(p).mean(dim=(2, 3), keepdim=True).pow(1.0 / p)

    return run


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

    def run():
        return -torch.cdist(patches(), w.expand(n, -1, -1), p=1)

    return run


FORMS = {"lpnorm": lpnorm, "lppool": lppool, "gem": gem, "l1conv": l1conv}


def main():
    case = json.loads(sys.argv[1])
    rounds = int(sys.argv[2])
    torch.set_num_threads(2)
    torch.manual_seed(1)
    run = FORMS[case["form"]](case)
    with torch.no_grad():
        run()
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            run()
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print(json.dumps({"ms": pick(0.5), "lo": pick(0.1), "hi": pick(0.9), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
