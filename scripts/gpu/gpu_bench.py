"""Benchmarks of the CUDA kernels on a GPU (gpu-check.py --bench): each op at GPU-sized shapes beside
a PyTorch eager decomposition of the same maths and the anchors, on the same GPU, timed with CUDA
events on one non-default stream; ratios and % of roofline. TF32 is off for the anchors (fp32).
Not run yet: no GPU machine was lent to the work that wrote it (see the README).
"""
import numpy as np


def sm_clock(props):
    """The SM clock in Hz: torch's device properties where they have it, else nvidia-smi's maximum."""
    khz = getattr(props, 'clock_rate', 0)
    if khz:
        return khz * 1e3
    import subprocess
    try:
        out = subprocess.run(['nvidia-smi', '--query-gpu=clocks.max.sm', '--format=csv,noheader,nounits'], capture_output=True, text=True, timeout=30)
        return float(out.stdout.split()[0]) * 1e6
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return float('nan')


def bench(kernels, mem, runs):
    torch = mem.torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    F = torch.nn.functional
    stream = mem.stream
    dev = 'cuda'
    props = torch.cuda.get_device_properties(0)

    def timed(fn):
        with torch.cuda.stream(stream):
            for _ in range(3):
                fn()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record(stream)
            for _ in range(runs):
                fn()
            end.record(stream)
        end.synchronize()
        return start.elapsed_time(end) / runs  # ms

    # the device-to-device bandwidth, measured (a copy reads and writes every byte)
    big = torch.empty(1 << 28, dtype=torch.float32, device=dev)
    other = torch.empty_like(big)
    copy_ms = timed(lambda: other.copy_(big))
    bandwidth = 2 * big.numel() * 4 / (copy_ms * 1e-3)
    del big, other
    clock = sm_clock(props)  # Hz
    sms = props.multi_processor_count
    # per SM and clock on sm_80 / sm_90: 128 fp32 FMA lanes, 16 special-function (ex2, lg2) lanes;
    # dense TF32 tensor-core rate from the architecture (sm_90: 512 FMA per SM per clock, sm_80: 256)
    fma_rate = sms * 128 * clock
    sfu_rate = sms * 16 * clock
    fp32_peak = 2 * fma_rate
    tf32_peak = 2 * sms * (512 if props.major >= 9 else 256) * clock
    print(f'gpu-bench: {props.name}, {sms} SMs at {clock / 1e9:.2f} GHz, device-to-device {bandwidth / 1e9:.0f} GB/s, '
          f'fp32 peak {fp32_peak / 1e12:.1f} TFLOP/s, dense TF32 {tf32_peak / 1e12:.0f} TFLOP/s')
    rows = []

    def report(name, ours, torch_ms, anchor_name, anchor_ms, roofline):
        rows.append((name, ours, torch_ms, anchor_name, anchor_ms, roofline))
        print(f'  {name}: ours {ours:.3f} ms, PyTorch decomposition {torch_ms:.3f} ms ({torch_ms / ours:.1f}x), '
              f'{anchor_name} {anchor_ms:.3f} ms (ours / anchor {ours / anchor_ms:.2f}x), {roofline}')

    # LpNorm B 1024, K = M = 4096: shared p (pow then a matmul) and per-unit p
    B, K, M = 1024, 4096, 4096
    x = torch.randn(B, K, device=dev)
    w = torch.rand(M, K, device=dev)
    for label, p in (('shared p 3', torch.full((1,), 3.0, device=dev)), ('per-unit p', 1 + 4 * torch.rand(M, device=dev))):
        y = torch.empty(B, M, device=dev)
        ours = timed(lambda: kernels.run('LpNorm', {}, [x, w, p], out=y))
        if p.numel() == 1:
            ref = lambda: (x.abs().pow(p) @ w.t()).pow(1 / p)  # noqa: E731
        else:
            def ref():
                # [rows, M, K] in row chunks (the broadcast a torch.onnx export makes, at a size that fits)
                out = []
                for r in range(0, B, 16):
                    out.append((w[None] * x[r:r + 16, None, :].abs().pow(p[None, :, None])).sum(-1).pow(1 / p))
                return torch.cat(out)
        torch_ms = timed(ref)
        anchor = timed(lambda: x @ w.t())
        terms = B * M * K
        if p.numel() == 1:
            # 3xTF32: three tensor-core products per term (the powers are made once per row, B * K)
            bound = 3 * 2 * terms / tf32_peak
            what = f'{bound / (ours * 1e-3) * 100:.0f} % of its bound (3 TF32 products per term at the dense TF32 peak)'
        else:
            # per term: p * L and w * e (2 FMA-pipe operations), 10 of 16 exponentials on the SFU, 6 of 16
            # on the FMA pipe at 9 operations each: the slower pipe bounds it
            bound = terms * max((2 + 6 / 16 * 9) / fma_rate, (10 / 16) / sfu_rate)
            what = f'{bound / (ours * 1e-3) * 100:.0f} % of its bound (FMA pipe and special-function unit)'
        report(f'LpNorm {label}', ours, torch_ms, 'fp32 matmul', anchor, what)

    # LpPool N 32 C 256 112x112, k3 s2, per-channel p
    x = torch.randn(32, 256, 112, 112, device=dev)
    p = 1 + 4 * torch.rand(256, device=dev)
    attrs = {'kernel_shape': [3, 3], 'strides': [2, 2]}
    dims, _ = kernels.run('LpPool', attrs, [x, p], dry=True)
    y = torch.empty(*dims, device=dev)
    ours = timed(lambda: kernels.run('LpPool', attrs, [x, p], out=y))
    pc = p[None, :, None, None]
    torch_ms = timed(lambda: (F.avg_pool2d(x.abs().pow(pc), 3, 2) * 9).pow(1 / pc))
    anchor = timed(lambda: F.avg_pool2d(x, 3, 2))
    moved = (x.numel() + y.numel()) * 4
    report('LpPool 2d k3 s2', ours, torch_ms, 'avg_pool2d', anchor, f'{moved / (ours * 1e-3) / bandwidth * 100:.0f} % of its bound (bytes moved at the measured bandwidth)')

    # GeM at retrieval sizes (ResNet-50's last map, C 2048 7x7, N 1, 8 and 64; and N 32 C 512 14x14):
    # global, mean, clamp, p = 3; a warp per plane (smaller than a block), p = 3 by products
    for n, c, hw in ((1, 2048, 7), (8, 2048, 7), (64, 2048, 7), (32, 512, 14)):
        x = torch.randn(n, c, hw, hw, device=dev)
        attrs = {'global': 1, 'mean': 1, 'mode': 'clamp', 'eps': 1e-6, 'p': 3.0}
        y = torch.empty(n, c, 1, 1, device=dev)
        ours = timed(lambda: kernels.run('LpPool', attrs, [x], out=y))
        torch_ms = timed(lambda: F.avg_pool2d(x.clamp(min=1e-6).pow(3), (hw, hw)).pow(1 / 3))
        anchor = timed(lambda: F.adaptive_avg_pool2d(x, 1))
        moved = (x.numel() + y.numel()) * 4
        report(f'GeM N{n} C{c} {hw}x{hw}', ours, torch_ms, 'adaptive_avg_pool2d', anchor, f'{moved / (ours * 1e-3) / bandwidth * 100:.0f} % of its bound (bytes moved at the measured bandwidth)')

    # L1Conv2d N 32 256 -> 256 56x56 k3 pad 1
    x = torch.randn(32, 256, 56, 56, device=dev)
    w = torch.randn(256, 256, 3, 3, device=dev)
    attrs = {'pads': [1, 1, 1, 1]}
    dims, _ = kernels.run('L1Conv', attrs, [x, w], dry=True)
    y = torch.empty(*dims, device=dev)
    ours = timed(lambda: kernels.run('L1Conv', attrs, [x, w], out=y))

    def ref():
        cols = F.unfold(x, 3, padding=1).transpose(1, 2).reshape(-1, 256 * 9)  # [N * L, C_in * 9]
        return -torch.cdist(cols, w.reshape(256, -1), p=1)

    torch_ms = timed(ref)
    anchor = timed(lambda: F.conv2d(x, w, padding=1))
    taps = 32 * 256 * 56 * 56 * 256 * 9
    report('L1Conv2d k3', ours, torch_ms, 'cuDNN conv fp32', anchor, f'{2 * taps / (ours * 1e-3) / fp32_peak * 100:.0f} % of its bound (2 fp32 operations per tap at the fp32 peak)')
    return rows


if __name__ == '__main__':
    print(np.__version__)
