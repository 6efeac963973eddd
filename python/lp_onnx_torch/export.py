"""ONNX export of the layers: each one becomes one `com.lponnx` node, its parametrisation folded
into the tensors it is given.

- torch.onnx.export (TorchScript, torch >= 1.13): the layers call three operators defined here
  with torch.library (`torch.ops.lponnx.*`), which register_custom_op_symbolic maps to com.lponnx.
  Pass `custom_opsets={"com.lponnx": 1}`.
- torch.onnx.export(..., dynamo=True) (torch >= 2.8, where torch.onnx.ops.symbolic exists): the
  layers emit the node with torch.onnx.ops.symbolic, with its output shape computed here.

Either file then goes through `npx lp-onnx export model.onnx -o model.dual.onnx`.
"""
import torch
from torch.onnx import symbolic_helper as sh

from . import functional as Fn

DOMAIN = "com.lponnx"

_lib = torch.library.Library("lponnx", "DEF")
_lib.define("lp_norm(Tensor x, Tensor w, Tensor p, float eps, float sum_eps, bool mean, str mode) -> Tensor")
_lib.define(
    "lp_pool(Tensor x, Tensor p, int[] kernel, int[] stride, int[] padding, int[] dilation, bool ceil_mode, "
    "bool mean, float eps, str mode, bool is_global) -> Tensor"
)
_lib.define("l1_conv(Tensor x, Tensor w, Tensor? b, int[] stride, int[] padding, int[] dilation, int groups) -> Tensor")
_lib.impl("lp_norm", Fn.lp_norm, "CPU")
_lib.impl("lp_pool", lambda x, p, k, s, pad, d, *rest: Fn.lp_pool(x, p, tuple(k), tuple(s), tuple(pad), tuple(d), *rest), "CPU")
_lib.impl("l1_conv", lambda x, w, b, s, pad, d, g: Fn.l1_conv(x, w, b, tuple(s), tuple(pad), tuple(d), g), "CPU")


def _lp_norm_attrs(eps, sum_eps, mean, mode):
    return {"eps": float(eps), "sum_eps": float(sum_eps), "mean": int(mean), "mode": mode}


def _lp_pool_attrs(kernel, stride, padding, dilation, ceil_mode, mean, eps, mode, is_global):
    if is_global:
        return {"eps": float(eps), "mean": int(mean), "mode": mode, "global": 1}
    return {
        "kernel_shape": list(kernel), "strides": list(stride), "pads": list(padding) * 2, "dilations": list(dilation),
        "ceil_mode": int(ceil_mode), "mean": int(mean), "eps": float(eps), "mode": mode,
    }


def _l1_conv_attrs(stride, padding, dilation, groups):
    return {"strides": list(stride), "pads": list(padding) * 2, "dilations": list(dilation), "group": int(groups)}


def _torchscript(g, op, inputs, attrs):
    """A com.lponnx node in a TorchScript export graph (attribute kinds by Python type)."""
    kinds = {}
    for k, v in attrs.items():
        suffix = "s" if isinstance(v, str) else "f" if isinstance(v, float) else "i"
        kinds[f"{k}_{suffix}"] = v
    return g.op(f"{DOMAIN}::{op}", *inputs, **kinds)


@sh.parse_args("v", "v", "v", "f", "f", "b", "s")
def _lp_norm_symbolic(g, x, w, p, eps, sum_eps, mean, mode):
    return _torchscript(g, "LpNorm", [x, w, p], _lp_norm_attrs(eps, sum_eps, mean, mode))


@sh.parse_args("v", "v", "is", "is", "is", "is", "b", "b", "f", "s", "b")
def _lp_pool_symbolic(g, x, p, kernel, stride, padding, dilation, ceil_mode, mean, eps, mode, is_global):
    return _torchscript(g, "LpPool", [x, p], _lp_pool_attrs(kernel, stride, padding, dilation, ceil_mode, mean, eps, mode, is_global))


@sh.parse_args("v", "v", "v", "is", "is", "is", "i")
def _l1_conv_symbolic(g, x, w, b, stride, padding, dilation, groups):
    inputs = [x, w] if sh._is_none(b) else [x, w, b]
    return _torchscript(g, "L1Conv", inputs, _l1_conv_attrs(stride, padding, dilation, groups))


for _name, _fn in [("lp_norm", _lp_norm_symbolic), ("lp_pool", _lp_pool_symbolic), ("l1_conv", _l1_conv_symbolic)]:
    torch.onnx.register_custom_op_symbolic(f"lponnx::{_name}", _fn, 1)


def exporting():
    """Whether torch.onnx.export is tracing the model (either exporter)."""
    return torch.onnx.is_in_onnx_export()


def _dynamo():
    """The dynamo exporter (torch.export underneath) does not trace with torch.jit; the TorchScript one does."""
    return not torch.jit.is_tracing() and hasattr(getattr(torch.onnx, "ops", None), "symbolic")


def _node(op, inputs, attrs, shape, dtype):
    return torch.onnx.ops.symbolic(f"{DOMAIN}::{op}", inputs, attrs, dtype=dtype, shape=shape, version=1)


def lp_norm(x, w, p, eps, sum_eps, mean, mode):
    if _dynamo():
        return _node("LpNorm", [x, w, p], _lp_norm_attrs(eps, sum_eps, mean, mode), [*x.shape[:-1], w.shape[0]], x.dtype)
    return torch.ops.lponnx.lp_norm(x, w, p, eps, sum_eps, mean, mode)


def lp_pool(x, p, kernel, stride, padding, dilation, ceil_mode, mean, eps, mode, is_global):
    if _dynamo():
        r = x.dim() - 2
        if is_global:
            spatial = [1] * r
        else:
            spatial = [Fn.pool_output_size(x.shape[2 + i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode) for i in range(r)]
        attrs = _lp_pool_attrs(kernel, stride, padding, dilation, ceil_mode, mean, eps, mode, is_global)
        return _node("LpPool", [x, p], attrs, [*x.shape[:2], *spatial], x.dtype)
    return torch.ops.lponnx.lp_pool(x, p, *map(list, (kernel, stride, padding, dilation)), ceil_mode, mean, eps, mode, is_global)


def l1_conv(x, w, b, stride, padding, dilation, groups):
    if _dynamo():
        r = x.dim() - 2
        spatial = [Fn.conv_output_size(x.shape[2 + i], w.shape[2 + i], stride[i], padding[i], dilation[i]) for i in range(r)]
        inputs = [x, w] if b is None else [x, w, b]
        return _node("L1Conv", inputs, _l1_conv_attrs(stride, padding, dilation, groups), [x.shape[0], w.shape[0], *spatial], x.dtype)
    return torch.ops.lponnx.l1_conv(x, w, b, list(stride), list(padding), list(dilation), groups)
