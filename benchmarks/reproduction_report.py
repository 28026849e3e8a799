"""Summarise a reproduction run for BENCHMARKS.md: Table 1's MNIST row and how it got there.

    python benchmarks/reproduction_report.py RUN_DIR [OTHER_RUN_DIR ...] [--docs docs]

Prints Table 1 as ``advnets table1`` does (the paper's rows, each run's test
scores, the 10,000-training-images ceiling), then for each run the validation
Parzen curve over epochs and wall time, and the training throughput it logged.
Unlike ``advnets table1`` it accepts unfinished runs (their best checkpoint so
far), e.g. forks of a run with another learning-rate schedule, all drawn on
one curve. Writes the curve and a 10x10 sample grid of the first run's best checkpoint
under --docs.
"""

from __future__ import annotations

import argparse
import io
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from advnets.data.registry import load_dataset
from advnets.evaluation.runs import ceiling_scores, ensure_evaluation, load_generator, open_run
from advnets.evaluation.table1 import table1_rows, to_markdown
from advnets.figures.grid import save_grid
from advnets.files import atomic_write_bytes
from advnets.runs.logs import read_metrics
from advnets.sampling import generate


def wall_minutes(records: list[dict]) -> dict[int, float]:
    """Training wall time (minutes) at the end of each epoch, excluding pauses between sessions.

    A gap of more than 10 minutes between consecutive records is a pause (the run
    was stopped and resumed later) and is not counted.
    """
    elapsed, previous, at_epoch = 0.0, None, {}
    for record in records:
        if previous is not None:
            gap = record["time"] - previous
            elapsed += gap if gap < 600 else 0.0
        previous = record["time"]
        if record["kind"] == "epoch":
            at_epoch[record["epoch"]] = elapsed / 60
    return at_epoch


def plot_validation_curves(curves: dict[str, list[dict]], path: Path) -> None:
    """Validation Parzen against epochs, one line per run."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, parzen in curves.items():
        ax.plot([r["epoch"] for r in parzen], [r["ll"] for r in parzen], "o-", ms=3, label=label)
    ax.axhline(225, color="grey", ls="--", lw=0.8, label="paper (test): 225")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation Parzen log-likelihood (nats)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    parser.add_argument("--docs", default="docs", help="where the figures go")
    parser.add_argument("--name", default="mnist-paper", help="figure file name stem")
    args = parser.parse_args()
    runs = [open_run(path, require_finished=False)[0] for path in args.run_dirs]
    dataset = load_dataset(runs[0].load_config().data)
    evaluations = [(f"advnets `{run.path.name}`", ensure_evaluation(run, dataset)) for run in runs]
    print(to_markdown(table1_rows(evaluations, ceiling_scores(dataset))))

    curves = {}
    for run in runs:
        records = read_metrics(run.metrics)
        curves[run.path.name] = [r for r in records if r["kind"] == "valid_parzen"]
        minutes = wall_minutes(records)
        rates = [r["images_per_s"] for r in records if r["kind"] == "train"]
        fractions = [
            r["gemm_fraction"] for r in records if r["kind"] == "train" and "gemm_fraction" in r
        ]
        print(
            f"\n`{run.path.name}`: median {statistics.median(rates):.0f} images/s"
            + (
                f", {statistics.median(fractions):.0%} of the GEMM peak it measured"
                if fractions
                else ""
            )
            + "\n"
        )
        print("| epoch | wall time (min) | validation Parzen (nats) |")
        print("|---|---|---|")
        for r in curves[run.path.name]:
            print(f"| {r['epoch']} | {minutes.get(r['epoch'], float('nan')):.0f} | {r['ll']:.1f} |")

    docs = Path(args.docs)
    plot_validation_curves(curves, docs / f"{args.name}-validation-parzen.png")
    generator, _, _ = load_generator(runs[0], "best")
    save_grid(
        docs / f"samples-{args.name}.png",
        generate(generator, 100, seed=0).numpy(),
        dataset.image_shape,
        columns=10,
        scale=2,
    )


if __name__ == "__main__":
    main()
