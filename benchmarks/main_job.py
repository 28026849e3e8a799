"""The README's main job over seeds: wall time and test scores of `advnets train PRESET`.

    python benchmarks/main_job.py [--preset mnist-quick] [--seeds 0 1 2] [--out runs/main-job]
        [--label NAME] [--set key=value ...]

Runs the real command, ``advnets train PRESET --out OUT/s<seed> --set seed=<seed>``
(plus any ``--set``), one seed after the other, and times each from launch to
exit, final evaluation included. Prints one Markdown row per seed and a mean
row: test Parzen (the paper's protocol), FID and recall (shipped-classifier
features against the 10,000 test images), classes covered, KL of the class
histogram to uniform, the memorisation check, and whether the row meets the
main job's goals (KL <= 0.05, FID <= 5, recall >= 0.5, Parzen >= 120, no copying,
at most 240 s). Labels let several recipes share one table (BENCHMARKS.md).
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

GOALS = {"class_kl": 0.05, "fid": 5.0, "recall": 0.5, "parzen": 120.0, "seconds": 240.0}
COPYING = 0.05  # share of samples closer to a training image than test images' 1st percentile


def run_seed(preset: str, seed: int, out: Path, overrides: list[str]) -> dict:
    """Train one seed through the CLI; return its scores and wall time."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "advnets", "train", preset, "--out", str(out)]
    command += ["--set", f"seed={seed}", "--set", "logging.progress=false"]
    for item in overrides:
        command += ["--set", item]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    evaluation = json.loads((out / "evaluation.json").read_text())
    domain = evaluation["domain"]
    return {
        "seed": seed,
        "seconds": seconds,
        "epoch": evaluation["epoch"],
        "parzen": evaluation["parzen"]["test_ll"],
        "parzen_se": evaluation["parzen"]["test_se"],
        "fid": domain["fid"],
        "recall": domain["recall"],
        "classes": domain["classes_covered"],
        "class_kl": domain["class_kl"],
        "memorised": evaluation["memorisation"]["fraction_below_test_p1"],
    }


def meets_goals(row: dict) -> bool:
    return (
        row["class_kl"] <= GOALS["class_kl"]
        and row["fid"] <= GOALS["fid"]
        and row["recall"] >= GOALS["recall"]
        and row["parzen"] >= GOALS["parzen"]
        and row["memorised"] <= COPYING
        and row["seconds"] <= GOALS["seconds"]
    )


def format_row(label: str, seed: str, row: dict) -> str:
    return (
        f"| {label} | {seed} | {row['seconds']:.0f} | {row['parzen']:.1f} | {row['fid']:.2f} "
        f"| {row['recall']:.2f} | {row['classes']:.1f} | {row['class_kl']:.3f} "
        f"| {row['memorised']:.1%} | {'yes' if meets_goals(row) else 'no'} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mnist-quick")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="runs/main-job")
    parser.add_argument("--label", default=None, help="the recipe's name in the table")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    label = args.label or " ".join([args.preset, *args.set])
    print(
        "| recipe | seed | wall s | test Parzen | FID | recall | classes | KL to uniform "
        "| memorised | goals met |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for seed in args.seeds:
        rows.append(run_seed(args.preset, seed, Path(args.out) / f"s{seed}", args.set))
        print(format_row(label, str(seed), rows[-1]), flush=True)
    mean = {key: statistics.fmean(r[key] for r in rows) for key in rows[0]}
    worst = {**mean, "seconds": max(r["seconds"] for r in rows)}
    print(format_row(label, "mean (max wall)", worst))
    print(f"all seeds meet the goals: {'yes' if all(map(meets_goals, rows)) else 'no'}")


if __name__ == "__main__":
    main()
