"""Scaling from one process to two: the paper's model trained through the command line.

    python benchmarks/scaling.py --steps 400 [--preset mnist-paper] [--data-dir DIR]

Three ways to use this machine's cores on the same run, each ``advnets train``
for ``--steps`` updates of the global minibatch of 100 (MNIST from the cache;
``--data-dir`` for another): one process on one thread, one process on all
threads, and ``torchrun`` with one process per core (DDP over gloo, one thread
each, 50 examples per process per minibatch). Images/s is the median of the
run's own train records (metrics.jsonl, each over 10 updates, the first left
out); speed-up is against one process on one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def images_per_second(run: Path) -> float:
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    rates = [r["images_per_s"] for r in records if r["kind"] == "train"][1:]
    return statistics.median(rates)


def train(run: Path, processes: int, threads: int, args: argparse.Namespace) -> float:
    command = ["-m", "advnets", "train", args.preset, "--out", str(run), "--no-eval"]
    command += ["--set", f"training.max_steps={args.steps}", "--set", f"training.threads={threads}"]
    command += ["--set", "logging.progress=false", "--set", "training.device=cpu"]
    command += ["--data-dir", args.data_dir] if args.data_dir else []
    if processes > 1:
        launcher = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
        command = launcher + command
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    subprocess.run([sys.executable, *command], check=True, env=environment, capture_output=True)
    return images_per_second(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mnist-paper")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    settings = [(1, 1), (1, cores), (cores, 1)]
    with tempfile.TemporaryDirectory() as tmp:
        rates = [train(Path(tmp) / f"p{p}-t{t}", p, t, args) for p, t in settings]
    print("| processes | threads each | images/s | speed-up over 1 × 1 |")
    print("|---|---|---|---|")
    for (p, t), rate in zip(settings, rates, strict=True):
        print(f"| {p} | {t} | {rate:,.0f} | {rate / rates[0]:.2f}× |")


if __name__ == "__main__":
    main()
