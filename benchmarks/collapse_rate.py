"""How many seeds of a recipe fail to start: D wins early and G never recovers.

    python benchmarks/collapse_rate.py RUN_DIR [RUN_DIR ...] [--epoch 20]

For each run (one seed each), from its metrics.jsonl: the validation Parzen estimates up to
``--epoch``, the lowest per-epoch mean of D(G(z)) on the training minibatches and the mean
at ``--epoch``. A run counts as collapsed when D still wins at ``--epoch``: its mean D(G(z))
over that epoch's logged updates is below 0.01 (a healthy run of the paper's model sits at
0.1-0.4 there, and one that recovers from an early dip is back above 0.05 by then).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from advnets.runs.logs import read_metrics

COLLAPSED_BELOW = 0.01  # mean D(G(z)) at the judged epoch


def judge(run: Path, epoch: int) -> dict:
    """The run's validation curve, its D(G(z)) per epoch and whether it collapsed."""
    records = read_metrics(run / "metrics.jsonl")
    fake = {}
    for record in records:
        if record.get("kind") == "train" and record["epoch"] <= epoch:
            fake.setdefault(record["epoch"], []).append(record["d_fake"])
    means = {e: statistics.fmean(values) for e, values in sorted(fake.items())}
    if epoch not in means:
        raise SystemExit(f"{run} has no training records of epoch {epoch}: train it that far.")
    curve = [
        (r["epoch"], r["ll"])
        for r in records
        if r.get("kind") == "valid_parzen" and r["epoch"] <= epoch
    ]
    lowest = min(means, key=means.get)
    return {
        "curve": curve,
        "lowest": (lowest, means[lowest]),
        "at_epoch": means[epoch],
        "collapsed": means[epoch] < COLLAPSED_BELOW,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--epoch", type=int, default=20)
    args = parser.parse_args()
    verdicts = [(run, judge(run, args.epoch)) for run in args.runs]
    print(
        f"| run | validation Parzen by epoch | lowest mean D(G(z)) (epoch) | "
        f"D(G(z)) at epoch {args.epoch} | collapsed |"
    )
    print("|---|---|---|---|---|")
    for run, verdict in verdicts:
        curve = " / ".join(f"{ll:.1f}" for _, ll in verdict["curve"])
        epoch, value = verdict["lowest"]
        print(
            f"| {run.name} | {curve} | {value:.3f} ({epoch}) | {verdict['at_epoch']:.3f} | "
            f"{'yes' if verdict['collapsed'] else 'no'} |"
        )
    collapsed = sum(verdict["collapsed"] for _, verdict in verdicts)
    print(f"\n{collapsed} of {len(verdicts)} runs collapsed by epoch {args.epoch}.")


if __name__ == "__main__":
    main()
