#!/usr/bin/python3
"""Trains small models of the canonical layers (python/lp_onnx_torch, the package lp-onnx ships)
for a few seeded steps on synthetic data and writes, per model, into fixtures/torch/<name>/:
  arch.json            the lp-onnx/arch@1 spec, written by lp_onnx_torch.write_arch_spec
  weights.safetensors  state_dict (float32; two BatchNorm running_var as float16 / bfloat16)
  weights.pt           torch.save(model.state_dict())
  input.npy, output.npy   a batch and PyTorch's output (eval mode)
  output-float16.npy   the output in float64 with the weights (not the exponents p) and the batch
                       rounded to float16 first: the oracle of `export --float16`
  torch.onnx           torch.onnx.export through the com.lponnx symbolics
The models are written as a user writes them (nn.Sequential, forward with residuals); the spec is
read from them, not typed. Needs Debian's python3-torch (1.13) and python3-numpy:
  /usr/bin/python3 scripts/gen-torch-fixtures.py
`npm test` checks the committed files against PyTorch's outputs without torch; with torch it also
regenerates them here and fails on a difference (test/torch-models.test.ts)."""
import copy
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import lp_onnx_torch as L  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "fixtures", "torch")


class LpNormMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.act = nn.ReLU()
        self.lp = L.LpNormLayer(32, 8, eps=1e-6, p_init=2.5)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.lp(self.act(self.fc1(x))))


class GemCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 16, 3), nn.GELU())
        self.pool = L.GeM(p=3.0, per_channel=16)
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        return self.head(F.dropout(torch.flatten(self.pool(self.features(x)), 1), 0.1, self.training))


class AdderCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            L.L1Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            L.LpPool2d(2, stride=2, learn_p=8, norm_type=2.5),
            L.L1Conv2d(8, 16, 3, stride=2, padding=1, bias=True), nn.BatchNorm2d(16), nn.ReLU(),
            L.LpPool2d(3, stride=1, padding=1, mean=True, learn_p=1, ceil_mode=True))
        self.pool = L.GeM(p=3.0)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        return self.head(self.pool(self.features(x)).flatten(1))


class PointnetL1(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = L.L1Conv1d(3, 16, 1)
        self.bn1 = nn.BatchNorm1d(16)
        self.conv2 = L.L1Conv1d(16, 32, 1, bias=True)
        self.bn2 = nn.BatchNorm1d(32)
        self.gem = L.GeM(p=2.0, per_channel=32)
        self.head = nn.Linear(32, 4)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return self.head(torch.flatten(self.gem(x), 1))


class VoxelL1(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = L.L1Conv3d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm3d(4)
        self.pool1 = L.LpPool3d(2, learn_p=1, mean=True, norm_type=3.0)
        self.conv2 = L.L1Conv3d(4, 8, 3, groups=2)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        x = self.conv2(self.pool1(F.relu(self.bn1(self.conv1(x)))))
        return self.head(torch.flatten(F.adaptive_avg_pool3d(x, 1), 1))


class PsilonMlp(nn.Module):
    """PSiLON's residual block: two l1-normalised linear layers with CReLU, a skip and a concat."""

    def __init__(self):
        super().__init__()
        self.fc1 = L.L1WeightNormLinear(10, 16)
        self.crelu = L.CReLU()
        self.fc2 = L.L1WeightNormLinear(32, 16)
        self.head = L.L1WeightNormLinear(48, 3, bias=False)

    def forward(self, x):
        h1 = self.fc1(x)
        c2 = self.crelu(h1 + self.fc2(self.crelu(h1)))
        return F.softmax(self.head(torch.cat([c2, h1], dim=1)), dim=-1)


# name: (model class, input shape without the batch, classes, whether the output is probabilities)
MODELS = {
    "lpnorm-mlp": (LpNormMlp, [16], 3, False),
    "gem-cnn": (GemCnn, [3, 16, 16], 4, False),
    "adder-cnn": (AdderCnn, [3, 16, 16], 5, False),
    "pointnet-l1": (PointnetL1, [3, 64], 4, False),
    "voxel-l1": (VoxelL1, [1, 8, 8, 8], 2, False),
    "psilon-mlp": (PsilonMlp, [10], 3, True),
}


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
    for name, (make, shape, classes, probs) in MODELS.items():
        torch.manual_seed(0)
        net = make()
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        g = torch.Generator().manual_seed(1)
        net.train()
        for _ in range(8):
            x = torch.randn(16, *shape, generator=g)
            y = torch.randint(0, classes, (16,), generator=g)
            out = net(x)
            loss = F.nll_loss(torch.log(out + 1e-9), y) if probs else F.cross_entropy(out, y)
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
        # the oracle of `export --float16`: weights and batch rounded to float16 (the exponents p stay
        # as they are, as export keeps them float), computed in float64
        net16 = copy.deepcopy(net).double()
        with torch.no_grad():
            for k, t in [*net16.named_parameters(), *net16.named_buffers()]:
                if k.split(".")[-1] not in ("p", "_p", "_fixed_p") and t.is_floating_point():
                    t.data = t.data.half().double()
            y16 = net16(x.half().double())
        np.save(os.path.join(d, "input.npy"), x.numpy())
        np.save(os.path.join(d, "output.npy"), y.numpy())
        np.save(os.path.join(d, "output-float16.npy"), y16.numpy().astype(np.float64))
        torch.save(sd, os.path.join(d, "weights.pt"))
        st = {k: (v.to(low[k]) if k in low else v) for k, v in sd.items()}
        save_safetensors(os.path.join(d, "weights.safetensors"), st)
        L.write_arch_spec(net, os.path.join(d, "arch.json"), {"x": ["N", *shape]}, name=name)
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
