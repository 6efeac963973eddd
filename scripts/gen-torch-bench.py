#!/usr/bin/python3
"""Writes the models of `npm run bench:fusion` into a folder (not committed): plain torch.onnx
exports, at realistic sizes, of the Lp layers of fixtures/torch-plain/third_party.py, each with a
seeded input (input.npy). Needs Debian's python3-torch: /usr/bin/python3 scripts/gen-torch-bench.py DIR"""
import os
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "torch-plain"))
import third_party as T  # noqa: E402


class AdderBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1, self.bn1 = T.adder2d(cin, cout, 3, stride=stride, padding=1), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = T.adder2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout)
        self.down = nn.Sequential(T.adder2d(cin, cout, 1, stride=stride), nn.BatchNorm2d(cout)) if stride != 1 or cin != cout else None

    def forward(self, x):
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(out + (x if self.down is None else self.down(x)))


class AdderResNet20(nn.Module):
    """AdderNet's ResNet-20 for 32x32 images: 3 stages of 3 blocks, 16/32/64 channels."""

    def __init__(self):
        super().__init__()
        self.stem, self.bn = T.adder2d(3, 16, 3, padding=1), nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(3):
                blocks.append(AdderBlock(cin, cout, stride if i == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        h = self.blocks(torch.relu(self.bn(self.stem(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(h, 1), 1))


class GeMHead(nn.Module):
    """A retrieval head: per-channel GeM over ResNet stage features of a 224x224 image, then a projection."""

    def __init__(self, c=256):
        super().__init__()
        self.pool = T.GeMmp(p=3.0, mp=c)
        self.fc = nn.Linear(c, 128)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(torch.relu(x)), 1))


class LPPoolNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.LPPool2d(2, 2)

    def forward(self, x):
        return self.pool(torch.relu(x))


class LpNormMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.lp = T.LpNormLayer(1024, 512, p_init=2.5)

    def forward(self, x):
        return self.lp(x)


class L1PointLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = T.l1_conv_1D(64, 128)

    def forward(self, x):
        return self.l1(x)


MODELS = {
    "adder-resnet20 (N 8, 3x32x32)": (AdderResNet20, [8, 3, 32, 32]),
    "gem-head (N 8, 256x56x56, per-channel p)": (GeMHead, [8, 256, 56, 56]),
    "lppool2d (N 8, 64x112x112, p 2)": (LPPoolNet, [8, 64, 112, 112]),
    "lpnorm-layer (B 64, K 1024, M 512, per-unit p)": (LpNormMLP, [64, 1024]),
    "l1-point-conv (N 8, 64 -> 128, 1024 points)": (L1PointLayer, [8, 64, 1024]),
}


def main():
    out = sys.argv[1]
    for i, (name, (cls, shape)) in enumerate(MODELS.items()):
        torch.manual_seed(i)
        model = cls()
        bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        if bns:
            for m in bns:
                m.momentum = None
                m.reset_running_stats()
            with torch.no_grad():
                model.train()(torch.randn(4, *shape[1:]))
        model.eval()
        d = os.path.join(out, name.split(" ")[0])
        os.makedirs(d, exist_ok=True)
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(100 + i))
        torch.onnx.export(model, (x,), os.path.join(d, "model.onnx"), opset_version=14, input_names=["x"], output_names=["y"])
        np.save(os.path.join(d, "input.npy"), x.numpy())
        with open(os.path.join(d, "name.txt"), "w") as f:
            f.write(name)
        print("wrote", d)


if __name__ == "__main__":
    main()
