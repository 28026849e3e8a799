"""Training throughput of a preset next to this machine's fp32 GEMM throughput, in one run.

    python benchmarks/train_throughput.py --preset mnist-paper --steps 300

Synthetic MNIST-shaped data (speed does not depend on content). The paper's
model costs 30.6 MFLOP of necessary work per image per simultaneous D+G update
(PAPER.md); the ratio images/s x 30.6 MFLOP / GEMM FLOP/s is the fraction of
the machine's matrix-multiply peak that training reaches.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from advnets.config import load_config
from advnets.data.datasets import Dataset
from advnets.training.loop import Trainer
from advnets.training.rundir import RunDir

PAPER_MFLOP_PER_IMAGE = 30.6


def gemm_gflops(n: int = 2048, repeats: int = 10) -> float:
    """fp32 matrix-multiply throughput (GFLOP/s) at the current thread count."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def training_images_per_s(preset: str, steps: int, tmp: str) -> float:
    config = load_config(preset, ["logging.progress=false", "logging.tensorboard=false"])
    rng = np.random.default_rng(0)
    train = rng.random((10000, 784), dtype=np.float32)
    valid = rng.random((100, 784), dtype=np.float32)
    data = Dataset.from_arrays("synthetic", train, valid, valid, (28, 28), "synthetic", "random")
    trainer = Trainer(config, data, RunDir(tmp))
    m = config.training.batch_size
    batches = [data.train[i * m : (i + 1) * m] for i in range(len(train) // m)]
    for x in batches[:20]:
        trainer.train_minibatch(x)
    start = time.perf_counter()
    for i in range(steps):
        trainer.train_minibatch(batches[i % len(batches)])
    return steps * m / (time.perf_counter() - start)


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mnist-paper")
    parser.add_argument("--steps", type=int, default=300, help="timed minibatch updates")
    args = parser.parse_args()
    gemm_before = gemm_gflops()
    with tempfile.TemporaryDirectory() as tmp:
        rate = training_images_per_s(args.preset, args.steps, tmp)
    gemm_after = gemm_gflops()
    gemm = (gemm_before + gemm_after) / 2
    achieved = rate * PAPER_MFLOP_PER_IMAGE / 1e3
    print("| preset | threads | images/s | GFLOP/s achieved | GEMM GFLOP/s | fraction |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {args.preset} | {torch.get_num_threads()} | {rate:.0f} | {achieved:.1f} | "
        f"{gemm:.1f} | {achieved / gemm:.0%} |"
    )


if __name__ == "__main__":
    main()
