"""The computations of lp-onnx's three operators (shared/spec/ops.md), differentiable: what the
layers run in training, and an oracle for the exported nodes.

    lp_norm(x, w, p, eps, sum_eps, mean, mode)      com.lponnx LpNorm
    lp_pool(x, p, kernel, stride, padding, dilation, ceil_mode, mean, eps, mode, is_global)
                                                    com.lponnx LpPool (count_include_pad = 0)
    l1_conv(x, w, b, stride, padding, dilation, groups)
                                                    com.lponnx L1Conv
"""
import math

import torch
import torch.nn.functional as F


def _tuple(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def pool_output_size(size, kernel, stride, padding, dilation, ceil_mode):
    """Output length of one pooled axis (PyTorch's rule: with ceil_mode, a last window must start
    inside the input or its left padding)."""
    span = dilation * (kernel - 1) + 1
    room = size + 2 * padding - span
    out = (-(-room // stride) if ceil_mode else room // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def conv_output_size(size, kernel, stride, padding, dilation):
    """Output length of one convolved axis."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _pow(r, p):
    """r ** p for r >= 0, with a finite gradient at r = 0 (d/dp r^p = r^p log r is 0 * -inf there)."""
    return torch.where(r > 0, r.clamp(min=1e-30).pow(p), torch.zeros_like(r))


def lp_norm(x, w, p, eps, sum_eps, mean, mode):
    """ops.md LpNorm (differentiable)."""
    a = torch.clamp(torch.abs(x), min=eps) if mode == "abs" else torch.clamp(x, min=eps)
    powered = _pow(a.unsqueeze(-2), p.view(-1, 1))
    s = torch.sum(w * powered, dim=-1)
    if mean:
        s = s / w.sum(dim=1)
    return (s + sum_eps).pow(1.0 / p)


def _pool_geometry(x, kernel, stride, padding, dilation, ceil_mode):
    """Unfolded windows [N, C, L, taps] with zero padding, and the count of real elements per window."""
    r = len(kernel)
    spatial = x.shape[2:]
    # pad each spatial axis (ceil_mode: extra end padding so partial windows exist)
    pads, outs = [], []
    for i in range(r):
        span = dilation[i] * (kernel[i] - 1) + 1
        out = pool_output_size(spatial[i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode)
        extra = max(0, (out - 1) * stride[i] + span - (spatial[i] + 2 * padding[i]))
        pads.append((padding[i], padding[i] + extra))
        outs.append(out)
    flat = []
    for b, e in reversed(pads):
        flat += [b, e]
    xp = F.pad(x, flat)
    mask = F.pad(torch.ones_like(x[:1, :1]), flat)
    for i in range(r):
        span = dilation[i] * (kernel[i] - 1) + 1
        xp = xp.unfold(2 + i, span, stride[i])[..., :: dilation[i]].narrow(2 + i, 0, outs[i])
        mask = mask.unfold(2 + i, span, stride[i])[..., :: dilation[i]].narrow(2 + i, 0, outs[i])
    n, c = x.shape[:2]
    taps = math.prod(kernel)
    return xp.reshape(n, c, *outs, taps), mask.reshape(1, 1, *outs, taps), outs


def lp_pool(x, p, kernel, stride, padding, dilation, ceil_mode, mean, eps, mode, is_global):
    """ops.md LpPool (differentiable; count_include_pad = 0)."""
    a = torch.clamp(torch.abs(x), min=eps) if mode == "abs" else torch.clamp(x, min=eps)
    r = x.dim() - 2
    pc = p.view(-1, *([1] * (r + 1)))
    if is_global:
        m = a.flatten(2).amax(dim=2).view(*a.shape[:2], *([1] * r)).clamp(min=1e-30)
        s = _pow(a / m, pc.view(-1, *([1] * r))).flatten(2)
        s = s.mean(dim=2) if mean else s.sum(dim=2)
        return m * s.view(*a.shape[:2], *([1] * r)).pow(1.0 / pc.view(-1, *([1] * r)))
    windows, mask, outs = _pool_geometry(a, kernel, stride, padding, dilation, ceil_mode)
    windows = windows * mask  # padded positions contribute 0
    m = windows.amax(dim=-1, keepdim=True).clamp(min=1e-30)
    s = _pow(windows / m, pc).sum(dim=-1)
    if mean:
        s = s / mask.sum(dim=-1)
    return m.squeeze(-1) * s.pow(1.0 / pc.squeeze(-1))


def l1_conv(x, w, b, stride, padding, dilation, groups):
    """ops.md L1Conv (differentiable)."""
    r = x.dim() - 2
    kernel = w.shape[2:]
    n, cin = x.shape[:2]
    cout = w.shape[0]
    flat = []
    for i in reversed(range(r)):
        flat += [padding[i], padding[i]]
    xp = F.pad(x, flat)
    outs = []
    for i in range(r):
        span = dilation[i] * (kernel[i] - 1) + 1
        xp = xp.unfold(2 + i, span, stride[i])[..., :: dilation[i]]
        outs.append(xp.shape[2 + i])
    # [N, Cin, O..., k...] -> [N, G, 1, Cg * taps, L]
    cg = cin // groups
    taps = math.prod(kernel)
    L = math.prod(outs)
    perm = [0, 1] + [2 + r + i for i in range(r)] + [2 + i for i in range(r)]
    cols = xp.permute(*perm).reshape(n, groups, 1, cg * taps, L)
    filt = w.reshape(groups, cout // groups, cg * taps, 1)
    y = -(cols - filt).abs().sum(dim=3).reshape(n, cout, *outs)
    if b is not None:
        y = y + b.view(-1, *([1] * r))
    return y
