"""How fast training runs, measured against what this machine's matrix multiply can do."""

from __future__ import annotations

import contextlib
import platform
import time
from pathlib import Path

import numpy as np
import torch


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


class TrainingClock:
    """The wall and CPU seconds a run's training has taken over all its sittings: what its
    log records at the step a resumed run continues from, plus this sitting's. The CPU seconds
    are those of the process that trains (which with ``--seeds`` trains all the seeds)."""

    FIELDS = ("train_seconds", "train_cpu_seconds")

    def __init__(self, earlier: dict[str, float] | None = None) -> None:
        self.earlier = earlier or dict.fromkeys(self.FIELDS, 0.0)
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    @classmethod
    def continuing(cls, records: list[dict]) -> TrainingClock:
        """The clock of a run whose log holds ``records``, from the last reading among them
        (none: a new run, or one logged before the clock was)."""
        read = [r for r in records if all(field in r for field in cls.FIELDS)]
        return cls({field: read[-1][field] for field in cls.FIELDS} if read else None)

    def reading(self) -> dict[str, float]:
        """``train_seconds`` and ``train_cpu_seconds`` so far."""
        return {
            "train_seconds": self.earlier["train_seconds"] + time.perf_counter() - self.wall,
            "train_cpu_seconds": self.earlier["train_cpu_seconds"] + time.process_time() - self.cpu,
        }


def machine() -> dict[str, str]:
    """What float results and speeds depend on: the CPU, the kernels PyTorch chose for it,
    the PyTorch and NumPy builds."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "capability": torch.backends.cpu.get_cpu_capability(),  # the kernels PyTorch picks
        "torch": torch.__version__,
        "numpy": np.__version__,
    }
