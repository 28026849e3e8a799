"""Where a run's wall time went: training against validation, from its metrics.jsonl.

    python benchmarks/run_costs.py RUN_DIR [RUN_DIR ...]

For each run: the epochs done, the median training images/s of its train records, the
other wall time per epoch (between two epoch records, less the epoch's evaluation:
training, checkpoints, pictures), the seconds per validation (the callbacks'
``evaluate_seconds``: samples, Parzen, domain metrics) and its parts, and validation's
share of the wall time between the first and the last epoch record. Prints one Markdown
table.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from pathlib import Path

from advnets.runs.logs import read_metrics


def run_costs(run: Path) -> dict[str, float]:
    """The figures of one run (see the module docstring)."""
    records = read_metrics(run / "metrics.jsonl")
    epochs = [r for r in records if r["kind"] == "epoch" and "evaluate_seconds" in r]
    rates = [r["images_per_s"] for r in records if r["kind"] == "train"]
    walls = [b["time"] - a["time"] for a, b in itertools.pairwise(epochs)]
    evaluating = [e["evaluate_seconds"] for e in epochs[1:]]
    validations = [s for s in evaluating if s > 0.05]
    parts = {
        kind: [r["seconds"] for r in records if r["kind"] == kind]
        for kind in ("valid_parzen", "valid_domain")
    }
    return {
        "epochs": epochs[-1]["epoch"] if epochs else 0,
        "images_per_s": statistics.median(rates) if rates else float("nan"),
        "other_s_per_epoch": statistics.mean(w - e for w, e in zip(walls, evaluating, strict=True))
        if walls
        else float("nan"),
        "s_per_validation": statistics.mean(validations) if validations else float("nan"),
        "parzen_s": statistics.mean(parts["valid_parzen"]) if parts["valid_parzen"] else 0.0,
        "domain_s": statistics.mean(parts["valid_domain"]) if parts["valid_domain"] else 0.0,
        "validation_share": sum(evaluating) / sum(walls) if walls else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    args = parser.parse_args()
    print(
        "| run | epochs | train images/s | other s/epoch | s/validation | Parzen s | "
        "domain s | validation share of wall |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for run in args.runs:
        c = run_costs(run)
        print(
            f"| {run.name} | {c['epochs']} | {c['images_per_s']:,.0f} | "
            f"{c['other_s_per_epoch']:.2f} | {c['s_per_validation']:.2f} | "
            f"{c['parzen_s']:.2f} | {c['domain_s']:.2f} | {c['validation_share']:.1%} |"
        )


if __name__ == "__main__":
    main()
