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
