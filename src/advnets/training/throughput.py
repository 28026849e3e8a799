"""How fast training runs, measured against what this machine's matrix multiply can do."""

from __future__ import annotations

import time

import torch
from torch import nn


def gemm_gflops(
    n: int = 1024,
    repeats: int = 8,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> float:
    """Matrix-multiply throughput (GFLOP/s, fp32 unless ``dtype``) on ``device`` (on the CPU
    at the current thread count).

    Uses a private RNG: measuring never changes what training draws next.
    """
    rng = torch.Generator().manual_seed(0)
    a, b = (torch.randn(n, n, generator=rng).to(device, dtype) for _ in range(2))
    synchronize = torch.cuda.synchronize if a.is_cuda else (lambda: None)
    for _ in range(2):
        a @ b
    synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    synchronize()
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def _macs(module: nn.Module) -> tuple[int, int]:
    """(all, first-layer) multiply-adds per example of a module's Linear layers."""
    sizes = [m.in_features * m.out_features for m in module.modules() if isinstance(m, nn.Linear)]
    return sum(sizes), sizes[0]


def update_flops_per_image(generator: nn.Module, discriminator: nn.Module) -> float:
    """Necessary FLOPs per training image of one D+G update (PAPER.md's count).

    Forward: G once, D on the real and the fake half, and D again for the G step.
    D step backward: D's weight gradients on both halves and its hidden input
    gradients. G step backward: input gradients through D (not D's weight
    gradients), then G's weight and hidden input gradients. Multiply-adds x 2.
    For the paper's MNIST model this is 30.6 MFLOP. (The simultaneous update
    shares one D forward pass between the two steps, so it does 2.5 MFLOP less.)
    """
    g, g_first = _macs(generator)
    d, d_first = _macs(discriminator)
    forward = g + 3 * d
    d_backward = 2 * d + 2 * (d - d_first)
    g_backward = d + g + (g - g_first)
    return 2.0 * (forward + d_backward + g_backward)
