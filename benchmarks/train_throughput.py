"""Training and sampling throughput per preset, next to this machine's GEMM peak, in one run.

    python benchmarks/train_throughput.py --steps 300 [--threads N]
        [--presets mnist-paper mnist-quick toy-1d toy-ring] [--precisions fp32 bf16]

Image presets train on synthetic MNIST-shaped data (speed does not depend on
content), toy presets on their own generated points; the data sit in memory
and minibatches are slices of one tensor. The FLOPs of one update are the
necessary work (30.6 MFLOP per image for the paper's model,
``advnets.games.gan.update_flops_per_image``); images/s x that count
/ GEMM FLOP/s is the fraction of the machine's matrix-multiply peak that
training reaches. The peak is a 2048² matrix product in the same precision,
measured before and after the timed loops. Sampling is ``advnets.sampling.generate``
(batches of 1,000, no gradient) with the preset's generator.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from common import synthetic_mnist, timing_config

from advnets.data.datasets import Dataset
from advnets.data.registry import load_dataset
from advnets.runs.rundir import RunDir
from advnets.sampling import generate
from advnets.training.loop import Trainer
from advnets.training.throughput import gemm_gflops

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def dataset_for(config) -> Dataset:
    if config.model.family != "mlp-maxout":
        return load_dataset(config.data)
    return synthetic_mnist()


def training_rate(config, data: Dataset, steps: int) -> tuple[float, float, Trainer]:
    """(images/s of training, FLOPs per image of one update, the trainer)."""
    m = config.training.batch_size
    batches = [data.train[i * m : (i + 1) * m] for i in range(len(data.train) // m)]
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, data, RunDir(tmp))
        for x in batches[:20]:
            trainer.train_minibatch(x)
        start = time.perf_counter()
        for i in range(steps):
            trainer.train_minibatch(batches[i % len(batches)])
        rate = steps * m / (time.perf_counter() - start)
    return rate, trainer.game.flops_per_image(), trainer


def sampling_rate(generator: torch.nn.Module, precision: str, n: int = 10000) -> float:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        generate(generator, 1000, 0)
        start = time.perf_counter()
        generate(generator, n, 0)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["mnist-paper", "mnist-quick", "toy-ring"])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=DTYPES)
    parser.add_argument("--steps", type=int, default=300, help="timed minibatch updates")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    peaks = {p: gemm_gflops(2048, 10, DTYPES[p]) for p in args.precisions}
    rows = []
    for preset in args.presets:
        for precision in args.precisions:
            config = timing_config(preset, precision)
            rate, flops, trainer = training_rate(config, dataset_for(config), args.steps)
            rows.append(
                (preset, precision, rate, flops, sampling_rate(trainer.game.generator, precision))
            )
    peaks = {p: (peaks[p] + gemm_gflops(2048, 10, DTYPES[p])) / 2 for p in args.precisions}
    print(
        "| preset | precision | threads | training images/s | MFLOP/image | GFLOP/s achieved "
        "| GEMM GFLOP/s (same precision) | fraction of GEMM | sampling images/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for preset, precision, rate, flops, sampling in rows:
        achieved = rate * flops / 1e9
        print(
            f"| {preset} | {precision} | {torch.get_num_threads()} | {rate:,.0f} | "
            f"{flops / 1e6:.2f} | {achieved:.1f} | {peaks[precision]:.1f} | "
            f"{achieved / peaks[precision]:.0%} | {sampling:,.0f} |"
        )


if __name__ == "__main__":
    main()
