"""The architecture spec (`lp-onnx/arch@1`, the arch.json of `lp-onnx export arch.json --weights
...`) of a model built of supported layers, read from the model by torch.fx: the canonical layers,
nn.Linear / Conv / BatchNorm / MaxPool / AvgPool / AdaptiveAvgPool(1) / ReLU / Sigmoid / Tanh /
GELU / Softmax / Flatten / Dropout / Identity, and in forward +, *, torch.cat, torch.flatten,
F.relu, F.gelu, F.softmax, F.dropout, F.adaptive_avg_pool*d(., 1), torch.sigmoid, torch.tanh.

    spec = arch_spec(model, {"x": ["N", 3, 32, 32]}, name="my-net")
    write_arch_spec(model, "arch.json", {"x": ["N", 3, 32, 32]})
    # then: npx lp-onnx export arch.json --weights weights.safetensors -o model.dual.onnx
"""
import json
import operator

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from . import layers as L

ARCH_FORMAT = "lp-onnx/arch@1"


class SpecError(ValueError):
    """A model that the spec cannot describe; the message names the module or the call."""


def _ints(v):
    return list(v) if isinstance(v, (tuple, list)) else v


def _conv(kind):
    def args(m):
        if getattr(m, "padding_mode", "zeros") != "zeros":
            raise SpecError(f"padding_mode {m.padding_mode!r}: only 'zeros'")
        padding = m.padding if isinstance(m.padding, str) else _ints(m.padding)
        return kind, {"stride": _ints(m.stride), "padding": padding, "dilation": _ints(m.dilation), "groups": m.groups, "bias": m.bias is not None}
    return args


def _batch_norm(kind):
    def args(m):
        if not m.track_running_stats:
            raise SpecError("track_running_stats = False has no inference form")
        return kind, {"eps": m.eps}
    return args


def _max_pool(kind):
    def args(m):
        if m.return_indices:
            raise SpecError("return_indices = True")
        return kind, {"kernel_size": _ints(m.kernel_size), "stride": _ints(m.stride), "padding": _ints(m.padding),
                      "dilation": _ints(m.dilation), "ceil_mode": m.ceil_mode}
    return args


def _avg_pool(kind):
    def args(m):
        a = {"kernel_size": _ints(m.kernel_size), "stride": _ints(m.stride), "padding": _ints(m.padding), "ceil_mode": m.ceil_mode,
             "count_include_pad": m.count_include_pad}
        if getattr(m, "divisor_override", None) is not None:
            a["divisor_override"] = m.divisor_override
        return kind, a
    return args


def _lp_pool(kind):
    def args(m):
        a = {"kernel_size": list(m.kernel), "stride": list(m.stride), "padding": list(m.padding), "dilation": list(m.dilation),
             "ceil_mode": m.ceil_mode, "mean": m.mean, "eps": m.eps, "mode": m.mode}
        if hasattr(m, "p"):
            a["learn_p"] = m.p.numel()
        else:
            a["norm_type"] = m.norm_type
        return kind, a
    return args


def _adaptive(kind):
    def args(m):
        if any(s != 1 for s in (m.output_size if isinstance(m.output_size, (tuple, list)) else [m.output_size])):
            raise SpecError(f"output_size {m.output_size}: only 1")
        return kind, {"output_size": 1}
    return args


# module class -> (spec type, its arguments); the first isinstance match wins (subclasses included)
MODULES = [
    (L.LpNormLayer, lambda m: ("LpNormLayer", {"eps": m.eps})),
    (L.GeM, lambda m: ("GeM", {"eps": m.eps, **({"per_channel": m.p.numel()} if m.p.numel() > 1 else {})})),
    (L.LpPool1d, _lp_pool("LpPool1d")), (L.LpPool2d, _lp_pool("LpPool2d")), (L.LpPool3d, _lp_pool("LpPool3d")),
    (L.L1Conv1d, _conv("L1Conv1d")), (L.L1Conv2d, _conv("L1Conv2d")), (L.L1Conv3d, _conv("L1Conv3d")),
    (L.L1WeightNormLinear, lambda m: ("L1WeightNormLinear", {"bias": m.bias is not None})),
    (L.CReLU, lambda m: ("CReLU", {})),
    (nn.Linear, lambda m: ("Linear", {"bias": m.bias is not None})),
    (nn.Conv1d, _conv("Conv1d")), (nn.Conv2d, _conv("Conv2d")), (nn.Conv3d, _conv("Conv3d")),
    (nn.BatchNorm1d, _batch_norm("BatchNorm1d")), (nn.BatchNorm2d, _batch_norm("BatchNorm2d")), (nn.BatchNorm3d, _batch_norm("BatchNorm3d")),
    (nn.MaxPool1d, _max_pool("MaxPool1d")), (nn.MaxPool2d, _max_pool("MaxPool2d")), (nn.MaxPool3d, _max_pool("MaxPool3d")),
    (nn.AvgPool1d, _avg_pool("AvgPool1d")), (nn.AvgPool2d, _avg_pool("AvgPool2d")), (nn.AvgPool3d, _avg_pool("AvgPool3d")),
    (nn.AdaptiveAvgPool1d, _adaptive("AdaptiveAvgPool1d")), (nn.AdaptiveAvgPool2d, _adaptive("AdaptiveAvgPool2d")),
    (nn.AdaptiveAvgPool3d, _adaptive("AdaptiveAvgPool3d")),
    (nn.ReLU, lambda m: ("ReLU", {})), (nn.Sigmoid, lambda m: ("Sigmoid", {})), (nn.Tanh, lambda m: ("Tanh", {})),
    (nn.GELU, lambda m: ("GELU", {"approximate": getattr(m, "approximate", "none")})),
    (nn.Softmax, lambda m: ("Softmax", {"dim": -1 if m.dim is None else m.dim})),
    (nn.Flatten, lambda m: ("Flatten", {"start_dim": m.start_dim, "end_dim": m.end_dim})),
    (nn.Dropout, lambda m: ("Dropout", {"p": m.p})),
    (nn.Identity, lambda m: ("Identity", {})),
]
_LEAVES = tuple(c for c, _ in MODULES)
# the types whose layer names its state_dict prefix ("params"; LpPool's even with a fixed p)
WITH_PARAMS = {"LpNormLayer", "GeM", "L1WeightNormLinear", "Linear"} | {
    f"{t}{r}d" for t in ("LpPool", "L1Conv", "Conv", "BatchNorm") for r in (1, 2, 3)}


def _arg(node, index, name, default):
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def _adaptive_call(kind):
    def args(n):
        size = _arg(n, 1, "output_size", None)
        if any(s != 1 for s in (size if isinstance(size, (tuple, list)) else [size])):
            raise SpecError(f"output_size {size}: only 1")
        return kind, {"output_size": 1}
    return args


# function or method -> (spec type, its arguments from the fx node); tensor operands are the inputs
CALLS = {
    operator.add: lambda n: ("Add", {}), torch.add: lambda n: ("Add", {}), "add": lambda n: ("Add", {}),
    operator.mul: lambda n: ("Mul", {}), torch.mul: lambda n: ("Mul", {}), "mul": lambda n: ("Mul", {}),
    torch.cat: lambda n: ("Concat", {"dim": _arg(n, 1, "dim", 0)}),
    torch.flatten: lambda n: ("Flatten", {"start_dim": _arg(n, 1, "start_dim", 0), "end_dim": _arg(n, 2, "end_dim", -1)}),
    "flatten": lambda n: ("Flatten", {"start_dim": _arg(n, 1, "start_dim", 0), "end_dim": _arg(n, 2, "end_dim", -1)}),
    F.relu: lambda n: ("ReLU", {}), torch.relu: lambda n: ("ReLU", {}), "relu": lambda n: ("ReLU", {}),
    torch.sigmoid: lambda n: ("Sigmoid", {}), "sigmoid": lambda n: ("Sigmoid", {}),
    torch.tanh: lambda n: ("Tanh", {}), "tanh": lambda n: ("Tanh", {}),
    F.gelu: lambda n: ("GELU", {"approximate": n.kwargs.get("approximate", "none")}),
    F.softmax: lambda n: ("Softmax", {"dim": _arg(n, 1, "dim", -1)}), torch.softmax: lambda n: ("Softmax", {"dim": _arg(n, 1, "dim", -1)}),
    "softmax": lambda n: ("Softmax", {"dim": _arg(n, 1, "dim", -1)}),
    F.dropout: lambda n: ("Dropout", {"p": _arg(n, 1, "p", 0.5)}),
    F.adaptive_avg_pool1d: _adaptive_call("AdaptiveAvgPool1d"), F.adaptive_avg_pool2d: _adaptive_call("AdaptiveAvgPool2d"),
    F.adaptive_avg_pool3d: _adaptive_call("AdaptiveAvgPool3d"),
}


class _Tracer(torch.fx.Tracer):
    """Keeps every supported module whole (the canonical layers are not torch.nn's, so fx would trace into them)."""

    def is_leaf_module(self, m, qualname):
        return isinstance(m, _LEAVES) or super().is_leaf_module(m, qualname)


def _tensor_operands(node):
    """The fx nodes among a call's operands (lists flattened: torch.cat's first argument)."""
    found = []
    for a in node.args:
        for v in a if isinstance(a, (list, tuple)) else [a]:
            if isinstance(v, torch.fx.Node):
                found.append(v)
            elif isinstance(v, (int, float)) and node.target in (operator.add, operator.mul, torch.add, torch.mul, "add", "mul"):
                raise SpecError(f"{node.format_node()}: a constant operand ({v}); only tensors")
    return found


def arch_spec(model, inputs, name=None):
    """The arch spec of `model` as a dict.

    Args:
        model: an nn.Module built of supported layers (see the module's doc); it is traced, not run
        inputs: {forward argument name: shape}, a shape's dims ints or names ("N" for the batch); a
            model with one input may give it any name (nn.Sequential's argument is 'input')
        name: the spec's name (default: the model's class name)
    """
    graph = _Tracer().trace(model)
    modules = dict(model.named_modules())
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    spec_inputs, layers, owner = [], [], {}
    for node in graph.nodes:
        if node.op == "placeholder":
            # one input may go by another name than forward's argument (nn.Sequential's is 'input')
            given = node.target if node.target in inputs or len(inputs) != 1 or len(placeholders) != 1 else next(iter(inputs))
            if given not in inputs:
                raise SpecError(f"forward argument '{node.target}' has no shape in inputs (given: {', '.join(inputs) or 'none'})")
            spec_inputs.append({"name": given, "shape": list(inputs[given]), "dtype": "float32"})
            owner[node] = given
        elif node.op == "call_module":
            m = modules[node.target]
            make = next((f for c, f in MODULES if isinstance(m, c)), None)
            if make is None:
                raise SpecError(f"module '{node.target}' ({type(m).__name__}) is not a supported layer")
            try:
                kind, args = make(m)
            except SpecError as e:
                raise SpecError(f"module '{node.target}' ({type(m).__name__}): {e}") from None
            layers.append((node, kind, args, node.target if kind in WITH_PARAMS else None, _tensor_operands(node)))
        elif node.op in ("call_function", "call_method"):
            make = CALLS.get(node.target)
            if make is None:
                what = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))
                raise SpecError(f"{node.format_node()}: the call '{what}' is not supported in a spec")
            kind, args = make(node)
            layers.append((node, kind, args, None, _tensor_operands(node)))
        elif node.op == "get_attr":
            raise SpecError(f"forward reads '{node.target}' directly; only supported layers may hold weights")
        elif node.op == "output":
            result = node.args[0]
            outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    if not layers:
        raise SpecError("the model has no layers")

    taken = {i["name"] for i in spec_inputs} | {params for _, _, _, params, _ in layers if params}
    for node, _, _, params, _ in layers:
        if params:
            owner[node] = params
    # what a layer without "inputs" takes: the previous layer, or for the first the first graph input
    before = dict(zip([n for n, *_ in layers], placeholders[:1] + [n for n, *_ in layers[:-1]]))
    # a layer without weights gets a name only where a later layer or an output refers to it out of order
    last = layers[-1][0]
    referenced = {o for o in outputs if o is not last}
    for node, _, _, _, ins in layers:
        if ins != [before[node]]:
            referenced.update(ins)
    out = []
    for node, kind, args, params, ins in layers:
        layer = {"type": kind}
        if params:
            layer["params"] = params
        elif node in referenced:
            n = node.name
            while n in taken:
                n += "_"
            taken.add(n)
            owner[node] = n
            layer["name"] = n
        if ins != [before[node]]:
            layer["inputs"] = [owner[i] for i in ins]
        layer.update(args)
        out.append(layer)
    spec = {"format": ARCH_FORMAT, "name": name or type(model).__name__, "inputs": spec_inputs, "layers": out}
    if outputs != [last]:
        spec["outputs"] = [owner[o] for o in outputs]
    return spec


def write_arch_spec(model, path, inputs, name=None):
    """Writes arch_spec(model, inputs, name) to `path` as JSON; returns the spec."""
    spec = arch_spec(model, inputs, name)
    with open(path, "w") as f:
        json.dump(spec, f, indent=1)
        f.write("\n")
    return spec
