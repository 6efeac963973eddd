"""lp-onnx's PyTorch side: the canonical Lp layers, their ONNX export (one com.lponnx node per
layer) and the architecture spec of a model built of them.

    from lp_onnx_torch import GeM, L1Conv2d, LpNormLayer, LpPool2d, write_arch_spec
"""
from .functional import l1_conv, lp_norm, lp_pool
from .layers import CReLU, GeM, L1Conv1d, L1Conv2d, L1Conv3d, L1WeightNormLinear, LpNormLayer, LpPool1d, LpPool2d, LpPool3d
from .spec import ARCH_FORMAT, SpecError, arch_spec, write_arch_spec

__version__ = "0.1.0"
__all__ = [
    "ARCH_FORMAT", "CReLU", "GeM", "L1Conv1d", "L1Conv2d", "L1Conv3d", "L1WeightNormLinear", "LpNormLayer", "LpPool1d",
    "LpPool2d", "LpPool3d", "SpecError", "arch_spec", "l1_conv", "lp_norm", "lp_pool", "write_arch_spec",
]
