#!/usr/bin/python3
"""Trains small models with the canonical layers (fixtures/torch/lp_layers.py) for a few seeded
steps on synthetic data and writes, per model, into fixtures/torch/<name>/:
  arch.json            the lp-onnx/arch@1 spec
  weights.safetensors  state_dict (float32; two BatchNorm running_var as float16 / bfloat16)
  weights.pt           torch.save(model.state_dict())
  input.npy, output.npy   a batch and PyTorch's output (eval mode)
  torch.onnx           torch.onnx.export through the com.lponnx symbolics
Needs Debian's python3-torch (1.13) and python3-numpy:  /usr/bin/python3 scripts/gen-torch-fixtures.py
`npm test` checks the committed files against PyTorch's outputs without torch; with torch
installed, `npm run fixtures:torch:check` regenerates them and fails on a difference."""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "torch"))
import lp_layers as L  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "fixtures", "torch")


class Identity(nn.Module):
    def forward(self, x):
        return x


def act(kind, **kw):
    return {"type": kind, **kw}, None


# Each model: input shape (batch first), classes, and a list of (spec layer, torch module or None).
def models():
    return {
        "lpnorm-mlp": ([16], 3, [
            ({"type": "Linear", "params": "fc1"}, nn.Linear(16, 32)),
            act("ReLU"),
            ({"type": "LpNormLayer", "params": "lp", "eps": 1e-6}, L.LpNormLayer(32, 8, eps=1e-6, p_init=2.5)),
            ({"type": "Linear", "params": "head"}, nn.Linear(8, 3)),
        ]),
        "gem-cnn": ([3, 16, 16], 4, [
            ({"type": "Conv2d", "params": "features.0", "padding": 1}, nn.Conv2d(3, 8, 3, padding=1)),
            ({"type": "BatchNorm2d", "params": "features.1"}, nn.BatchNorm2d(8)),
            act("ReLU"),
            ({"type": "MaxPool2d", "kernel_size": 2}, None),
            ({"type": "Conv2d", "params": "features.4", "stride": 1}, nn.Conv2d(8, 16, 3)),
            act("GELU"),
            ({"type": "GeM", "params": "pool", "per_channel": 16}, L.GeM(p=3.0, per_channel=16)),
            act("Flatten"),
            ({"type": "Dropout", "p": 0.1}, None),
            ({"type": "Linear", "params": "head"}, nn.Linear(16, 4)),
        ]),
        "adder-cnn": ([3, 16, 16], 5, [
            ({"type": "L1Conv2d", "params": "features.0", "stride": 1, "padding": 1}, L.L1Conv2d(3, 8, 3, padding=1)),
            ({"type": "BatchNorm2d", "params": "features.1"}, nn.BatchNorm2d(8)),
            ({"type": "ReLU", "name": "act1"}, None),
            ({"type": "LpPool2d", "params": "features.3", "kernel_size": 2, "stride": 2, "learn_p": 8},
             L.LpPool2d(2, stride=2, learn_p=8, norm_type=2.5)),
            ({"type": "L1Conv2d", "params": "features.4", "stride": 2, "padding": 1, "bias": True},
             L.L1Conv2d(8, 16, 3, stride=2, padding=1, bias=True)),
            ({"type": "BatchNorm2d", "params": "features.5"}, nn.BatchNorm2d(16)),
            act("ReLU"),
            ({"type": "LpPool2d", "params": "features.7", "kernel_size": 3, "stride": 1, "padding": 1,
              "mean": True, "learn_p": 1, "ceil_mode": True}, L.LpPool2d(3, stride=1, padding=1, mean=True, learn_p=1, ceil_mode=True)),
            ({"type": "GeM", "params": "pool"}, L.GeM(p=3.0)),
            act("Flatten"),
            ({"type": "Linear", "params": "head"}, nn.Linear(16, 5)),
        ]),
        "pointnet-l1": ([3, 64], 4, [
            ({"type": "L1Conv1d", "params": "conv1"}, L.L1Conv1d(3, 16, 1)),
            ({"type": "BatchNorm1d", "params": "bn1"}, nn.BatchNorm1d(16)),
            act("ReLU"),
            ({"type": "L1Conv1d", "params": "conv2", "bias": True}, L.L1Conv1d(16, 32, 1, bias=True)),
            ({"type": "BatchNorm1d", "params": "bn2"}, nn.BatchNorm1d(32)),
            act("ReLU"),
            ({"type": "GeM", "params": "gem", "per_channel": 32}, L.GeM(p=2.0, per_channel=32)),
            act("Flatten"),
            ({"type": "Linear", "params": "head"}, nn.Linear(32, 4)),
        ]),
        "voxel-l1": ([1, 8, 8, 8], 2, [
            ({"type": "L1Conv3d", "params": "conv1", "padding": 1}, L.L1Conv3d(1, 4, 3, padding=1)),
            ({"type": "BatchNorm3d", "params": "bn1"}, nn.BatchNorm3d(4)),
            act("ReLU"),
            ({"type": "LpPool3d", "params": "pool1", "kernel_size": 2, "learn_p": 1, "mean": True},
             L.LpPool3d(2, learn_p=1, mean=True, norm_type=3.0)),
            ({"type": "L1Conv3d", "params": "conv2", "groups": 2}, L.L1Conv3d(4, 8, 3, groups=2)),
            ({"type": "AdaptiveAvgPool3d", "output_size": 1}, None),
            act("Flatten"),
            ({"type": "Linear", "params": "head"}, nn.Linear(8, 2)),
        ]),
        "psilon-mlp": ([10], 3, [
            ({"type": "L1WeightNormLinear", "params": "fc1", "name": "h1"}, L.L1WeightNormLinear(10, 16)),
            act("CReLU"),
            ({"type": "L1WeightNormLinear", "params": "fc2"}, L.L1WeightNormLinear(32, 16)),
            ({"type": "Add", "inputs": ["h1", "fc2"], "name": "res"}, None),
            act("CReLU", name="c2"),
            ({"type": "Concat", "inputs": ["c2", "h1"], "dim": 1, "name": "cat"}, None),
            ({"type": "L1WeightNormLinear", "params": "head", "bias": False}, L.L1WeightNormLinear(48, 3, bias=False)),
            ({"type": "Softmax", "dim": -1}, None),
        ]),
    }


class SpecNet(nn.Module):
    """Runs the layers as the arch spec says (names, inputs, residuals) with real torch modules."""

    def __init__(self, layers):
        super().__init__()
        self.spec = [s for s, _ in layers]
        self.mods = {}
        for i, (s, m) in enumerate(layers):
            if m is None:
                continue
            parent = self
            parts = s["params"].split(".")
            for p in parts[:-1]:
                if not hasattr(parent, p):
                    parent.add_module(p, nn.Module())
                parent = getattr(parent, p)
            parent.add_module(parts[-1], m)
            self.mods[i] = m

    def forward(self, x):
        named = {"x": x}
        prev = x
        for i, s in enumerate(self.spec):
            ins = [named[n] for n in s["inputs"]] if "inputs" in s else [prev]
            t = s["type"]
            if i in self.mods:
                y = self.mods[i](ins[0])
            elif t == "ReLU":
                y = F.relu(ins[0])
            elif t == "GELU":
                y = F.gelu(ins[0])
            elif t == "CReLU":
                y = L.CReLU()(ins[0])
            elif t == "Flatten":
                y = torch.flatten(ins[0], 1)
            elif t == "Dropout":
                y = F.dropout(ins[0], s.get("p", 0.5), self.training)
            elif t == "MaxPool2d":
                y = F.max_pool2d(ins[0], s["kernel_size"])
            elif t == "AdaptiveAvgPool3d":
                y = F.adaptive_avg_pool3d(ins[0], 1)
            elif t == "Add":
                y = ins[0] + ins[1]
            elif t == "Concat":
                y = torch.cat(ins, dim=s.get("dim", 1))
            elif t == "Softmax":
                y = F.softmax(ins[0], dim=s.get("dim", -1))
            else:
                raise ValueError(t)
            name = s.get("name") or s.get("params") or str(i)
            named[name] = y
            prev = y
        return prev


DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64", torch.int64: "I64"}


def save_safetensors(path, tensors):
    """The safetensors layout: u64 little-endian header size, JSON header, raw little-endian data."""
    header, blobs, offset = {}, [], 0
    for k, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[k] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    torch.manual_seed(0)  # the modules are initialised when models() builds them
    for name, (shape, classes, layers) in models().items():
        torch.manual_seed(0)
        net = SpecNet(layers)
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        g = torch.Generator().manual_seed(1)
        net.train()
        for _ in range(8):
            x = torch.randn(16, *shape, generator=g)
            y = torch.randint(0, classes, (16,), generator=g)
            out = net(x)
            loss = F.nll_loss(torch.log(out + 1e-9), y) if net.spec[-1]["type"] == "Softmax" else F.cross_entropy(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        # Two tensors are stored as float16 / bfloat16 in the safetensors file (the exporter widens
        # them): round them in the model first, so PyTorch's outputs use exactly those values.
        sd = net.state_dict()
        low = dict(zip([k for k in sd if k.endswith("running_var")], [torch.float16, torch.bfloat16]))
        with torch.no_grad():
            for k, dt in low.items():
                sd[k].copy_(sd[k].to(dt).to(torch.float32))
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        x = torch.randn(4, *shape, generator=g)
        with torch.no_grad():
            y = net(x)
        np.save(os.path.join(d, "input.npy"), x.numpy())
        np.save(os.path.join(d, "output.npy"), y.numpy())
        torch.save(sd, os.path.join(d, "weights.pt"))
        st = {k: (v.to(low[k]) if k in low else v) for k, v in sd.items()}
        save_safetensors(os.path.join(d, "weights.safetensors"), st)
        spec = {"format": "lp-onnx/arch@1", "name": name,
                "inputs": [{"name": "x", "shape": ["N", *shape], "dtype": "float32"}],
                "layers": net.spec}
        with open(os.path.join(d, "arch.json"), "w") as f:
            json.dump(spec, f, indent=1)
            f.write("\n")
        torch.onnx.export(net, (x,), os.path.join(d, "torch.onnx"), opset_version=17, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}},
                          custom_opsets={"com.lponnx": 1})
        print("wrote", d)


class Evil:
    """Unpickling this would run a shell command: the .pt reader must refuse it, never run it."""

    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def bad_files():
    d = os.path.join(OUT, "bad")
    os.makedirs(d, exist_ok=True)
    torch.save({"w": torch.zeros(2), "payload": Evil()}, os.path.join(d, "evil.pt"))
    torch.save({"w": torch.zeros(2)}, os.path.join(d, "legacy.pt"), _use_new_zipfile_serialization=False)
    torch.save(nn.Linear(2, 2), os.path.join(d, "whole-model.pt"))
    print("wrote", d)


if __name__ == "__main__":
    main()
    bad_files()
