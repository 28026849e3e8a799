"""The arithmetic of the matrix products: the paper's fp32, bf16 autocast, or the faster here.

``training.precision``:

* ``fp32``: the paper's arithmetic, everywhere the same.
* ``bf16``: autocast the forward passes' matrix products to bfloat16 (fp32's range, so no
  loss scaling); losses, gradients' accumulation and the updates stay fp32. Fast on GPUs
  and on CPUs with bf16 matrix units, slower on CPUs that emulate it.
* ``auto``: bf16 where this device multiplies bf16 matrices at least ``BF16_MIN_SPEEDUP``
  times faster than fp32 (measured once, at the start of the run), else fp32. The choice
  is logged and kept in every checkpoint, so a resumed run keeps the arithmetic it began
  with, on whatever machine it resumes.
"""

from __future__ import annotations

import contextlib

import torch

from advnets.training.throughput import gemm_gflops

BF16_MIN_SPEEDUP = 1.25  # below this, bf16's rounding is not worth its speed


def measure_precisions(device: torch.device, rounds: int = 3) -> dict[str, float]:
    """GEMM throughput (GFLOP/s) of this device in fp32 and in bf16: the best of ``rounds``
    interleaved measurements of each, so that a moment of load on a shared machine falls on
    both and the hardware's own ratio decides."""
    rates: dict[str, float] = {"fp32": 0.0, "bf16": 0.0}
    for _ in range(rounds):
        for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            rates[name] = max(rates[name], gemm_gflops(repeats=4, dtype=dtype, device=device))
    return rates


def resolve_precision(
    requested: str, device: torch.device, replayed: bool = False
) -> tuple[str, dict[str, float]]:
    """The precision to train in, and the measurements that chose it (empty unless auto).

    On a GPU whose updates are not ``replayed`` as CUDA graphs (off, or under DDP) auto
    keeps fp32 without measuring: op by op the host's kernel launches set the pace, and
    bf16's extra casts cost more than its faster products save (the paper's model on an
    H200: 22,857 images/s in bf16 against 24,726 in fp32; as graphs 197,170 against
    166,568, and there the GEMM measurement decides)."""
    if requested != "auto":
        return requested, {}
    if device.type == "cuda" and not replayed:
        return "fp32", {}
    rates = measure_precisions(device)
    faster = rates["bf16"] >= BF16_MIN_SPEEDUP * rates["fp32"]
    return ("bf16" if faster else "fp32"), rates


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast of the forward passes for ``precision == "bf16"``, else nothing.

    Without autocast's cache of bf16 weight copies: a CUDA graph cannot capture it, and
    each weight is used about once per forward pass anyway."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=False)
    return contextlib.nullcontext()
