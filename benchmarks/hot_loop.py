"""Where one training update of a preset spends its time, and what bf16 and torch.compile change.

    python benchmarks/hot_loop.py [--preset mnist-paper] [--steps 50] [--repeats 3] [--threads N]
        [--set key=value ...]

Three trainers of the same preset in one process, timed in turn (``--repeats``
rounds of ``--steps`` updates each, so that the machine's noise falls on all
three alike): fp32 as the paper computes, bf16 autocast
(``training.precision=bf16``), and fp32 with G and D compiled by
``torch.compile`` (Inductor's C++ kernels). Then a ``torch.profiler`` table of
the fp32 update: the operators with the largest share of self CPU time.
Synthetic MNIST-shaped data in memory, as in ``train_throughput.py``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
from common import synthetic_mnist, timing_config
from torch.profiler import ProfilerActivity, profile

from advnets.data.datasets import Dataset
from advnets.runs.rundir import RunDir
from advnets.training.loop import Trainer


def trainer(
    preset: str, data: Dataset, precision: str, compiled: bool, out: str, overrides: tuple[str, ...]
) -> Trainer:
    config = timing_config(preset, precision, overrides)
    built = Trainer(config, data, RunDir(out))
    if compiled:  # the networks the update calls (simultaneous update: G and D once each)
        built.game.distribute(torch.compile)
    return built


def run(built: Trainer, batches: list[torch.Tensor], steps: int) -> float:
    """images/s over ``steps`` updates."""
    m = len(batches[0])
    start = time.perf_counter()
    for i in range(steps):
        built.train_minibatch(batches[i % len(batches)])
    return steps * m / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mnist-paper")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = synthetic_mnist()
    overrides = tuple(args.set)
    m = timing_config(args.preset, overrides=overrides).training.batch_size
    batches = [data.train[i * m : (i + 1) * m] for i in range(len(data.train) // m)]
    variants = {
        "fp32 (the paper's arithmetic)": ("fp32", False),
        "bf16 autocast": ("bf16", False),
        "fp32, torch.compile": ("fp32", True),
    }
    with tempfile.TemporaryDirectory() as tmp:
        trainers, warm = {}, {}
        for i, (name, (precision, compiled)) in enumerate(variants.items()):
            trainers[name] = trainer(
                args.preset, data, precision, compiled, f"{tmp}/{i}", overrides
            )
            start = time.perf_counter()
            run(trainers[name], batches, 10)
            warm[name] = time.perf_counter() - start
        rates: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.repeats):
            for name, built in trainers.items():
                rates[name].append(run(built, batches, args.steps))
        reference = statistics.median(rates["fp32 (the paper's arithmetic)"])
        print(f"{args.preset}, {torch.get_num_threads()} threads, {args.steps} updates x "
              f"{args.repeats} rounds\n")  # fmt: skip
        print("| variant | images/s (median) | vs fp32 | first 10 updates (s) |")
        print("|---|---|---|---|")
        for name in variants:
            rate = statistics.median(rates[name])
            print(f"| {name} | {rate:,.0f} | {rate / reference:.2f}× | {warm[name]:.1f} |")
        fp32 = trainers["fp32 (the paper's arithmetic)"]
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            run(fp32, batches, args.steps)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    print("\n| operator (fp32 update) | share of self CPU time |")
    print("|---|---|")
    for event in sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:8]:
        print(f"| `{event.key}` | {event.self_cpu_time_total / total:.0%} |")


if __name__ == "__main__":
    main()
