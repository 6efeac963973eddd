"""Writes fixtures/torch-half/<model>.<exporter>/: float16 plain exports (`model.half()`) of some of
gen-torch-plain.py's third-party layers, for the fusion of float16 models by `lp-onnx export`:
  model.onnx   torch.onnx.export of model.half() with a float16 batch (dynamic batch axis)
  input.npy    the batch, float16
  output.npy   PyTorch's output in float64 on the float16 model's values (model.half().double())
Exporters: "dynamo" and "torchscript" of the torch this runs with (2.13 from the wheels on disk,
in a venv: bash scripts/python-venv.sh build/venv-torch torch onnx onnxscript numpy), and
"torch113", the TorchScript exporter of Debian's python3-torch 1.13 (/usr/bin/python3).
Usage: build/venv-torch/bin/python scripts/gen-torch-half.py      (dynamo, torchscript)
       /usr/bin/python3 scripts/gen-torch-half.py                  (torch113)"""
import importlib.util
import os
import sys
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
spec = importlib.util.spec_from_file_location("gen_torch_plain", os.path.join(HERE, "gen-torch-plain.py"))
P = importlib.util.module_from_spec(spec)
spec.loader.exec_module(P)

OUT = os.path.join(HERE, "..", "fixtures", "torch-half")
# the layers whose float16 forms the exporters write differently (upcasts, float16 constants)
NAMES = ["gem-resnet", "gem-per-channel", "lppool-cnn", "lpnorm-mlp", "adder-resnet", "l1-point-net"]


def exporters():
    if torch.__version__.startswith("1."):
        return {"torch113": {}}
    return {"dynamo": {"dynamo": True}, "torchscript": {"dynamo": False}}


def main():
    warnings.filterwarnings("ignore")
    for name in NAMES:
        for exporter, kw in exporters().items():
            model, x = P.build(name)
            half, xh = model.half(), x.half()
            d = os.path.join(OUT, f"{name}.{exporter}")
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, "model.onnx")
            try:
                with torch.no_grad():
                    half(xh)
            except RuntimeError as e:  # torch 1.13 has no float16 convolution on the CPU, and tracing runs the model
                print(f"skipped {name}.{exporter}: {e}")
                os.rmdir(d)
                continue
            if kw.get("dynamo"):
                batch = torch.export.Dim("N", min=2)
                torch.onnx.export(half, (xh,), path, input_names=["x"], output_names=["y"], dynamic_shapes=({0: batch},),
                                  external_data=False, **kw)
            else:
                torch.onnx.export(half, (xh,), path, opset_version=17, input_names=["x"], output_names=["y"],
                                  dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, **kw)
            with torch.no_grad():
                y = half.double()(xh.double())
            np.save(os.path.join(d, "input.npy"), xh.numpy())
            np.save(os.path.join(d, "output.npy"), y.numpy().astype(np.float64))
            print("wrote", d)


if __name__ == "__main__":
    main()
