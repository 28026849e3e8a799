"""Anomaly detection on MNIST with an autoencoder: AUROC of each held-out digit.

    python benchmarks/anomaly_mnist.py [--preset ae-mnist-quick] [--digits 0 1 ...]
        [--out runs/anomaly] [--set key=value ...]

For each digit D, runs the real commands ``advnets train PRESET --out OUT/digit-D --set
data.exclude_class=D --no-eval`` (plus any ``--set``), which trains on the other nine digits
(training and validation images), then ``advnets anomaly OUT/digit-D``, which scores all
10,000 test images by their reconstruction error and reports the AUROC of digit D against the
other nine (figures/anomaly.png shows the best and worst reconstructions). Prints one
Markdown row per digit and the mean.

Fashion-MNIST against MNIST, the other usual out-of-distribution check, is ``advnets anomaly
RUN --against fashion-mnist`` (or ``--against FOLDER``, see ``benchmarks/fashion_folder.py``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def run_digit(preset: str, digit: int, out: Path, overrides: list[str]) -> dict:
    """Train without ``digit`` through the CLI, then score it; the anomaly record and the
    training's wall time."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "advnets", "train", preset, "--out", str(out), "--no-eval"]
    command += ["--set", f"data.exclude_class={digit}", "--set", "logging.progress=false"]
    for item in overrides:
        command += ["--set", item]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    anomaly = [sys.executable, "-m", "advnets", "anomaly", str(out)]
    subprocess.run(anomaly, check=True, stdout=subprocess.DEVNULL)
    return {**json.loads((out / "anomaly.json").read_text()), "train_seconds": seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="ae-mnist-quick")
    parser.add_argument("--digits", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--out", default="runs/anomaly")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    print("| held-out digit | AUROC | mean error, held out | mean error, others | train s |")
    print("|---|---|---|---|---|")
    aurocs = []
    for digit in args.digits:
        row = run_digit(args.preset, digit, Path(args.out) / f"digit-{digit}", args.set)
        aurocs.append(row["auroc"])
        print(
            f"| {digit} | {row['auroc']:.4f} | {row['mean_anomalous']:.1f} | "
            f"{row['mean_normal']:.1f} | {row['train_seconds']:.0f} |",
            flush=True,
        )
    if len(aurocs) > 1:
        print(f"| mean over {len(aurocs)} digits | {statistics.fmean(aurocs):.4f} | | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
