#!/usr/bin/python3
"""Writes fixtures/torch-plain/<name>/: plain torch.onnx.export models (standard ops only) of Lp
layers written the way public code writes them (fixtures/torch-plain/third_party.py), for the fusion
of `lp-onnx export`; and near misses that must be left alone. Per model:
  model.onnx    torch.onnx.export (opset 14, dynamic batch axis)
  input.npy     a seeded batch (float32)
  output.npy    PyTorch's output in float64 (the model and the batch in double precision)
  output-float16.npy  the same with the weights (not the exponents p) and the batch rounded to
                float16 first: what `export --float16`'s model computes but for its float16 activations
Needs Debian's python3-torch (1.13) and python3-numpy: /usr/bin/python3 scripts/gen-torch-plain.py
`npm test` checks the committed files without torch; with torch it regenerates them and compares."""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # nothing written beside the fixtures
sys.path.insert(0, os.path.join(HERE, "..", "fixtures", "torch-plain"))
import third_party as T  # noqa: E402

OUT = sys.argv[1] if __name__ == "__main__" and len(sys.argv) > 1 else os.path.join(HERE, "..", "fixtures", "torch-plain")


def set_p(module, values):
    with torch.no_grad():
        module.p.copy_(torch.tensor(values, dtype=torch.float32))


class Block(nn.Module):
    """A ResNet basic block."""

    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))


class GeMResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.block = Block(8)
        self.pool = T.GeM(p=3.0)
        set_p(self.pool, [2.6])
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.block(self.stem(x))), 1))


class GeMPerChannel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.pool = T.GeMmp(mp=8)
        set_p(self.pool, [1.5 + 0.35 * i for i in range(8)])
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


class ReIdHead(nn.Module):
    """A re-ID head: global GeM, two horizontal parts (adaptive pool to (2, 1)), and a mean-GeM."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.global_pool = T.GeneralizedMeanPoolingP(norm=3.0)
        self.part_pool = T.GeneralizedMeanPoolingP(norm=4.0, output_size=(2, 1))
        self.mean_pool = T.MeanGeM(p=2.2, keepdim=False)
        self.fc = nn.Linear(8 * 4, 6)

    def forward(self, x):
        f = self.backbone(x)
        parts = [torch.flatten(self.global_pool(f), 1), torch.flatten(self.part_pool(f), 1), self.mean_pool(f)]
        return self.fc(torch.cat(parts, 1))


class LocalGeMNet(nn.Module):
    """Local GeM (k3 s2 pad 1, count_include_pad=False) and a mean-GeM that keeps its dims."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.local = T.LocalGeM(kernel_size=3, stride=2, padding=1, p=2.5)
        self.mean_pool = T.MeanGeM(p=3.5, keepdim=True)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        h = self.local(torch.relu(self.conv(x)))
        return self.fc(torch.flatten(self.mean_pool(h), 1))


class LPPoolCNN(nn.Module):
    def __init__(self):
        super().__init__()
        # (8 channels: onnxruntime 1.30's WebGPU Conv miscomputes 6 -> 8 channels 3x3 on lavapipe)
        self.conv1, self.pool1 = nn.Conv2d(3, 8, 3, padding=1), nn.LPPool2d(2, 2)
        self.conv2, self.pool2 = nn.Conv2d(8, 8, 3, padding=1), nn.LPPool2d(3, 2, stride=2)
        self.fc = nn.Linear(8 * 4 * 4, 4)

    def forward(self, x):
        h = self.pool1(torch.relu(self.conv1(x)))
        h = self.pool2(torch.relu(self.conv2(h)))  # odd p after a ReLU: the input is >= 0
        return self.fc(torch.flatten(h, 1))


class LPPool1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.pool = nn.Conv1d(4, 6, 3), nn.LPPool1d(4, 3, stride=2)  # even p on a signed input
        self.fc = nn.Linear(6 * 9, 3)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.conv(x)), 1))


class LpNormMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 16)
        self.lp1 = T.LpNormLayer(16, 12, eps=1e-6, p_init=2.5)
        with torch.no_grad():
            self.lp1._p.copy_(torch.linspace(0.2, 2.5, 12))
        self.lp2 = T.SharedPNorm(12, 6, p=3.0)
        self.fc2 = nn.Linear(6, 3)

    def forward(self, x):
        return self.fc2(self.lp2(self.lp1(self.fc1(x))))


class VoxelGeM(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(1, 4, 3, padding=1)
        self.pool = T.GeM3d(p=3.0)
        set_p(self.pool, [2.4])
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


class PointGeM(nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = nn.Sequential(nn.Conv1d(3, 8, 1), nn.ReLU(), nn.Conv1d(8, 16, 1))
        self.pool = T.GeM1d(p=3.0)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.mlp(x)), 1))


class AdderBlock(nn.Module):
    """AdderNet's ResNet basic block: adder2d, BatchNorm, ReLU; a strided shortcut of adder2d 1x1."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1, self.bn1 = T.adder2d(cin, cout, 3, stride=stride, padding=1), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = T.adder2d(cout, cout, 3, stride=1, padding=1), nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(T.adder2d(cin, cout, 1, stride=stride), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + (x if self.down is None else self.down(x)))


class AdderResNet(nn.Module):
    """A small AdderNet ResNet: an adder stem with bias, two blocks (one strided), GeM, linear."""

    def __init__(self):
        super().__init__()
        self.stem, self.bn = T.adder2d(3, 8, 3, padding=1, bias=True), nn.BatchNorm2d(8)
        self.layer1, self.layer2 = AdderBlock(8, 8, 1), AdderBlock(8, 16, 2)
        self.pool = T.GeM(p=3.0)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        h = torch.relu(self.bn(self.stem(x)))
        return self.fc(torch.flatten(self.pool(self.layer2(self.layer1(h))), 1))


class L1PointNet(nn.Module):
    """A point net of l1 point convolutions with GeM over the points."""

    def __init__(self):
        super().__init__()
        self.l1, self.bn1 = T.l1_conv_1D(3, 16), nn.BatchNorm1d(16)
        self.l2, self.bn2 = T.l1_conv_1D(16, 32), nn.BatchNorm1d(32)
        self.pool = T.GeM1d(p=3.0)
        self.fc = nn.Linear(32, 4)

    def forward(self, x):
        h = torch.relu(self.bn1(self.l1(x)))
        h = torch.relu(self.bn2(self.l2(h)))
        return self.fc(torch.flatten(self.pool(h), 1))


class TwinAdder(nn.Module):
    """Two adder layers of the same geometry on one input, sharing one im2col (a subexpression of both)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.randn(6, 4, 3, 3))
        self.b = nn.Parameter(torch.randn(5, 4, 3, 3))

    def forward(self, x):
        cols, h, w = T.adder_im2col(x, 3, padding=1)
        return torch.cat([T.adder_apply(self.a, cols, x.size(0), h, w), T.adder_apply(self.b, cols, x.size(0), h, w)], 1)


# --- near misses: the shape of a layer, not the layer ---

class NearAdderPositive(nn.Module):
    """The l1 distance without the negation: not B - sum |x - w|."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 3, 1))

    def forward(self, x):
        cols = F.unfold(x.unsqueeze(1), (int(x.size(1)), 1))
        cols = cols.permute(1, 2, 0).contiguous().view(cols.size(1), -1)
        out = (self.w.view(4, -1).unsqueeze(2) - cols.unsqueeze(0)).abs().sum(1)
        return out.view(4, int(x.size(2)), -1).permute(2, 0, 1)


class NearGeMRoot(nn.Module):
    """The root is 1 / (p + 0.5), not 1 / p."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.p = nn.Parameter(torch.ones(1) * 3)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        y = F.avg_pool2d(h.clamp(min=1e-6).pow(self.p), (int(h.size(-2)), int(h.size(-1)))).pow(1.0 / (self.p + 0.5))
        return torch.flatten(y, 1)


class NearLPPoolOdd(nn.Module):
    """nn.LPPool2d with p = 3 on a signed input: torch computes x^3, not |x|^3."""

    def __init__(self):
        super().__init__()
        self.conv, self.pool = nn.Conv2d(3, 4, 3, padding=1), nn.LPPool2d(3, 2)

    def forward(self, x):
        return torch.flatten(self.pool(self.conv(x)), 1)


class NearLPPoolCeil(nn.Module):
    """ceil_mode with a partial border window: torch scales it by the full kernel size."""

    def __init__(self):
        super().__init__()
        self.conv, self.pool = nn.Conv2d(3, 4, 3, padding=1), nn.LPPool2d(2, 3, stride=2, ceil_mode=True)

    def forward(self, x):
        return torch.flatten(self.pool(torch.relu(self.conv(x))), 1)


class PlainCNN(nn.Module):
    """Nothing to fuse."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.fc = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(4, 2)

    def forward(self, x):
        h = torch.relu(self.bn(self.conv(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1)).pow(2)


MODELS = {
    "gem-resnet": (GeMResNet, [2, 3, 16, 16], False),
    "gem-per-channel": (GeMPerChannel, [2, 3, 10, 9], False),
    "reid-head": (ReIdHead, [2, 3, 12, 8], False),
    "lppool-cnn": (LPPoolCNN, [2, 3, 16, 16], False),
    "gem-local": (LocalGeMNet, [2, 3, 11, 10], False),
    "lppool-1d": (LPPool1dNet, [2, 4, 21], True),
    "lpnorm-mlp": (LpNormMLP, [3, 10], True),
    "voxel-gem": (VoxelGeM, [2, 1, 6, 6, 6], False),
    "point-gem": (PointGeM, [2, 3, 32], True),
    "adder-resnet": (AdderResNet, [2, 3, 12, 12], True),
    "l1-point-net": (L1PointNet, [2, 3, 40], True),
    "twin-adder": (TwinAdder, [2, 4, 7, 7], True),
    "near-gem-root": (NearGeMRoot, [2, 3, 8, 8], False),
    "near-adder-positive": (NearAdderPositive, [2, 3, 10], True),
    "near-lppool-odd": (NearLPPoolOdd, [2, 3, 8, 8], True),
    "near-lppool-ceil": (NearLPPoolCeil, [2, 3, 8, 8], False),
    "plain-cnn": (PlainCNN, [2, 3, 8, 8], False),
}


def build(name):
    """The model of MODELS[name] in eval mode, its BatchNorm statistics set, and its seeded batch."""
    cls, shape, signed = MODELS[name]
    i = sum(map(ord, name))  # a seed per model, not per position in the table
    torch.manual_seed(100 + i)
    model = cls()
    # BatchNorm statistics of a calibration batch (adder outputs are far from 0: BN recentres them)
    bns = [m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    for m in bns:
        m.momentum = None
        m.reset_running_stats()
    if bns:
        with torch.no_grad():
            model.train()(torch.randn(8, *shape[1:], generator=torch.Generator().manual_seed(2000 + i)))
    model.eval()
    gen = torch.Generator().manual_seed(1000 + i)
    x = torch.randn(*shape, generator=gen) if signed else torch.rand(*shape, generator=gen) * 2 - 0.5
    return model, x


def main():
    for name in MODELS:
        model, x = build(name)
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        torch.onnx.export(model, (x,), os.path.join(d, "model.onnx"), opset_version=14, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
        with torch.no_grad():
            y = model.double()(x.double())
            # the oracle of `export --float16`: weights and input rounded to float16 (the exponents p
            # stay as they are, as export keeps them float), computed in float64
            for name_, t in [*model.named_parameters(), *model.named_buffers()]:
                if name_.split(".")[-1] not in ("p", "_p") and t.is_floating_point():
                    t.data = t.data.half().double()
            y16 = model(x.half().double())
        np.save(os.path.join(d, "input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(d, "output.npy"), y.numpy().astype(np.float64))
        np.save(os.path.join(d, "output-float16.npy"), y16.numpy().astype(np.float64))
        print("wrote", d)


if __name__ == "__main__":
    main()
