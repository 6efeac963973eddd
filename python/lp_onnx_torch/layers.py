"""The canonical Lp layers. Their parameter names (state_dict keys under each module's prefix) are
the contract that `lp-onnx export arch.json --weights ...` relies on; under torch.onnx.export each
lp layer is one com.lponnx node (export.py)."""
import math

import torch
import torch.nn.functional as F
from torch import nn

from . import export as E
from . import functional as Fn


class LpNormLayer(nn.Module):
    r"""Learned weighted Lp-norm units (Gulcehre et al.'s learned-norm pooling; the survey's LpNormLayer).

    .. math::
        y_j = \Big(\sum_i W_{ji}\, a_i^{p_j} + \epsilon\Big)^{1/p_j},\quad a = \max(|x|, \epsilon),\quad
        W = |w|,\quad p_j = \operatorname{softplus}(\rho_j) + 1 > 1

    over the last dimension of x. Exports as com.lponnx LpNorm (mode "abs", sum_eps = eps).

    Args:
        in_dim: size of x's last dimension
        out_dim: number of units (M)
        eps: floor of |x| and the term added to the sum (keeps the root's gradient finite)
        p_init: every unit's p at initialisation (> 1)

    Parameters:
        _w: [out_dim, in_dim], the weights before abs
        _p: [out_dim], the exponents before softplus + 1
    """

    def __init__(self, in_dim, out_dim, eps=1e-6, p_init=2.0):
        super().__init__()
        self.eps = eps
        self._w = nn.Parameter(torch.rand(out_dim, in_dim) * 0.5 + 0.5)
        self._p = nn.Parameter(torch.full((out_dim,), math.log(math.expm1(p_init - 1.0))))

    def forward(self, x):
        w, p = torch.abs(self._w), F.softplus(self._p) + 1.0
        run = E.lp_norm if E.exporting() else Fn.lp_norm
        return run(x, w, p, self.eps, self.eps, False, "abs")


class GeM(nn.Module):
    r"""Generalised-mean pooling over every spatial dimension (1D, 2D, 3D), learned p (Radenovic et al.).

    .. math::
        y_{nc} = \Big(\frac{1}{|\Omega|} \sum_{\Omega} \max(x_{nc\cdot}, \epsilon)^{p_c}\Big)^{1/p_c}

    Output [N, C, 1, ...]. Exports as com.lponnx LpPool (global, mean, mode "clamp").

    Args:
        p: initial exponent (3 is the image-retrieval usual; 1 is average pooling, +inf max)
        eps: floor of x
        per_channel: C for one p per channel, 0 for one shared p

    Parameters:
        p: [per_channel or 1]
    """

    def __init__(self, p=3.0, eps=1e-6, per_channel=0):
        super().__init__()
        self.eps = eps
        self.p = nn.Parameter(torch.full((per_channel if per_channel else 1,), float(p)))

    def forward(self, x):
        run = E.lp_pool if E.exporting() else Fn.lp_pool
        return run(x, self.p, (), (), (), (), False, True, self.eps, "clamp", True)


class _LpPoolNd(nn.Module):
    r"""Lp pooling over windows, with a fixed or learned p per channel.

    .. math::
        y = \Big(\frac{1}{z} \sum_{\text{window}} a^{p_c}\Big)^{1/p_c},\quad
        a = \max(|x|, \epsilon) \text{ (mode "abs") or } \max(x, \epsilon) \text{ ("clamp")}

    with z = 1 (sum, PyTorch's LPPool) or, with mean, the number of real (not padded) elements.
    The geometry is that of PyTorch's pooling (padding counts nothing, ceil_mode). Exports as
    com.lponnx LpPool.

    Args:
        kernel_size, stride (default kernel_size), padding, dilation, ceil_mode: as nn.MaxPool
        norm_type: p (fixed, or the initial value of a learned one)
        mean: divide by the window's element count
        learn_p: 0 for a fixed p; C (or 1 for a shared one) for a learned p per channel
        eps: floor of the magnitudes
        mode: "abs" or "clamp"

    Parameters:
        p: [learn_p], where learn_p > 0
    """

    dims = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, norm_type=2.0,
                 mean=False, learn_p=0, eps=0.0, mode="abs"):
        super().__init__()
        r = self.dims
        self.kernel = Fn._tuple(kernel_size, r)
        self.stride = Fn._tuple(stride if stride is not None else kernel_size, r)
        self.padding = Fn._tuple(padding, r)
        self.dilation = Fn._tuple(dilation, r)
        self.ceil_mode, self.mean, self.eps, self.mode = ceil_mode, mean, eps, mode
        self.norm_type = float(norm_type)
        if learn_p:
            self.p = nn.Parameter(torch.full((learn_p,), float(norm_type)))
        else:
            self.register_buffer("_fixed_p", torch.full((1,), float(norm_type)), persistent=False)

    def forward(self, x):
        p = self.p if hasattr(self, "p") else self._fixed_p
        run = E.lp_pool if E.exporting() else Fn.lp_pool
        return run(x, p, self.kernel, self.stride, self.padding, self.dilation, self.ceil_mode, self.mean, self.eps, self.mode, False)


class LpPool1d(_LpPoolNd):
    __doc__ = _LpPoolNd.__doc__ + "\n    Input [N, C, L].\n"
    dims = 1


class LpPool2d(_LpPoolNd):
    __doc__ = _LpPoolNd.__doc__ + "\n    Input [N, C, H, W].\n"
    dims = 2


class LpPool3d(_LpPoolNd):
    __doc__ = _LpPoolNd.__doc__ + "\n    Input [N, C, D, H, W].\n"
    dims = 3


class _L1ConvNd(nn.Module):
    r"""l1 ("adder") convolution (AdderNet; l1 point-cloud and voxel nets).

    .. math::
        y_{n,o,\cdot} = -\sum_{c \in g(o)} \sum_{k} |x_{n,c,\cdot+k} - w_{o,c,k}| + b_o

    zero padding, PyTorch's Conv geometry (stride, padding, dilation, groups). Exports as
    com.lponnx L1Conv.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups: as nn.Conv
        bias: add a learned b

    Parameters:
        weight: [out_channels, in_channels / groups, *kernel_size]
        bias: [out_channels], where bias
    """

    dims = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=False):
        super().__init__()
        r = self.dims
        k = Fn._tuple(kernel_size, r)
        self.stride, self.padding, self.dilation, self.groups = Fn._tuple(stride, r), Fn._tuple(padding, r), Fn._tuple(dilation, r), groups
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels // groups, *k) * 0.5)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x):
        run = E.l1_conv if E.exporting() else Fn.l1_conv
        return run(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class L1Conv1d(_L1ConvNd):
    __doc__ = _L1ConvNd.__doc__ + "\n    Input [N, C_in, L].\n"
    dims = 1


class L1Conv2d(_L1ConvNd):
    __doc__ = _L1ConvNd.__doc__ + "\n    Input [N, C_in, H, W].\n"
    dims = 2


class L1Conv3d(_L1ConvNd):
    __doc__ = _L1ConvNd.__doc__ + "\n    Input [N, C_in, D, H, W].\n"
    dims = 3


class L1WeightNormLinear(nn.Module):
    r"""A linear layer with l1 weight normalisation (PSiLON).

    .. math::
        y = x W^T + b,\quad W_{j\cdot} = g_j \frac{v_{j\cdot}}{\sum_i |v_{ji}|}

    Exports as standard ops (Gemm / MatMul), W folded.

    Args:
        in_features, out_features: as nn.Linear
        bias: add a learned b

    Parameters:
        weight_v: [out_features, in_features], the direction
        weight_g: [out_features], the row l1 norms
        bias: [out_features], where bias
    """

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight_v = nn.Parameter(torch.randn(out_features, in_features) / math.sqrt(in_features))
        self.weight_g = nn.Parameter(torch.ones(out_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def weight(self):
        return self.weight_g.unsqueeze(1) * self.weight_v / self.weight_v.abs().sum(dim=1, keepdim=True)

    def forward(self, x):
        return F.linear(x, self.weight(), self.bias)


class CReLU(nn.Module):
    r"""Concatenated ReLU: :math:`y = [\max(x, 0), \max(-x, 0)]` along dim 1 (doubles the channels)."""

    def forward(self, x):
        return torch.cat([F.relu(x), F.relu(-x)], dim=1)
