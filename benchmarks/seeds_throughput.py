"""Training throughput of several seeds trained together against one seed alone, in one run.

    python benchmarks/seeds_throughput.py [--seeds 1 2 4 8] [--steps 30] [--device cpu|cuda]
        [--threads N]

The paper's preset (mnist-paper) on synthetic MNIST-shaped data in memory. "alone" is one
``Trainer`` stepping its minibatches (on a GPU with its CUDA graphs, as ``advnets train``
runs); "S together" is ``advnets.training.seeds.ManySeeds`` updating S stacked copies at
once (``train --seeds``). Images/s counts every seed's images: the ratio to "alone" is how
much faster S seeds train together than one after another. "alone" is timed again at the
end: where the two differ, other work on the machine changed its speed meanwhile (on a shared
CPU, ``--threads 1`` keeps the threads from waiting on each other).
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from pathlib import Path

import torch
from common import synthetic_mnist, timing_config

from advnets.runs.rundir import RunDir
from advnets.training.loop import Trainer
from advnets.training.seeds import ManySeeds, seed_config, seed_run


def timed(step, steps: int, device: torch.device) -> float:
    """Seconds per call of ``step`` over ``steps`` calls, after 5 warm-up calls."""
    for _ in range(5):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--steps", type=int, default=30, help="timed updates per setting")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: PyTorch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = timing_config("mnist-paper", device=args.device)
    data = synthetic_mnist()
    m = config.training.batch_size
    with tempfile.TemporaryDirectory() as tmp:
        solo = Trainer(config, data, RunDir(Path(tmp) / "alone"))
        solo.prepare()
        real = solo.train_data[:m]
        print(f"device {solo.device}, {torch.get_num_threads()} threads, minibatch {m}")
        print(f"{'seeds':>6} {'images/s':>10} {'vs alone':>9}")
        alone = m / timed(functools.partial(solo.train_minibatch, real), args.steps, solo.device)
        print(f"{'alone':>6} {alone:10.0f} {1:9.2f}")
        for count in args.seeds:
            configs = [seed_config(config, seed) for seed in range(count)]
            runs = [seed_run(Path(tmp) / f"together-{count}", seed) for seed in range(count)]
            many = ManySeeds(configs, data, runs)
            step = functools.partial(many.train_minibatch, real.expand(count, -1, -1))
            rate = count * m / timed(step, args.steps, solo.device)
            print(f"{count:>6} {rate:10.0f} {rate / alone:9.2f}")
        again = m / timed(functools.partial(solo.train_minibatch, real), args.steps, solo.device)
        print(f"{'alone':>6} {again:10.0f} {again / alone:9.2f}   (again, after the others)")


if __name__ == "__main__":
    main()
