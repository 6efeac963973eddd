#!/usr/bin/python3
"""Writes fixtures/onnx/: models made by PyTorch's torch.onnx.export and by the onnx package
(external data), used to check that lp-onnx's decode/encode keeps everything.
Needs Debian's python3-torch and python3-onnx: /usr/bin/python3 scripts/gen-torch-onnx.py"""
import os
import sys

import onnx
import torch

out = sys.argv[1] if len(sys.argv) > 1 else "fixtures/onnx"
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.pool = torch.nn.MaxPool2d(2, ceil_mode=True)
        self.fc = torch.nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        h = self.pool(torch.relu(self.bn(self.conv(x))))
        h = h[:, :, :4, :4]  # a Slice whose end PyTorch writes as INT64_MAX-style bounds
        return torch.softmax(self.fc(torch.flatten(h, 1)), dim=-1)


net = Net().eval()
x = torch.randn(2, 3, 8, 8)
path = os.path.join(out, "torch-cnn.onnx")
torch.onnx.export(net, (x,), path, opset_version=17, input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})

model = onnx.load(path)
ext = os.path.join(out, "torch-cnn-external.onnx")
onnx.save_model(model, ext, save_as_external_data=True, all_tensors_to_one_file=True,
                location="torch-cnn-external.onnx.data", size_threshold=256)
print("wrote", path, ext)


# --- a model with a com.lponnx node written by torch.onnx.export through a custom symbolic ---

class LpNormFn(torch.autograd.Function):
    """ops.md LpNorm with input P, eps and sum_eps, as the seed's LpNormLayer computes it."""

    @staticmethod
    def forward(ctx, x, w, p, eps, sum_eps):
        a = torch.clamp(torch.abs(x), min=eps).unsqueeze(-2)
        s = torch.sum(w * a.pow(p.view(-1, 1)), dim=-1)
        return (s + sum_eps).pow(1.0 / p)

    @staticmethod
    def symbolic(g, x, w, p, eps, sum_eps):
        return g.op("com.lponnx::LpNorm", x, w, p, eps_f=eps, sum_eps_f=sum_eps)


class LpNormLayer(torch.nn.Module):
    """The survey's appendix layer: W = abs(_w), p = softplus(_p) + 1."""

    def __init__(self, in_dim, out_dim, eps=1e-6, p_init=2.0):
        super().__init__()
        self.eps = eps
        self._w = torch.nn.Parameter(torch.rand(out_dim, in_dim) * 0.5 + 0.5)
        self._p = torch.nn.Parameter(torch.full((out_dim,), p_init - 1.0) + torch.randn(out_dim))

    def forward(self, x):
        w = torch.abs(self._w)
        p = torch.nn.functional.softplus(self._p) + 1.0
        return LpNormFn.apply(x, w, p, self.eps, self.eps)


class LpMlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(12, 16)
        self.lp = LpNormLayer(16, 6)

    def forward(self, x):
        return self.lp(self.fc(x))


import numpy as np  # noqa: E402

mlp = LpMlp().eval()
xi = torch.randn(5, 12)
with torch.no_grad():
    yo = mlp(xi)
lp_path = os.path.join(out, "torch-lpnorm.onnx")
torch.onnx.export(mlp, (xi,), lp_path, opset_version=17, input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, custom_opsets={"com.lponnx": 1})
np.save(os.path.join(out, "torch-lpnorm.x.npy"), xi.numpy())
np.save(os.path.join(out, "torch-lpnorm.y.npy"), yo.numpy())
print("wrote", lp_path)
