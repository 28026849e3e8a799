"""Training throughput of a preset next to this machine's fp32 GEMM throughput, in one run.

    python benchmarks/train_throughput.py --preset mnist-paper --steps 300 [--threads N]

Synthetic MNIST-shaped data (speed does not depend on content). The FLOPs of
one update are counted as in PAPER.md (30.6 MFLOP per image for the paper's
model, ``advnets.training.throughput.update_flops_per_image``); images/s x that
count / GEMM FLOP/s is the fraction of the machine's matrix-multiply peak that
training reaches. GEMM is measured before and after the training loop.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

from advnets.config import load_config
from advnets.data.datasets import Dataset
from advnets.training.loop import Trainer
from advnets.training.rundir import RunDir
from advnets.training.throughput import gemm_gflops, update_flops_per_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mnist-paper")
    parser.add_argument("--steps", type=int, default=300, help="timed minibatch updates")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_config(args.preset, ["logging.progress=false", "logging.tensorboard=false"])
    rng = np.random.default_rng(0)
    train = rng.random((10000, 784), dtype=np.float32)
    data = Dataset.from_arrays("synthetic", train, train[:100], train[:100], (28, 28), "-", "-")
    m = config.training.batch_size
    batches = [data.train[i * m : (i + 1) * m] for i in range(len(train) // m)]
    gemm_before = gemm_gflops(2048, 10)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, data, RunDir(tmp))
        for x in batches[:20]:
            trainer.train_minibatch(x)
        start = time.perf_counter()
        for i in range(args.steps):
            trainer.train_minibatch(batches[i % len(batches)])
        rate = args.steps * m / (time.perf_counter() - start)
        flops = update_flops_per_image(trainer.generator, trainer.discriminator)
    gemm = (gemm_before + gemm_gflops(2048, 10)) / 2
    achieved = rate * flops / 1e9
    print(
        "| preset | threads | images/s | MFLOP/image | GFLOP/s achieved | GEMM GFLOP/s | fraction |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {args.preset} | {torch.get_num_threads()} | {rate:.0f} | {flops / 1e6:.1f} | "
        f"{achieved:.1f} | {gemm:.1f} | {achieved / gemm:.0%} |"
    )


if __name__ == "__main__":
    main()
